import { once } from 'node:events'
import { Writable } from 'node:stream'
import { Cluster, type Redis } from 'ioredis'
import fastifyCookie from '@fastify/cookie'
import fastifyRedis from '@fastify/redis'
import fastifySession from '@fastify/session'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import fastifyMubarokah, { connectRedis, createSessionSigner, MemorySessionStore, RedisSessionStore, type MubarokahOptions } from '../../src/index.js'
import { createDevClient, startDevProvider, type DevProvider, type DevProviderOptions } from '../../src/dev-provider/index.js'
import type { Browser, BrowserResponse } from './browser.js'
import { freePort } from './redis.js'

export const TEST_ENCRYPTION_KEY = 'PCmkzd4-6E8N2i7PQtcNrbHBJcQIjOVqAzLFyGUZ0tQ='
export const TEST_SESSION_SECRET = 'a-test-session-secret-of-at-least-32-characters'
export const CLIENT_SECRET = 'dev-secret-change-me'

/** Log lines of one app, parsed, plus the raw text for secret scans. */
export class LogCapture {
  readonly lines: string[] = []
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, callback) => {
      this.lines.push(...chunk.toString('utf8').split('\n').filter((line) => line !== ''))
      callback()
    }
  })

  get text (): string {
    return this.lines.join('\n')
  }

  entries (): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  events (name: string): Array<Record<string, unknown>> {
    return this.entries().filter((entry) => entry.event === name)
  }
}

export interface StartAppOptions {
  readonly provider: { readonly baseUrl: string }
  readonly port?: number
  readonly plugin?: Partial<MubarokahOptions>
  /** Redis URL for the Redis session and token stores; memory stores without it. */
  readonly redisUrl?: string
  /** Serve session and grant reads from the Redis read cache (`localCache`, `redisLocalCache`). */
  readonly localCache?: boolean
  /** Redis Cluster nodes for the Redis stores, instead of `redisUrl`. */
  readonly redisCluster?: ReadonlyArray<{ host: string, port: number }>
  readonly sessionSecret?: string | string[]
  readonly logLevel?: 'debug' | 'info' | 'warn'
  readonly fastify?: FastifyServerOptions
  readonly sessionCookie?: Record<string, unknown>
  /** A memory session store to use, so a test can inspect it. */
  readonly sessionStore?: MemorySessionStore
  readonly register?: (app: FastifyInstance) => void | Promise<void>
}

export interface TestApp {
  readonly app: FastifyInstance
  readonly url: string
  readonly port: number
  readonly logs: LogCapture
  close(): Promise<void>
}

/**
 * Starts an app on 127.0.0.1 with @fastify/cookie, @fastify/session (rolling off, no
 * uninitialised sessions) and the plugin, plus `/dashboard` (guarded) and `/token` (returns the
 * access token, for tests that check which token a request used).
 */
export async function startApp (options: StartAppOptions): Promise<TestApp> {
  const port = options.port ?? await freePort()
  const logs = new LogCapture()
  const app = Fastify({ logger: { level: options.logLevel ?? 'info', stream: logs.stream }, ...options.fastify })

  await app.register(fastifyCookie)
  let sessionStore: MemorySessionStore | RedisSessionStore
  if (options.redisCluster !== undefined) {
    const cluster = new Cluster([...options.redisCluster], { enableOfflineQueue: false, redisOptions: { commandTimeout: 1000 } })
    cluster.on('error', () => {})
    await once(cluster, 'ready')
    await app.register(fastifyRedis, { client: cluster as unknown as Redis, closeClient: true })
    sessionStore = new RedisSessionStore(app.redis, { localCache: options.localCache })
  } else if (options.redisUrl !== undefined) {
    await app.register(fastifyRedis, { client: await connectRedis(options.redisUrl), closeClient: true })
    sessionStore = new RedisSessionStore(app.redis, { localCache: options.localCache })
  } else if (options.sessionStore !== undefined) {
    sessionStore = options.sessionStore
  } else {
    const memoryStore = new MemorySessionStore()
    app.addHook('onClose', async () => memoryStore.close())
    sessionStore = memoryStore
  }
  await app.register(fastifySession, {
    secret: createSessionSigner(options.sessionSecret ?? TEST_SESSION_SECRET),
    store: sessionStore,
    saveUninitialized: false,
    rolling: false,
    cookie: { secure: 'auto', httpOnly: true, sameSite: 'lax', path: '/', maxAge: 30 * 86_400_000, ...options.sessionCookie }
  })
  await app.register(fastifyMubarokah, {
    clientId: 'dev-client',
    clientSecret: CLIENT_SECRET,
    redirectUri: `http://127.0.0.1:${port}/auth/mubarokah/callback`,
    baseUrl: options.provider.baseUrl,
    encryptionKeys: TEST_ENCRYPTION_KEY,
    tokenStore: options.redisUrl === undefined && options.redisCluster === undefined ? 'memory' : 'redis',
    rateLimit: { loginsPerMinute: 10_000, callbacksPerMinute: 10_000 },
    redisLocalCache: options.localCache,
    ...options.plugin
  })

  app.get('/dashboard', { preHandler: app.mubarokah.requireUser }, async (request) => ({ name: request.mubarokah?.user.name }))
  app.get('/token', { preHandler: app.mubarokah.requireUser }, async (request) => ({ accessToken: await request.mubarokah?.accessToken() }))
  await options.register?.(app)

  await app.listen({ host: '127.0.0.1', port })
  return { app, url: `http://127.0.0.1:${port}`, port, logs, close: async () => await app.close() }
}

/** Starts a development provider whose client accepts the callback of apps on these ports. */
export async function startProvider (ports: readonly number[], options: DevProviderOptions = {}): Promise<DevProvider> {
  const redirectUris = ports.map((port) => `http://127.0.0.1:${port}/auth/mubarokah/callback`)
  return await startDevProvider({ clients: [createDevClient(redirectUris)], ...options })
}

export interface Fixture {
  readonly provider: DevProvider
  readonly app: TestApp
}

export interface FixtureOptions extends Omit<StartAppOptions, 'provider' | 'port'> {
  readonly providerOptions?: DevProviderOptions
  /** Callback path registered at the provider and used as the app's redirect URI. */
  readonly providerRedirectPath?: string
}

/** Starts a provider and one app, both closed in teardown. */
export async function startFixture (t: Test, options: FixtureOptions = {}): Promise<Fixture> {
  const port = await freePort()
  const callbackPath = options.providerRedirectPath ?? '/auth/mubarokah/callback'
  const provider = await startDevProvider({ clients: [createDevClient([`http://127.0.0.1:${port}${callbackPath}`])], ...options.providerOptions })
  t.teardown(() => provider.close())
  const plugin = { redirectUri: `http://127.0.0.1:${port}${callbackPath}`, ...options.plugin }
  const app = await startApp({ ...options, plugin, provider, port })
  t.teardown(() => app.close())
  return { provider, app }
}

export interface LoginResult {
  /** Every response from the login start to the end of the redirects. */
  readonly responses: BrowserResponse[]
  /** The last response; with `stopBeforeCallback`, the one that redirected to the callback. */
  readonly final: BrowserResponse
  /** With `stopBeforeCallback`: the callback URL the provider redirected to, not yet visited. */
  readonly callbackUrl?: string
}

export interface LoginOptions {
  readonly returnTo?: string
  readonly query?: string
  readonly password?: string
  readonly decision?: 'approve' | 'deny'
  readonly loginPath?: string
  /** Path of the app's callback; default `/auth/mubarokah/callback`. */
  readonly callbackPath?: string
  readonly stopBeforeCallback?: boolean
}

/**
 * Logs in through the real pages: app login, provider login form, consent form, callback.
 * The provider remembers its own session and consent, so later logins may skip its pages.
 */
export async function loginAs (browser: Browser, appUrl: string, username: string, options: LoginOptions = {}): Promise<LoginResult> {
  const query = options.query ?? (options.returnTo === undefined ? '' : `returnTo=${encodeURIComponent(options.returnTo)}`)
  const start = `${appUrl}${options.loginPath ?? '/auth/mubarokah/login'}${query === '' ? '' : `?${query}`}`
  const callback = `${appUrl}${options.callbackPath ?? '/auth/mubarokah/callback'}`
  const stopAt = options.stopBeforeCallback === true ? (url: string) => url.startsWith(callback) : () => false

  const responses = await browser.navigate(start, stopAt)
  let page = responses[responses.length - 1] as BrowserResponse
  if (page.status === 200 && /name="password"/.test(page.text)) {
    responses.push(...await browser.submitForm(page, { username, password: options.password ?? 'demo' }, undefined, stopAt))
    page = responses[responses.length - 1] as BrowserResponse
  }
  if (page.status === 200 && /name="decision"/.test(page.text)) {
    responses.push(...await browser.submitForm(page, {}, { name: 'decision', value: options.decision ?? 'approve' }, stopAt))
    page = responses[responses.length - 1] as BrowserResponse
  }
  const callbackUrl = page.location !== null && page.location.startsWith(callback) ? page.location : undefined
  return { responses, final: page, ...(options.stopBeforeCallback === true && callbackUrl !== undefined ? { callbackUrl } : {}) }
}
