import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type ValueError } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import type { FastifyRequest } from 'fastify'
import { OptionInvalidError, OptionMissingError } from './errors.js'
import type { MubarokahProfile } from './oauth/normalize.js'
import type { TokenStore } from './tokens/store.js'
import type { MubarokahUser } from './types.js'

/** The scopes Mubarokah ID defines. */
export const KNOWN_SCOPES = ['view-user', 'detail-user'] as const
export type MubarokahScope = typeof KNOWN_SCOPES[number]

/** Authorization parameters the plugin sets itself, so `authorizationParams` may not override them. */
const RESERVED_AUTHORIZATION_PARAMS = new Set([
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method'
])

const ScopeSchema = Type.Union(KNOWN_SCOPES.map((scope) => Type.Literal(scope)))

const FetchSchema = Type.Function([Type.Any(), Type.Optional(Type.Any())], Type.Promise(Type.Any()))

/** Methods a custom token store must have; checked after the schema, since methods live on prototypes. */
const TOKEN_STORE_METHODS = [
  'getGrant', 'createGrant', 'replaceGrant', 'deleteGrant', 'listUserGrants',
  'createTransaction', 'claimTransaction', 'finishTransaction',
  'acquireLock', 'isLocked', 'hit', 'setMarker', 'getMarker'
] as const

const TokenStoreObjectSchema = Type.Object({})

/**
 * The plugin options. Every field has TSDoc with its default; the schema is the single
 * source for validation and for the `MubarokahOptions` type.
 */
export const OptionsSchema = Type.Object({
  /** OAuth client id issued by Mubarokah ID. Required. */
  clientId: Type.String({ minLength: 1, maxLength: 200 }),
  /** OAuth client secret issued by Mubarokah ID. Required. */
  clientSecret: Type.String({ minLength: 1, maxLength: 500 }),
  /** Absolute callback URL registered at Mubarokah ID; the callback route is served at its path. Required. */
  redirectUri: Type.String({ minLength: 1, maxLength: 2000 }),
  /** Provider base URL. Default `https://accounts.mubarokah.com`. */
  baseUrl: Type.String({ default: 'https://accounts.mubarokah.com', minLength: 1, maxLength: 2000 }),
  /** Scopes requested at login. Default `['view-user']`. */
  scopes: Type.Array(ScopeSchema, { default: ['view-user'], minItems: 1, uniqueItems: true }),
  /** Route prefix. Default `/auth/mubarokah`. */
  prefix: Type.String({ default: '/auth/mubarokah', pattern: '^/[A-Za-z0-9/_.~-]*$', maxLength: 200 }),
  /** Where client credentials go on the token endpoint: the form body or HTTP Basic. Default `body`. */
  clientAuthentication: Type.Union([Type.Literal('body'), Type.Literal('basic')], { default: 'body' }),
  /** `prompt` sent on every authorization request (`consent` or `login`). Default none. */
  prompt: Type.Optional(Type.Union([Type.Literal('consent'), Type.Literal('login')])),
  /** Extra authorization request parameters. Default none. */
  authorizationParams: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), Type.String({ maxLength: 500 }), { default: {} }),
  /** Timeout of each provider HTTP call, in milliseconds. Default 5000. */
  httpTimeoutMs: Type.Integer({ default: 5000, minimum: 100, maximum: 120_000 }),
  /** Largest provider response body accepted, in bytes. Default 262144 (256 KiB). */
  responseSizeLimit: Type.Integer({ default: 256 * 1024, minimum: 1024, maximum: 16 * 1024 * 1024 }),
  /** The fetch implementation for provider calls. Default the global `fetch`. */
  fetch: Type.Optional(FetchSchema),
  /** Token store: `memory` (default), `redis` (uses `fastify.redis`), or a `TokenStore` object. */
  tokenStore: Type.Union([Type.Literal('memory'), Type.Literal('redis'), TokenStoreObjectSchema], { default: 'memory' }),
  /** Key prefix of the Redis token store, so several apps can share one Redis. Default `mubarokah:`. */
  redisKeyPrefix: Type.String({ default: 'mubarokah:', maxLength: 100, pattern: '^[^{}\\s]*$' }),
  /**
   * With the Redis token store, serve grant reads from process memory, kept in step by Redis
   * invalidation messages (`CLIENT TRACKING`, Redis 6 or later). Ignored on Redis Cluster.
   * Pair it with `new RedisSessionStore(app.redis, { localCache: true })`. Default false.
   */
  redisLocalCache: Type.Boolean({ default: false }),
  /** Upper bound on entries of the memory token store. Default 100000. */
  memoryStoreMaxEntries: Type.Integer({ default: 100_000, minimum: 100 }),
  /**
   * Fernet keys for tokens at rest (`TOKEN_ENCRYPTION_KEY`): a comma-separated list or an array; the first
   * encrypts, all decrypt. Required in production; outside production an ephemeral key is generated with a warning.
   */
  encryptionKeys: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })])),
  /** Refresh the access token when it expires within this many seconds. Default 300. */
  refreshWindowSeconds: Type.Integer({ default: 300, minimum: 0, maximum: 86_400 }),
  /** Access token lifetime assumed when the provider sends no usable `expires_in`, in seconds. Default 3600. */
  defaultTokenLifetimeSeconds: Type.Integer({ default: 3600, minimum: 60, maximum: 31_536_000 }),
  /** How long a grant (the refresh token) is kept after its last refresh, in seconds. Default 30 days. */
  grantTtlSeconds: Type.Integer({ default: 30 * 86_400, minimum: 300, maximum: 366 * 86_400 }),
  /** How long a started login may take before its state expires, in seconds. Default 600. */
  loginTimeoutSeconds: Type.Integer({ default: 600, minimum: 30, maximum: 3600 }),
  /** Pending logins per browser; the oldest is dropped beyond this. Default 5. */
  maxPendingLogins: Type.Integer({ default: 5, minimum: 1, maximum: 50 }),
  /** Maximum time a request waits for another instance's refresh of the same grant, in milliseconds. Default `httpTimeoutMs + 2000`. */
  refreshWaitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000 })),
  /** Language of pages and messages for end users: `auto` follows Accept-Language. Default `auto`. */
  language: Type.Union([Type.Literal('auto'), Type.Literal('id'), Type.Literal('en')], { default: 'auto' }),
  /** Language used when Accept-Language names neither Indonesian nor English. Default `id`. */
  defaultLanguage: Type.Union([Type.Literal('id'), Type.Literal('en')], { default: 'id' }),
  /** Name of the @fastify/session cookie, read to re-sign sessions after a secret rotation. Default `sessionId`. */
  sessionCookieName: Type.String({ default: 'sessionId', minLength: 1, maxLength: 100 }),
  /** Session lifetime in seconds; the plugin renews a session once a quarter of it has passed. Default 30 days. */
  sessionTtlSeconds: Type.Integer({ default: 30 * 86_400, minimum: 60, maximum: 366 * 86_400 }),
  /** The short-lived cookie that binds a login to the browser that started it. */
  loginCookie: Type.Object({
    /** Cookie name. Default `mubarokah_login`. */
    name: Type.String({ default: 'mubarokah_login', pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
    /** `Secure` attribute: `auto` follows the request protocol. Default `true` in production, else `auto`. */
    secure: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('auto')])),
    /** Cookie domain. Default none (host-only). */
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253 }))
  }, { default: {} }),
  /** Where to go after login when the login had no valid `returnTo`, and after logout. Default `/`. */
  defaultReturnTo: Type.String({ default: '/', pattern: '^/', maxLength: 2000 }),
  /** Origins allowed to POST to logout besides the request's own. Default none. */
  trustedOrigins: Type.Array(Type.String({ pattern: '^https?://[^/]+$' }), { default: [] }),
  /**
   * After a logout, send `prompt=login` on this browser's next login, so Mubarokah ID requests the
   * password again instead of logging the user straight back in with its own session. Default true.
   */
  promptLoginAfterLogout: Type.Boolean({ default: true }),
  /** Allow `POST logout` with `sso=1` to also end the Mubarokah ID session (`/api/logout-sso`). Default false. */
  allowSsoLogout: Type.Boolean({ default: false }),
  /** Abuse limits per client address and per browser, over a one-minute window. */
  rateLimit: Type.Object({
    /** Login starts per minute. Default 30. */
    loginsPerMinute: Type.Integer({ default: 30, minimum: 1 }),
    /** Callbacks (code exchanges) per minute. Default 30. */
    callbacksPerMinute: Type.Integer({ default: 30, minimum: 1 })
  }, { default: {} }),
  /** Called at login with the profile; returns the user stored with the grant (add your own fields). Default: the profile as is. */
  enrichUser: Type.Optional(Type.Function([Type.Any(), Type.Any()], Type.Any())),
  /** Treat this as production (strict secrets, Secure cookies). Default `NODE_ENV === 'production'`. */
  production: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

/** Options accepted by the plugin, as a host app writes them (defaults optional). */
export type MubarokahOptions = Partial<Omit<Static<typeof OptionsSchema>, 'clientId' | 'clientSecret' | 'redirectUri' | 'tokenStore' | 'fetch' | 'loginCookie' | 'rateLimit' | 'enrichUser'>> & {
  clientId: string
  clientSecret: string
  redirectUri: string
  tokenStore?: 'memory' | 'redis' | TokenStore
  fetch?: typeof globalThis.fetch
  loginCookie?: Partial<Static<typeof OptionsSchema>['loginCookie']>
  rateLimit?: Partial<Static<typeof OptionsSchema>['rateLimit']>
  enrichUser?: (profile: MubarokahProfile, request: FastifyRequest) => MubarokahUser | Promise<MubarokahUser>
}

/** Options after validation, with every default filled in and derived values computed. */
export interface ResolvedOptions extends Omit<Static<typeof OptionsSchema>, 'tokenStore' | 'fetch' | 'encryptionKeys' | 'production' | 'refreshWaitMs' | 'enrichUser'> {
  readonly tokenStore: 'memory' | 'redis' | TokenStore
  readonly fetch: typeof globalThis.fetch
  readonly encryptionKeys: readonly string[] | undefined
  readonly production: boolean
  readonly refreshWaitMs: number
  readonly baseUrl: string
  readonly callbackPath: string
  readonly loginCookie: Static<typeof OptionsSchema>['loginCookie'] & { secure: boolean | 'auto' }
  readonly enrichUser: MubarokahOptions['enrichUser']
}

/** The fix for each option, appended to its error message. */
const FIXES: Record<string, string> = {
  clientId: 'set it to the client id Mubarokah ID issued for this app (MUBAROKAH_CLIENT_ID)',
  clientSecret: 'set it to the client secret Mubarokah ID issued for this app (MUBAROKAH_CLIENT_SECRET)',
  redirectUri: 'set it to the absolute callback URL registered at Mubarokah ID, e.g. https://app.example/auth/mubarokah/callback',
  baseUrl: 'use the provider origin, e.g. https://accounts.mubarokah.com',
  scopes: 'use a non-empty list of distinct scopes from: view-user, detail-user',
  prefix: 'use a path such as /auth/mubarokah',
  clientAuthentication: 'use "body" or "basic"',
  prompt: 'use "consent", "login" or leave it out',
  authorizationParams: 'use an object of string values, without response_type, client_id, redirect_uri, scope, state or code_challenge*',
  httpTimeoutMs: 'use an integer number of milliseconds between 100 and 120000',
  responseSizeLimit: 'use an integer number of bytes between 1024 and 16777216',
  fetch: 'pass a fetch-compatible function or leave it out',
  tokenStore: 'use "memory", "redis" or an object implementing TokenStore',
  redisKeyPrefix: 'use a short prefix without braces or spaces, e.g. "myapp:mubarokah:"',
  memoryStoreMaxEntries: 'use an integer of at least 100',
  encryptionKeys: 'set TOKEN_ENCRYPTION_KEY to keys made by `npx fastify-mubarokah-id keygen` (comma-separated, newest first)',
  refreshWindowSeconds: 'use an integer number of seconds between 0 and 86400',
  defaultTokenLifetimeSeconds: 'use an integer number of seconds of at least 60',
  grantTtlSeconds: 'use an integer number of seconds between 300 and 31622400',
  loginTimeoutSeconds: 'use an integer number of seconds between 30 and 3600',
  maxPendingLogins: 'use an integer between 1 and 50',
  refreshWaitMs: 'use an integer number of milliseconds between 0 and 120000',
  language: 'use "auto", "id" or "en"',
  defaultLanguage: 'use "id" or "en"',
  sessionCookieName: 'use the cookieName given to @fastify/session',
  sessionTtlSeconds: 'use an integer number of seconds of at least 60',
  loginCookie: 'use { name?, secure?: true | false | "auto", domain? }',
  defaultReturnTo: 'use a same-origin path starting with "/"',
  trustedOrigins: 'use origins such as "https://app.example" (scheme and host, no path)',
  allowSsoLogout: 'use true or false',
  promptLoginAfterLogout: 'use true or false',
  rateLimit: 'use { loginsPerMinute?, callbacksPerMinute? } with positive integers',
  enrichUser: 'pass a function (profile, request) => user, or leave it out',
  production: 'use true or false'
}

const compiledOptions = TypeCompiler.Compile(OptionsSchema)

/**
 * Validates the options once at registration and fills in defaults.
 * Throws FST_MUBAROKAH_OPTION_MISSING or FST_MUBAROKAH_OPTION_INVALID naming the first bad option and its fix.
 */
export function resolveOptions (input: unknown): ResolvedOptions {
  if (typeof input !== 'object' || input === null) {
    throw new OptionMissingError('clientId', FIXES.clientId as string)
  }
  // Objects with behaviour (a store instance, functions) are passed by reference; the rest is copied.
  const { tokenStore, fetch, enrichUser, ...data } = stripUndefined(input as Record<string, unknown>)
  const references = stripUndefined({ tokenStore, fetch, enrichUser })
  const withDefaults = Value.Default(OptionsSchema, Value.Clone(data)) as Static<typeof OptionsSchema>
  Object.assign(withDefaults, references)

  const firstError = compiledOptions.Errors(withDefaults).First()
  if (firstError !== undefined) throw optionError(firstError, withDefaults)

  checkUrls(withDefaults)
  checkTokenStore(withDefaults.tokenStore)
  checkAuthorizationParams(withDefaults.authorizationParams)
  const production = withDefaults.production ?? process.env.NODE_ENV === 'production'
  const encryptionKeys = withDefaults.encryptionKeys === undefined
    ? undefined
    : (typeof withDefaults.encryptionKeys === 'string' ? withDefaults.encryptionKeys.split(',') : withDefaults.encryptionKeys)
        .map((key) => key.trim()).filter((key) => key !== '')

  return {
    ...withDefaults,
    baseUrl: withDefaults.baseUrl.replace(/\/+$/, ''),
    prefix: withDefaults.prefix === '/' ? '' : withDefaults.prefix.replace(/\/+$/, ''),
    fetch: (withDefaults.fetch as typeof globalThis.fetch | undefined) ?? globalThis.fetch,
    tokenStore: withDefaults.tokenStore as ResolvedOptions['tokenStore'],
    enrichUser: withDefaults.enrichUser as ResolvedOptions['enrichUser'],
    encryptionKeys,
    production,
    refreshWaitMs: withDefaults.refreshWaitMs ?? withDefaults.httpTimeoutMs + 2000,
    callbackPath: new URL(withDefaults.redirectUri).pathname,
    loginCookie: { ...withDefaults.loginCookie, secure: withDefaults.loginCookie.secure ?? (production ? true : 'auto') }
  }
}

function stripUndefined (input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined))
}

function optionError (error: ValueError, value: Record<string, unknown>): Error {
  const name = error.path.split('/')[1] ?? ''
  if (name === '' || !(name in OptionsSchema.properties)) {
    const unknown = Object.keys(value).find((key) => !(key in OptionsSchema.properties))
    return new OptionInvalidError(unknown ?? '(options)', 'it is not an option of fastify-mubarokah-id; check the spelling against the README options table')
  }
  const fix = FIXES[name] ?? 'see the README options table'
  if (value[name] === undefined) return new OptionMissingError(name, fix)
  // TypeBox reports "Expected union value" for a value outside a list of choices, so state it plainly.
  const problem = error.message === 'Expected union value' ? 'it is not one of the allowed values' : error.message
  return new OptionInvalidError(error.path.slice(1).replaceAll('/', '.'), `${problem}; ${fix}`)
}

function checkUrls (options: Static<typeof OptionsSchema>): void {
  const redirect = parseHttpUrl(options.redirectUri)
  if (redirect === null || redirect.hash !== '') {
    throw new OptionInvalidError('redirectUri', `it must be an absolute http(s) URL without a fragment; ${FIXES.redirectUri}`)
  }
  const base = parseHttpUrl(options.baseUrl)
  if (base === null || base.search !== '' || base.hash !== '') {
    throw new OptionInvalidError('baseUrl', `it must be an absolute http(s) URL without query or fragment; ${FIXES.baseUrl}`)
  }
}

function checkTokenStore (store: unknown): void {
  if (typeof store !== 'object' || store === null) return
  const missing = TOKEN_STORE_METHODS.filter((method) => typeof (store as Record<string, unknown>)[method] !== 'function')
  if (missing.length > 0) {
    throw new OptionInvalidError('tokenStore', `the object lacks the TokenStore methods ${missing.join(', ')}; ${FIXES.tokenStore}`)
  }
}

function parseHttpUrl (text: string): URL | null {
  try {
    const url = new URL(text)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null
  } catch {
    return null
  }
}

function checkAuthorizationParams (params: Record<string, string>): void {
  const reserved = Object.keys(params).find((key) => RESERVED_AUTHORIZATION_PARAMS.has(key))
  if (reserved !== undefined) {
    throw new OptionInvalidError(`authorizationParams.${reserved}`, `the plugin sets "${reserved}" itself; ${FIXES.authorizationParams}`)
  }
}

/** Compiles a schema once; used for provider responses and other hot validations. */
export function compileSchema<T extends TSchema> (schema: T): ReturnType<typeof TypeCompiler.Compile<T>> {
  return TypeCompiler.Compile(schema)
}
