import { spawn } from 'node:child_process'
import { test } from 'tap'

/** Runs a bench script to completion and returns its exit code and standard output. */
async function run (script: string, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stdout, stderr }
}

test('soak script finishes a tiny run', async (t) => {
  const result = await run('bench/soak.ts', ['--seconds', '3', '--processes', '2', '--users', '4'])
  t.equal(result.code, 0, result.stderr)
  const report = JSON.parse(result.stdout) as Record<string, number>
  t.ok((report.requests ?? 0) > 0, 'traffic was sent')
  t.equal(report.definitiveLogouts, 0)
  t.equal(report.refreshRejections, 0)
  t.type(report.p99Ms, 'number')
})
