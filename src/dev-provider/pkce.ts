import { createHash } from 'node:crypto'
import { safeEqual } from './random.js'

// An S256 challenge is the unpadded base64url SHA-256 digest of the verifier, always 43 characters.
const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/

// RFC 7636 §4.1: 43 to 128 characters from the unreserved set.
const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9._~-]{43,128}$/

export function isS256CodeChallenge (value: string): boolean {
  return CODE_CHALLENGE_PATTERN.test(value)
}

export function isCodeVerifier (value: string): boolean {
  return CODE_VERIFIER_PATTERN.test(value)
}

/** Checks `code_verifier` against the S256 `code_challenge` sent to the authorize endpoint (RFC 7636 §4.6). */
export function verifyCodeVerifier (codeVerifier: string, codeChallenge: string): boolean {
  const computed = createHash('sha256').update(codeVerifier, 'ascii').digest('base64url')
  return safeEqual(computed, codeChallenge)
}
