/*
 * One benchmark server per process. BENCH_SCENARIO picks what it serves on GET /hello:
 *
 *   bare               a bare Fastify route
 *   session-default    reads a value from @fastify/session with its default settings
 *                      (rolling and saveUninitialized on) and a Redis session store
 *   guarded-redis      requireUser with the Redis stores, their local read cache and the
 *                      recommended session settings
 *   guarded-redis-uncached  the same without the local read cache: two Redis reads per request
 *   guarded-memory     requireUser with the memory stores
 *   guarded-refreshing guarded-redis with 2-second access tokens, so refreshes happen during the run
 *   session-recommended reads a value from @fastify/session alone, with the settings recommended
 *                      for the plugin and a memory store: the ceiling for guarded-memory
 *
 * It prints one line "READY <url> <cookie>" (the cookie is empty for `bare`). The guarded
 * scenarios log in through the development provider first, so the grant is warm. Loggers are
 * off in every scenario, so that no scenario pays for logging the others skip.
 */
import fastifyCookie from '@fastify/cookie'
import fastifyRedis from '@fastify/redis'
import fastifySession from '@fastify/session'
import Fastify, { type FastifyInstance } from 'fastify'
import fastifyMubarokah, { connectRedis, createSessionSigner, MemorySessionStore, RedisSessionStore } from '../src/index.js'
import { createDevClient, startDevProvider, type DevProvider } from '../src/dev-provider/index.js'
import { Browser } from '../test/helpers/browser.js'
import { loginAs } from '../test/helpers/app.js'

const scenario = process.env.BENCH_SCENARIO ?? 'bare'
const port = Number(process.env.PORT ?? 0)
const redisUrl = process.env.REDIS_URL ?? ''
const SECRET = 'a-benchmark-session-secret-of-at-least-32-characters'
const ENCRYPTION_KEY = 'PCmkzd4-6E8N2i7PQtcNrbHBJcQIjOVqAzLFyGUZ0tQ='

async function bare (): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.get('/hello', async () => ({ hello: 'world' }))
  return app
}

async function sessionOnly (recommended: boolean): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(fastifyCookie)
  if (recommended) {
    await app.register(fastifySession, { secret: createSessionSigner(SECRET), store: new MemorySessionStore(), saveUninitialized: false, rolling: false, cookie: { secure: false, maxAge: 30 * 86_400_000 } })
  } else {
    await app.register(fastifyRedis, { client: await connectRedis(redisUrl), closeClient: true })
    // @fastify/session defaults (rolling: true, saveUninitialized: true); only `secure` is off for plain HTTP.
    await app.register(fastifySession, { secret: SECRET, store: new RedisSessionStore(app.redis), cookie: { secure: false } })
  }
  app.get('/set', async (request) => {
    request.session.set('mubarokah', { grantId: 'bench', userId: '1001', renewedAt: Date.now() })
    return { ok: true }
  })
  app.get('/hello', async (request) => ({ hello: request.session.get('mubarokah')?.userId ?? null }))
  return app
}

async function guarded (stores: 'redis' | 'memory', provider: DevProvider, localCache: boolean): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  await app.register(fastifyCookie)
  let sessionStore: RedisSessionStore | MemorySessionStore
  if (stores === 'redis') {
    await app.register(fastifyRedis, { client: await connectRedis(redisUrl), closeClient: true })
    sessionStore = new RedisSessionStore(app.redis, { localCache })
  } else {
    sessionStore = new MemorySessionStore()
  }
  await app.register(fastifySession, {
    secret: createSessionSigner(SECRET),
    store: sessionStore,
    saveUninitialized: false,
    rolling: false,
    cookie: { secure: 'auto', httpOnly: true, sameSite: 'lax', path: '/', maxAge: 30 * 86_400_000 }
  })
  await app.register(fastifyMubarokah, {
    clientId: 'dev-client',
    clientSecret: 'dev-secret-change-me',
    redirectUri: `http://127.0.0.1:${port}/auth/mubarokah/callback`,
    baseUrl: provider.baseUrl,
    encryptionKeys: ENCRYPTION_KEY,
    tokenStore: stores,
    redisLocalCache: localCache,
    rateLimit: { loginsPerMinute: 100_000, callbacksPerMinute: 100_000 }
  })
  app.get('/hello', { preHandler: app.mubarokah.requireUser }, async (request) => ({ hello: request.mubarokah?.userId ?? null }))
  // Benchmark controls: provider counters, and a refresh storm set-up for the storm measurement.
  app.get('/__bench/provider', async () => provider.stats.snapshot())
  app.post('/__bench/slow-refresh', async () => {
    provider.faults.set('token', { kind: 'latency', ms: 300, grant: 'refresh_token' })
    provider.stats.reset()
    return { ok: true }
  })
  return app
}

async function main (): Promise<void> {
  let provider: DevProvider | undefined
  let app: FastifyInstance
  if (scenario === 'bare') {
    app = await bare()
  } else if (scenario === 'session-default' || scenario === 'session-recommended') {
    app = await sessionOnly(scenario === 'session-recommended')
  } else {
    const accessTokenTtlSeconds = scenario === 'guarded-refreshing' || process.env.BENCH_SHORT_TOKENS === '1' ? 2 : 3600
    provider = await startDevProvider({ clients: [createDevClient([`http://127.0.0.1:${port}/auth/mubarokah/callback`])], accessTokenTtlSeconds })
    app = await guarded(scenario === 'guarded-memory' ? 'memory' : 'redis', provider, scenario !== 'guarded-redis-uncached')
  }
  await app.listen({ host: '127.0.0.1', port })
  const url = `http://127.0.0.1:${port}`

  let cookie = ''
  const browser = new Browser({ accept: 'application/json' })
  if (scenario.startsWith('session')) {
    await browser.request(`${url}/set`)
    cookie = `sessionId=${browser.cookie(url, 'sessionId') as string}`
  } else if (scenario !== 'bare') {
    const login = await loginAs(browser, url, 'budi', { returnTo: '/hello' })
    if (login.final.status !== 200) throw new Error(`benchmark login failed with ${login.final.status}`)
    cookie = `sessionId=${browser.cookie(url, 'sessionId') as string}`
  }
  process.stdout.write(`READY ${url} ${cookie}\n`)
  process.once('SIGTERM', () => {
    void app.close().then(async () => { await provider?.close() }).then(() => process.exit(0))
  })
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
