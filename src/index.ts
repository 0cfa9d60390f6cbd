/*
 * fastify-mubarokah-id: "Login with Mubarokah ID" for Fastify 5.
 */
import { fastifyMubarokah } from './plugin.js'

export default fastifyMubarokah
export { fastifyMubarokah }
export * from './errors.js'
export type { MubarokahOptions } from './options.js'
export { KNOWN_SCOPES, OptionsSchema, type MubarokahScope } from './options.js'
export type {
  LogoutOptions,
  MubarokahDecorator,
  MubarokahDetails,
  MubarokahRequestContext,
  MubarokahUser,
  SessionLink
} from './types.js'
export { MubarokahOAuthClient, type AuthorizationUrlInput, type OAuthClientSettings } from './oauth/client.js'
export { providerDetails, type ProviderFailureDetails } from './oauth/http.js'
export type { MubarokahDetailsFields, MubarokahProfile, TokenSet } from './oauth/normalize.js'
export { MubarokahDetailsSchema, MubarokahProfileSchema } from './oauth/normalize.js'
export type { ClaimResult, HitResult, Lock, ReplaceResult, StoredGrant, StoredTransaction, TokenStore } from './tokens/store.js'
export { MemoryTokenStore, type MemoryTokenStoreOptions } from './tokens/memory-store.js'
export { RedisTokenStore, type RedisClient, type RedisTokenStoreOptions } from './tokens/redis-store.js'
export { FernetError, FernetKeyRing, fernetDecrypt, fernetEncrypt, generateFernetKey, parseFernetKey, type FernetKey } from './tokens/fernet.js'
export { Grant, RecordUnreadableError } from './tokens/records.js'
export { GrantManager, type RefreshOutcome } from './tokens/grants.js'
export { createSessionSigner, type SessionSigner } from './session/signer.js'
export { MemorySessionStore, RedisSessionStore, type MemorySessionStoreOptions, type RedisSessionStoreOptions } from './session/stores.js'
export { pickLanguage, wantsHtml } from './http/respond.js'
export { escapeHtml } from './http/pages.js'
export type { Language } from './http/messages.js'
export { safeReturnTo } from './http/return-to.js'
export { serializeAuthRequest } from './routes/index.js'
export { connectRedis, RECOMMENDED_REDIS_OPTIONS, RedisUnreachableError } from './redis.js'
export { closeReadCache, readCacheFor, RedisReadCache, type CacheFill, type RedisReadCacheOptions } from './redis-cache.js'
export { REDACT_PATHS } from './logging.js'
