import { createHash, randomBytes } from 'node:crypto'

/** Returns a random URL-safe value with `bytes` bytes of entropy. */
export function randomToken (bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** Creates a PKCE code verifier: 43 characters from 32 random bytes (RFC 7636 §4.1). */
export function createCodeVerifier (): string {
  return randomToken(32)
}

/** Computes the S256 code challenge of a verifier (RFC 7636 §4.2). */
export function codeChallengeOf (codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier).digest('base64url')
}

/** SHA-256 in base64url, used to store lookups without storing the secret itself. */
export function hashValue (value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}
