/*
 * Soak run: several app processes on one Redis, short-lived access tokens, continuous traffic
 * from many logged-in users, and random transient provider faults on refresh. Reports refresh
 * calls, definitive logouts (must be 0: the provider never rejects a grant here), 503s and the
 * p99 latency. Bounded by --seconds; exits with 1 if any user was logged out.
 *
 * Each second the provider's refresh endpoint fails with probability --fault-share, in one of
 * six ways (latency, 500, a 502 HTML page, 429, a dropped connection, malformed JSON).
 *
 * With --local-cache the processes serve session and grant reads from the Redis read cache, so
 * a copy that outlived another process's refresh would show up as a rejected refresh token.
 *
 *   npm run soak -- --seconds 180 --processes 3 --users 30 --seed 7 --fault-share 0.5 --local-cache
 */
import { parseArgs } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import type { DevProviderFault } from '../src/dev-provider/index.js'
import { Browser } from '../test/helpers/browser.js'
import { loginAs, startProvider } from '../test/helpers/app.js'
import { startAppProcess, type AppProcess } from '../test/helpers/app-process.js'
import { seededRandom } from '../test/helpers/random.js'
import { freePort, startRedis } from '../test/helpers/redis.js'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    processes: { type: 'string', default: '3' },
    users: { type: 'string', default: '30' },
    'token-seconds': { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    'fault-share': { type: 'string', default: '0.5' },
    'local-cache': { type: 'boolean', default: false }
  }
})
const faultShare = Number(values['fault-share'])
const seconds = Number(values.seconds)
const processCount = Number(values.processes)
const userCount = Number(values.users)
const tokenSeconds = Number(values['token-seconds'])

const random = seededRandom(Number(values.seed))

const FAULTS: DevProviderFault[] = [
  { kind: 'latency', ms: 400, grant: 'refresh_token' },
  { kind: 'status', status: 500, grant: 'refresh_token' },
  { kind: 'html', status: 502, grant: 'refresh_token' },
  { kind: 'rate-limit', retryAfterSeconds: 1, grant: 'refresh_token' },
  { kind: 'drop', grant: 'refresh_token' },
  { kind: 'malformed-json', grant: 'refresh_token' }
]

function percentile (sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] as number
}

async function main (): Promise<number> {
  const redis = await startRedis()
  const ports = await Promise.all(Array.from({ length: processCount }, async () => await freePort()))
  const provider = await startProvider(ports, { accessTokenTtlSeconds: tokenSeconds })
  const apps: AppProcess[] = await Promise.all(ports.map(async (port) => await startAppProcess({
    provider: { baseUrl: provider.baseUrl },
    port,
    redisUrl: redis.url,
    localCache: values['local-cache'],
    logLevel: 'warn',
    plugin: { httpTimeoutMs: 1000 }
  })))

  try {
    const users: Browser[] = []
    for (let index = 0; index < userCount; index += 1) {
      const browser = new Browser()
      const login = await loginAs(browser, (apps[index % apps.length] as AppProcess).url, index % 2 === 0 ? 'budi' : 'siti', { returnTo: '/dashboard' })
      if (login.final.status >= 400) throw new Error(`login ${index} failed with ${login.final.status}`)
      users.push(browser)
    }
    provider.stats.reset()

    const latencies: number[] = []
    const statuses = new Map<number, number>()
    const loggedOut = new Set<number>()
    const deadline = Date.now() + seconds * 1000
    let faultsApplied = 0

    const faultLoop = (async () => {
      while (Date.now() < deadline) {
        provider.faults.clear()
        const fault = random() < faultShare ? FAULTS[Math.floor(random() * FAULTS.length)] : undefined
        if (fault !== undefined) {
          provider.faults.set('token', fault)
          faultsApplied += 1
        }
        await sleep(1000)
      }
      provider.faults.clear()
    })()

    const userLoops = users.map(async (browser, index) => {
      while (Date.now() < deadline && !loggedOut.has(index)) {
        const app = apps[Math.floor(random() * apps.length)] as AppProcess
        const started = performance.now()
        const response = await browser.request(`${app.url}/token`, { headers: { accept: 'application/json' } })
        latencies.push(performance.now() - started)
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        if (response.status === 401) loggedOut.add(index)
        await sleep(20 + random() * 80)
      }
    })
    await Promise.all([faultLoop, ...userLoops])

    latencies.sort((a, b) => a - b)
    const report = {
      seconds,
      processes: processCount,
      users: userCount,
      tokenSeconds,
      seed: Number(values.seed),
      faultShare,
      localCache: values['local-cache'],
      requests: latencies.length,
      statuses: Object.fromEntries(statuses),
      faultWindows: faultsApplied,
      refreshCalls: provider.stats.tokenRequests.refresh_token,
      refreshSuccesses: provider.stats.refreshSuccesses,
      refreshRejections: provider.stats.refreshRejections,
      definitiveLogouts: loggedOut.size,
      responses503: statuses.get(503) ?? 0,
      p50Ms: Number(percentile(latencies, 0.5).toFixed(1)),
      p99Ms: Number(percentile(latencies, 0.99).toFixed(1)),
      maxMs: Number((latencies[latencies.length - 1] ?? 0).toFixed(1))
    }
    console.log(JSON.stringify(report, null, 2))
    return report.definitiveLogouts === 0 && report.refreshRejections === 0 ? 0 : 1
  } finally {
    await Promise.all(apps.map(async (app) => await app.stop()))
    await provider.close()
    await redis.stop()
  }
}

main().then((code) => { process.exitCode = code }, (error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
