/*
 * npm run bench: the cost of an authenticated request, side by side with the alternatives.
 *
 * Every scenario server runs in its own process (bench/server.ts) and autocannon runs as its own
 * process, one scenario at a time, in interleaved repetitions; the table shows medians.
 * Also measured: Redis commands and provider calls per guarded request in steady state, and
 * the added p99 latency of a refresh storm (60 concurrent requests, one refresh in flight).
 *
 *   npm run bench -- --duration 10 --repetitions 5
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { commandCounts, freePort, startRedis } from '../test/helpers/redis.js'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    repetitions: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false }
  }
})
const duration = Number(values.duration)
const repetitions = Number(values.repetitions)
const connections = Number(values.connections)
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js')

const SCENARIOS = {
  a: { name: 'bare', label: '(a) bare Fastify route' },
  b: { name: 'session-default', label: '(b) @fastify/session read, default settings, Redis store' },
  c: { name: 'guarded-redis', label: '(c) requireUser, Redis stores with the local cache, warm grant' },
  d: { name: 'guarded-memory', label: '(d) requireUser, memory stores, warm grant' },
  e: { name: 'guarded-refreshing', label: '(e) requireUser, Redis stores, refreshes during the run' },
  f: { name: 'session-recommended', label: '(f) @fastify/session read alone, recommended settings, memory store' },
  g: { name: 'guarded-redis-uncached', label: '(g) requireUser, Redis stores without the local cache, warm grant' }
} as const
type ScenarioKey = keyof typeof SCENARIOS

interface Server {
  readonly url: string
  readonly cookie: string
  stop(): Promise<void>
}

async function startServer (scenario: string, redisUrl: string, env: Record<string, string> = {}): Promise<Server> {
  const port = await freePort()
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/server.ts'], {
    env: { ...process.env, ...env, BENCH_SCENARIO: scenario, PORT: String(port), REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const line = await new Promise<string>((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const ready = /READY [^\n]*/.exec(output)
      if (ready !== null) resolve(ready[0])
    })
    child.once('exit', (code) => reject(new Error(`bench server ${scenario} exited with ${code}`)))
  })
  const [, url = '', cookie = ''] = line.split(' ')
  return {
    url,
    cookie,
    async stop () {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }
  }
}

interface LoadResult {
  readonly rps: number
  readonly p50: number
  readonly p99: number
  readonly non2xx: number
  readonly errors: number
}

/** Runs autocannon in its own process and returns its summary. */
async function load (url: string, cookie: string, args: string[]): Promise<LoadResult> {
  const headers = cookie === '' ? [] : ['-H', `cookie=${cookie}`]
  const child = spawn(process.execPath, [AUTOCANNON, '-j', '-c', String(connections), ...headers, '-H', 'accept=application/json', ...args, `${url}/hello`], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  await once(child, 'exit')
  const result = JSON.parse(output) as { requests: { average: number }, latency: { p50: number, p99: number }, non2xx: number, errors: number }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors }
}

function median (numbers: number[]): number {
  const sorted = [...numbers].sort((x, y) => x - y)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

const READS = ['get', 'hmget', 'hget', 'exists', 'smembers', 'pttl', 'mget']
const WRITES = ['set', 'hset', 'del', 'pexpire', 'sadd', 'srem', 'zadd', 'incr', 'evalsha', 'eval']

/** Redis reads and writes, and provider calls, per request of one scenario in steady state. */
async function perRequestCosts (scenario: string, redisUrl: string, redis: Redis, amount: number): Promise<{ reads: number, writes: number, totalWrites: number, providerCalls: number | null }> {
  const server = await startServer(scenario, redisUrl)
  try {
    await load(server.url, server.cookie, ['-a', '200'])
    const provider = async (): Promise<number | null> => {
      if (!scenario.startsWith('guarded')) return null
      const stats = await (await fetch(`${server.url}/__bench/provider`)).json() as { tokenRequests: Record<string, number>, userRequests: number }
      return Object.values(stats.tokenRequests).reduce((sum, count) => sum + count, 0) + stats.userRequests
    }
    const before = await commandCounts(redis)
    const providerBefore = await provider()
    const result = await load(server.url, server.cookie, ['-a', String(amount)])
    const after = await commandCounts(redis)
    const providerAfter = await provider()
    const completed = amount - result.errors
    const delta = (names: string[]): number => names.reduce((sum, name) => sum + (after[name] ?? 0) - (before[name] ?? 0), 0)
    return {
      reads: delta(READS) / completed,
      writes: delta(WRITES) / completed,
      totalWrites: delta(WRITES),
      providerCalls: providerBefore === null || providerAfter === null ? null : providerAfter - providerBefore
    }
  } finally {
    await server.stop()
  }
}

/** p99 of 60 concurrent guarded requests in steady state, and with one slow refresh in flight. */
async function refreshStorm (redisUrl: string): Promise<{ steadyP99: number, stormP99: number, refreshCalls: number, stormNon2xx: number }> {
  const steadyServer = await startServer('guarded-redis', redisUrl)
  const steady = await loadWithConnections(steadyServer, 60)
  await steadyServer.stop()

  const stormServer = await startServer('guarded-redis', redisUrl, { BENCH_SHORT_TOKENS: '1' })
  const readyAt = Date.now()
  await fetch(`${stormServer.url}/__bench/slow-refresh`, { method: 'POST' })
  // Two-second tokens: the refresh window opens one second after login.
  await sleep(Math.max(0, 1100 - (Date.now() - readyAt)))
  const storm = await loadWithConnections(stormServer, 60)
  const stats = await (await fetch(`${stormServer.url}/__bench/provider`)).json() as { tokenRequests: { refresh_token: number } }
  await stormServer.stop()
  return { steadyP99: steady.p99, stormP99: storm.p99, refreshCalls: stats.tokenRequests.refresh_token, stormNon2xx: storm.non2xx }
}

async function loadWithConnections (server: Server, count: number): Promise<LoadResult> {
  const headers = ['-H', `cookie=${server.cookie}`, '-H', 'accept=application/json']
  const child = spawn(process.execPath, [AUTOCANNON, '-j', '-c', String(count), '-a', String(count), ...headers, `${server.url}/hello`], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8') })
  await once(child, 'exit')
  const result = JSON.parse(output) as { requests: { average: number }, latency: { p50: number, p99: number }, non2xx: number, errors: number }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors }
}

async function main (): Promise<void> {
  const redisServer = await startRedis()
  const redis = new Redis(redisServer.url)
  try {
    const runs: Record<ScenarioKey, LoadResult[]> = { a: [], b: [], c: [], d: [], e: [], f: [], g: [] }
    for (let repetition = 0; repetition < repetitions; repetition += 1) {
      for (const key of Object.keys(SCENARIOS) as ScenarioKey[]) {
        const server = await startServer(SCENARIOS[key].name, redisServer.url)
        try {
          if (Number(values.warmup) > 0) await load(server.url, server.cookie, ['-d', String(values.warmup)])
          runs[key].push(await load(server.url, server.cookie, ['-d', String(duration)]))
        } finally {
          await server.stop()
        }
      }
    }

    const medians = Object.fromEntries((Object.keys(SCENARIOS) as ScenarioKey[]).map((key) => [key, {
      label: SCENARIOS[key].label,
      rps: median(runs[key].map((run) => run.rps)),
      p50: median(runs[key].map((run) => run.p50)),
      p99: median(runs[key].map((run) => run.p99)),
      non2xx: runs[key].reduce((sum, run) => sum + run.non2xx + run.errors, 0)
    }])) as Record<ScenarioKey, { label: string, rps: number, p50: number, p99: number, non2xx: number }>
    const ratios = {
      'c/a': medians.c.rps / medians.a.rps,
      'c/b': medians.c.rps / medians.b.rps,
      'd/a': medians.d.rps / medians.a.rps,
      'd/f': medians.d.rps / medians.f.rps,
      'f/a': medians.f.rps / medians.a.rps,
      'g/a': medians.g.rps / medians.a.rps,
      'g/b': medians.g.rps / medians.b.rps
    }
    const amount = Math.max(200, Math.min(5000, duration * 400))
    const costs = {
      guarded: await perRequestCosts('guarded-redis', redisServer.url, redis, amount),
      guardedUncached: await perRequestCosts('guarded-redis-uncached', redisServer.url, redis, amount),
      sessionDefault: await perRequestCosts('session-default', redisServer.url, redis, amount)
    }
    const storm = await refreshStorm(redisServer.url)

    const report = { machine: { cpus: (await import('node:os')).cpus().length, node: process.version }, duration, repetitions, connections, medians, ratios, costs, storm }
    if (values.json) {
      console.log(JSON.stringify(report, null, 2))
      return
    }
    console.log(`\n${repetitions} interleaved repetitions of ${duration} s, ${connections} connections, medians:\n`)
    console.log('| scenario | req/s | p50 ms | p99 ms | non-2xx |')
    console.log('|---|---|---|---|---|')
    for (const key of Object.keys(SCENARIOS) as ScenarioKey[]) {
      const row = medians[key]
      console.log(`| ${row.label} | ${row.rps.toFixed(0)} | ${row.p50} | ${row.p99} | ${row.non2xx} |`)
    }
    console.log(`\nratios: ${Object.entries(ratios).map(([name, value]) => `${name} ${value.toFixed(2)}`).join(', ')}`)
    console.log(`per guarded request (c): ${costs.guarded.reads.toFixed(2)} Redis reads, ${costs.guarded.writes.toFixed(4)} writes (${costs.guarded.totalWrites} in all: the cache heartbeat, one SET per second), ${costs.guarded.providerCalls} provider calls in ${amount} requests`)
    console.log(`per guarded request without the cache (g): ${costs.guardedUncached.reads.toFixed(2)} Redis reads, ${costs.guardedUncached.writes.toFixed(2)} writes, ${costs.guardedUncached.providerCalls} provider calls`)
    console.log(`per session read (b): ${costs.sessionDefault.reads.toFixed(2)} Redis reads, ${costs.sessionDefault.writes.toFixed(2)} writes`)
    console.log(`refresh storm, 60 concurrent requests: p99 ${storm.steadyP99} ms steady, ${storm.stormP99} ms with a 300 ms refresh in flight (+${storm.stormP99 - storm.steadyP99} ms), ${storm.refreshCalls} provider refresh call(s), ${storm.stormNon2xx} non-2xx`)
  } finally {
    redis.disconnect()
    await redisServer.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
