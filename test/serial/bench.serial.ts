import { spawn } from 'node:child_process'
import { test } from 'tap'

/** Runs a bench script to completion and returns its exit code and standard output. */
async function run (script: string, args: string[], nodeArgs: string[] = []): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
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

test('benchmark script finishes a tiny run', async (t) => {
  const result = await run('bench/run.ts', ['--duration', '1', '--repetitions', '1', '--warmup', '0', '--json'])
  t.equal(result.code, 0, result.stderr)
  interface Costs { reads: number, writes: number, totalWrites: number, providerCalls: number }
  const report = JSON.parse(result.stdout) as { medians: Record<string, { rps: number, non2xx: number }>, costs: { guarded: Costs, guardedUncached: Costs }, storm: { refreshCalls: number } }
  for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) {
    t.ok((report.medians[key]?.rps ?? 0) > 0, `scenario ${key} served requests`)
    t.equal(report.medians[key]?.non2xx, 0, `scenario ${key} answered 2xx only`)
  }
  // With the local cache, the only commands are the cache's heartbeat writes, one per second.
  t.ok(report.costs.guarded.totalWrites <= 2, `only heartbeat writes with the cache (${report.costs.guarded.totalWrites})`)
  t.equal(report.costs.guarded.reads, 0, 'no Redis read per guarded request with the cache')
  t.equal(report.costs.guarded.providerCalls, 0, 'no provider call')
  t.equal(report.costs.guardedUncached.writes, 0, 'no Redis write per guarded request without the cache')
  t.equal(report.costs.guardedUncached.reads, 2, 'two Redis reads per guarded request without the cache')
  t.equal(report.costs.guardedUncached.providerCalls, 0)
  t.equal(report.storm.refreshCalls, 1, 'one refresh for the storm')
})

test('memory benchmark finishes a tiny run', async (t) => {
  const result = await run('bench/memory.ts', ['--logins', '2000', '--churn-seconds', '2', '--churn-rate', '1000', '--churn-ttl-seconds', '1'], ['--expose-gc'])
  t.equal(result.code, 0, result.stderr)
  const report = JSON.parse(result.stdout) as { logins: Record<string, number>, churn: { logins: number } }
  t.equal(report.logins.sessions, 2000)
  t.ok(report.churn.logins > 0)
})
