import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { OptionInvalidError, OptionMissingError, retryAfterOf, UnauthenticatedError } from './errors.js'
import { createGuards, type Guards } from './guard.js'
import { MubarokahOAuthClient } from './oauth/client.js'
import { resolveOptions, type MubarokahOptions, type ResolvedOptions } from './options.js'
import { logout } from './routes/logout.js'
import { registerRoutes } from './routes/index.js'
import type { Runtime } from './runtime.js'
import { FernetError, FernetKeyRing, generateFernetKey } from './tokens/fernet.js'
import { GrantManager } from './tokens/grants.js'
import { MemoryTokenStore } from './tokens/memory-store.js'
import { RedisTokenStore, type RedisClient } from './tokens/redis-store.js'
import { closeReadCache, readCacheFor } from './redis-cache.js'
import type { TokenStore } from './tokens/store.js'
import type { MubarokahDecorator } from './types.js'

/** Secrets that come from examples and must never reach production. */
const PLACEHOLDER_SECRET = /change[-_ ]?me|placeholder|your[-_ ]?(client[-_ ]?)?secret|^secret$|^x+$|dev-secret/i

const plugin: FastifyPluginAsync<MubarokahOptions> = async (fastify, rawOptions) => {
  const options = resolveOptions(rawOptions)
  checkProductionSettings(fastify, options)

  const keys = encryptionKeysOf(fastify, options)
  const redis = (fastify as unknown as { redis?: RedisClient }).redis
  const store = tokenStoreOf(fastify, options, redis)
  const client = new MubarokahOAuthClient({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: options.redirectUri,
    baseUrl: options.baseUrl,
    clientAuthentication: options.clientAuthentication,
    defaultTokenLifetimeSeconds: options.defaultTokenLifetimeSeconds,
    fetch: options.fetch,
    timeoutMs: options.httpTimeoutMs,
    sizeLimit: options.responseSizeLimit
  })
  const grants = new GrantManager({
    store,
    keys,
    client,
    log: fastify.log.child({ plugin: 'fastify-mubarokah-id' }),
    refreshWindowMs: options.refreshWindowSeconds * 1000,
    grantTtlMs: options.grantTtlSeconds * 1000,
    lockTtlMs: options.httpTimeoutMs + 5000,
    refreshWaitMs: options.refreshWaitMs
  })
  const runtime: Runtime = {
    options,
    client,
    grants,
    store,
    keys,
    errorSettings: {
      language: options.language,
      defaultLanguage: options.defaultLanguage,
      loginPath: `${options.prefix}/login`,
      homePath: options.defaultReturnTo,
      sessionCookieName: options.sessionCookieName
    },
    warned: new Set()
  }
  const guards = createGuards(runtime)

  fastify.decorate('mubarokah', createDecorator(runtime, guards))
  fastify.decorateRequest('mubarokah', null)
  fastify.addHook('onError', async (_request, reply, error) => {
    // Store outages raised by the session store reach the host's error handler; tell clients when to retry.
    if ((error as { code?: string }).code === 'FST_MUBAROKAH_STORE_UNAVAILABLE') reply.header('retry-after', String(retryAfterOf(error) ?? 5))
  })
  if (options.tokenStore === 'memory') fastify.addHook('onClose', async () => { await store.close?.() })
  // The client may outlive the app (passed to @fastify/redis without closeClient); the read cache's connections must not.
  if (redis !== undefined) fastify.addHook('onClose', (_instance, done) => { closeReadCache(redis); done() })

  await registerRoutes(fastify, runtime, guards)
}

function createDecorator (runtime: Runtime, guards: Guards): MubarokahDecorator {
  return {
    oauth: runtime.client,
    tokens: runtime.grants,
    requireUser: guards.requireUser,
    optionalUser: guards.optionalUser,
    requireScopes: guards.requireScopes,
    accessToken: async (request: FastifyRequest) => {
      if (request.mubarokah === null) throw new UnauthenticatedError()
      return await request.mubarokah.accessToken()
    },
    logout: async (request, reply, logoutOptions) => await logout(runtime, request, reply, logoutOptions),
    logoutUser: async (userId) => await runtime.grants.endUser(userId),
    accessTokenForUser: async (userId) => await accessTokenForUser(runtime, userId)
  }
}

/** Returns a valid access token from the user's most recently issued grant, for background jobs. */
async function accessTokenForUser (runtime: Runtime, userId: string): Promise<string | null> {
  const loaded = await Promise.all((await runtime.grants.listUser(userId)).map(async (grantId) => await runtime.grants.load(grantId)))
  const candidates = loaded.filter((grant) => grant !== null).sort((a, b) => b.issuedAt - a.issuedAt)
  for (const grant of candidates) {
    if (!runtime.grants.needsRefresh(grant)) return grant.accessToken()
    const outcome = await runtime.grants.refresh(grant, 'window')
    if (outcome.kind === 'fresh' || (outcome.kind === 'transient' && runtime.grants.isUsable(outcome.grant))) return outcome.grant.accessToken()
  }
  return null
}

function encryptionKeysOf (fastify: FastifyInstance, options: ResolvedOptions): FernetKeyRing {
  if (options.encryptionKeys === undefined || options.encryptionKeys.length === 0) {
    if (options.production) {
      throw new OptionMissingError('encryptionKeys', 'production needs TOKEN_ENCRYPTION_KEY; generate one with `npx fastify-mubarokah-id keygen`')
    }
    fastify.log.warn({ event: 'ephemeral_encryption_key' }, 'no encryptionKeys set: generated an ephemeral key, so stored grants will not survive a restart (set TOKEN_ENCRYPTION_KEY; `npx fastify-mubarokah-id keygen` prints one)')
    return FernetKeyRing.parse(generateFernetKey())
  }
  try {
    return FernetKeyRing.parse(options.encryptionKeys)
  } catch (error) {
    if (!(error instanceof FernetError)) throw error
    throw new OptionInvalidError('encryptionKeys', `${error.message}; generate one with \`npx fastify-mubarokah-id keygen\``)
  }
}

function tokenStoreOf (fastify: FastifyInstance, options: ResolvedOptions, redis: RedisClient | undefined): TokenStore {
  if (options.tokenStore === 'memory') return new MemoryTokenStore({ maxEntries: options.memoryStoreMaxEntries })
  if (options.tokenStore !== 'redis') return options.tokenStore

  if (redis === undefined || typeof (redis as { defineCommand?: unknown }).defineCommand !== 'function') {
    throw new OptionInvalidError('tokenStore', 'it is "redis" but fastify.redis is missing; register @fastify/redis before this plugin')
  }
  const store = new RedisTokenStore(redis, { keyPrefix: options.redisKeyPrefix, localCache: options.redisLocalCache })
  if (options.redisLocalCache) {
    const cache = readCacheFor(redis)
    if (cache === null) fastify.log.warn({ event: 'redis_cache_unavailable', option: 'redisLocalCache' }, 'redisLocalCache needs a standalone Redis; on a Redis Cluster every guarded request reads from Redis')
    cache?.useLog(fastify.log.child({ plugin: 'fastify-mubarokah-id' }))
  }
  return store
}

/**
 * Startup self-check. Settings that cannot be safe in production fail registration; settings
 * that are only risky there log a warning.
 */
function checkProductionSettings (fastify: FastifyInstance, options: ResolvedOptions): void {
  if (!options.production) return

  if (PLACEHOLDER_SECRET.test(options.clientSecret)) {
    throw new OptionInvalidError('clientSecret', 'it looks like a placeholder; set MUBAROKAH_CLIENT_SECRET to the secret Mubarokah ID issued')
  }
  for (const name of ['redirectUri', 'baseUrl'] as const) {
    const url = new URL(options[name])
    if (url.protocol !== 'https:' && !isLoopback(url.hostname)) {
      throw new OptionInvalidError(name, 'production needs an https URL')
    }
  }
  if (options.loginCookie.secure !== true) {
    fastify.log.warn({ event: 'insecure_setting', option: 'loginCookie.secure' }, 'loginCookie.secure is not true in production; login cookies may travel over plain HTTP')
  }
  if (options.tokenStore === 'memory') {
    fastify.log.warn({ event: 'insecure_setting', option: 'tokenStore' }, 'memory token store in production: logins are lost on restart and not shared between processes; use tokenStore "redis"')
  }
  const trustProxy = (fastify.initialConfig as { trustProxy?: unknown }).trustProxy
  if (trustProxy === false || trustProxy === undefined) {
    fastify.log.info({ event: 'trust_proxy_unset' }, 'trustProxy is not set: if a TLS-terminating proxy is in front of this app, set trustProxy, or logins are rejected with FST_MUBAROKAH_INSECURE_TRANSPORT')
  }
}

function isLoopback (hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]'
}

/** The Fastify plugin. Register @fastify/cookie and @fastify/session first (and @fastify/redis for the Redis store). */
export const fastifyMubarokah = fp(plugin, {
  fastify: '5.x',
  name: 'fastify-mubarokah-id',
  dependencies: ['@fastify/cookie', '@fastify/session']
})
