import { Signer } from '@fastify/cookie'

export interface SessionSigner {
  sign(value: string): string
  unsign(signedValue: string): { valid: boolean, renew: boolean, value: string | null }
}

/**
 * A cookie signer for @fastify/session (`secret: createSessionSigner(secrets)`) that remembers
 * its recent results. @fastify/session verifies the cookie and signs the session id again on
 * every request. Both are HMAC-SHA256 and give the same result for the same input, so a bounded
 * cache skips them for the cookies in use. Only valid signatures are cached, so garbage cookies
 * cannot fill the cache. Secrets are copied: rotate them by restarting with a new list, newest first.
 */
export function createSessionSigner (secrets: string | readonly string[], maxEntries = 10_000): SessionSigner {
  const list = secretList(secrets)
  const weak = list.find((secret) => secret.length < MIN_SECRET_LENGTH)
  if (list.length === 0 || weak !== undefined) {
    throw new TypeError(`createSessionSigner needs session secrets of at least ${MIN_SECRET_LENGTH} characters (APP_SECRET_KEY, comma-separated, newest first); ${list.length === 0 ? 'none was given' : 'one is shorter'}. Generate one with \`npx fastify-mubarokah-id keygen\``)
  }
  const signer = new Signer(list)
  const signed = new Map<string, string>()
  const verified = new Map<string, { valid: boolean, renew: boolean, value: string | null }>()

  return {
    sign (value) {
      let result = signed.get(value)
      if (result === undefined) {
        result = signer.sign(value)
        remember(signed, value, result, maxEntries)
      }
      return result
    },
    unsign (signedValue) {
      const cached = verified.get(signedValue)
      if (cached !== undefined) return cached
      const result = signer.unsign(signedValue)
      if (result.valid) remember(verified, signedValue, result, maxEntries)
      return result
    }
  }
}

/** @fastify/session's own minimum for a string secret. */
const MIN_SECRET_LENGTH = 32

function secretList (secrets: unknown): string[] {
  if (typeof secrets === 'string') return secrets.split(',').map((secret) => secret.trim()).filter((secret) => secret !== '')
  if (Array.isArray(secrets)) return secrets.filter((secret): secret is string => typeof secret === 'string').map((secret) => secret.trim()).filter((secret) => secret !== '')
  return []
}

function remember<V> (cache: Map<string, V>, key: string, value: V, maxEntries: number): void {
  if (cache.size >= maxEntries) {
    const oldest = cache.keys().next().value
    if (oldest !== undefined) cache.delete(oldest)
  }
  cache.set(key, value)
}
