/*
 * Memory of the embedded stores: RSS after 10,000 and 100,000 logins, and under steady churn
 * with short lifetimes (expired entries must be evicted, so RSS levels off).
 *
 * A "login" here is what a real login leaves in memory, made with the real code: a login
 * transaction (created, claimed and finished), a grant with Fernet-encrypted tokens, a session
 * record with its cookie and the link to the grant, and the per-user index. The HTTP round trips
 * are left out, so 100,000 logins take seconds.
 *
 *   npm run bench:memory -- --logins 100000 --churn-seconds 30
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import type { Session } from 'fastify'
import { FernetKeyRing, generateFernetKey, GrantManager, MemorySessionStore, MemoryTokenStore, MubarokahOAuthClient } from '../src/index.js'
import { encodeTransaction } from '../src/tokens/records.js'

const { values } = parseArgs({
  options: {
    logins: { type: 'string', default: '100000' },
    'churn-seconds': { type: 'string', default: '30' },
    'churn-rate': { type: 'string', default: '4000' },
    'churn-ttl-seconds': { type: 'string', default: '3' }
  }
})
const LOGINS = Number(values.logins)
const CHURN_SECONDS = Number(values['churn-seconds'])
const CHURN_RATE = Number(values['churn-rate'])
const CHURN_TTL_MS = Number(values['churn-ttl-seconds']) * 1000

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc (npm run bench:memory does)')

function rssMiB (): number {
  gc?.()
  gc?.()
  return process.memoryUsage().rss / 1024 / 1024
}

const silentLog = { info () {}, warn () {}, debug () {}, error () {}, fatal () {}, trace () {}, child () { return silentLog }, level: 'silent', silent () {} }

interface Stores {
  readonly tokens: MemoryTokenStore
  readonly sessions: MemorySessionStore
  readonly grants: GrantManager
  readonly keys: FernetKeyRing
}

function createStores (ttlMs: number, sweepIntervalMs: number): Stores {
  const keys = FernetKeyRing.parse(generateFernetKey())
  const tokens = new MemoryTokenStore({ maxEntries: 1_000_000, sweepIntervalMs })
  const sessions = new MemorySessionStore({ maxEntries: 1_000_000, sweepIntervalMs })
  const client = new MubarokahOAuthClient({ clientId: 'bench', clientSecret: 'bench', redirectUri: 'http://127.0.0.1/cb', baseUrl: 'http://127.0.0.1:9', clientAuthentication: 'body', defaultTokenLifetimeSeconds: 3600, fetch, timeoutMs: 1000, sizeLimit: 65536 })
  const grants = new GrantManager({ store: tokens, keys, client, log: silentLog as never, refreshWindowMs: 300_000, grantTtlMs: ttlMs, lockTtlMs: 6000, refreshWaitMs: 3000 })
  return { tokens, sessions, grants, keys }
}

/** Leaves in the stores what one login leaves there. */
async function login (stores: Stores, index: number, ttlMs: number): Promise<void> {
  const state = randomBytes(32).toString('base64url')
  const bindingHash = randomBytes(32).toString('base64url')
  await stores.tokens.createTransaction(state, { bindingHash, data: encodeTransaction(stores.keys, { codeVerifier: randomBytes(32).toString('base64url'), returnTo: '/dashboard', scopes: ['view-user'], createdAt: Date.now() }) }, Math.min(ttlMs, 600_000), 5)
  await stores.tokens.claimTransaction(state, bindingHash, Math.min(ttlMs, 120_000))
  const grant = await stores.grants.create(
    { id: String(100_000 + index), name: `Pengguna ${index}`, email: `pengguna${index}@example.com`, username: `pengguna${index}`, profile_picture: null, gender: null },
    { accessToken: randomBytes(64).toString('base64url'), refreshToken: randomBytes(64).toString('base64url'), expiresIn: 3600, expiresInDefaulted: false, scopes: ['view-user'] }
  )
  await stores.tokens.finishTransaction(state, JSON.stringify({ ok: true, returnTo: '/dashboard', session: 'x'.repeat(140) }), Math.min(ttlMs, 120_000))
  const session = {
    cookie: { originalMaxAge: ttlMs, expires: new Date(Date.now() + ttlMs), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
    mubarokah: { grantId: grant.grantId, userId: grant.userId, renewedAt: Date.now() }
  } as unknown as Session
  await new Promise<void>((resolve) => stores.sessions.set(randomBytes(24).toString('base64url'), session, () => resolve()))
}

async function loginsReport (): Promise<Record<string, number>> {
  const stores = createStores(30 * 86_400_000, 3_600_000)
  const baseline = rssMiB()
  const report: Record<string, number> = { baselineMiB: baseline }
  for (let index = 0; index < LOGINS; index += 1) {
    await login(stores, index, 30 * 86_400_000)
    if (index + 1 === 10_000 || index + 1 === 100_000 || index + 1 === LOGINS) {
      const rss = rssMiB()
      report[`after${index + 1}MiB`] = rss
      report[`bytesPerLoginAt${index + 1}`] = Math.round(((rss - baseline) * 1024 * 1024) / (index + 1))
    }
  }
  report.tokenStoreEntries = stores.tokens.size
  report.sessions = stores.sessions.size
  await stores.tokens.close()
  stores.sessions.close()
  return report
}

async function churnReport (): Promise<Record<string, unknown>> {
  const stores = createStores(CHURN_TTL_MS, 1000)
  const samples: Array<{ second: number, rssMiB: number, entries: number }> = []
  const started = Date.now()
  let index = 0
  while (Date.now() - started < CHURN_SECONDS * 1000) {
    const tickStart = Date.now()
    for (let count = 0; count < CHURN_RATE / 10; count += 1) await login(stores, index++, CHURN_TTL_MS)
    const second = Math.floor((Date.now() - started) / 1000)
    if (samples.length === 0 || second >= (samples[samples.length - 1]?.second ?? 0) + 3) samples.push({ second, rssMiB: Number(rssMiB().toFixed(1)), entries: stores.tokens.size + stores.sessions.size })
    await sleep(Math.max(0, 100 - (Date.now() - tickStart)))
  }
  const half = Math.floor(samples.length / 2)
  const firstHalfMax = Math.max(...samples.slice(0, Math.max(1, half)).map((sample) => sample.rssMiB))
  const secondHalfMax = Math.max(...samples.slice(half).map((sample) => sample.rssMiB))
  await stores.tokens.close()
  stores.sessions.close()
  return { logins: index, ttlSeconds: CHURN_TTL_MS / 1000, samples, secondHalfOverFirstHalf: Number((secondHalfMax / firstHalfMax).toFixed(2)) }
}

const logins = await loginsReport()
const churn = await churnReport()
console.log(JSON.stringify({ logins, churn }, null, 2))
