import { spawn, type ChildProcess } from 'node:child_process'
import type { StartAppOptions } from './app.js'
import { stopChild } from './process.js'

export interface AppProcess {
  readonly url: string
  readonly pid: number
  /** Sends a signal to the process, e.g. SIGKILL to simulate a crash. */
  signal(signal: NodeJS.Signals): void
  /** Ends the process (SIGTERM, then SIGKILL after five seconds) and waits for it. */
  stop(): Promise<void>
}

/** Starts `test/fixtures/app-server.ts` in its own Node process and waits until it listens. */
export async function startAppProcess (options: StartAppOptions & { port: number }): Promise<AppProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/app-server.ts'], {
    env: { ...process.env, APP_SERVER_CONFIG: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  child.once('exit', () => process.removeListener('exit', killOnExit))

  const url = await new Promise<string>((resolve, reject) => {
    let output = ''
    const timer = setTimeout(() => reject(new Error(`app process did not start: ${output}`)), 20_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const match = /READY (\S+)/.exec(output)
      if (match?.[1] !== undefined) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`app process exited with ${code}: ${output}`))
    })
  })

  return {
    url,
    pid: child.pid as number,
    signal (signal) {
      child.kill(signal)
    },
    async stop () {
      await stopChild(child)
    }
  }
}
