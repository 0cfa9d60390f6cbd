import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Returns `byteCount` random bytes as base64url text, for ids, tokens and CSRF values. */
export function randomToken (byteCount: number): string {
  return randomBytes(byteCount).toString('base64url')
}

/** Compares two strings in time that does not depend on where they differ. */
export function safeEqual (actual: string, expected: string): boolean {
  const actualDigest = createHash('sha256').update(actual).digest()
  const expectedDigest = createHash('sha256').update(expected).digest()
  return timingSafeEqual(actualDigest, expectedDigest)
}
