import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'

/** Ends a child process with SIGTERM, then SIGKILL after `graceMs`, and waits for it to exit. */
export async function stopChild (child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
