import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/*
 * Fernet (https://github.com/fernet/spec/blob/master/Spec.md), the format of Python's
 * `cryptography.fernet`, so tokens written here decrypt there and the other way round.
 *
 * token = base64url(0x80 | timestamp (8 bytes, big endian) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256 (32))
 * key   = base64url(signing key (16) | encryption key (16)), with `=` padding.
 */

const VERSION = 0x80
const HEADER_LENGTH = 1 + 8 + 16
const MAC_LENGTH = 32
const BLOCK_LENGTH = 16
const MIN_TOKEN_LENGTH = HEADER_LENGTH + BLOCK_LENGTH + MAC_LENGTH
/** Upper bound on a decoded token, so a corrupt record cannot make us allocate without limit. */
export const MAX_TOKEN_BYTES = 64 * 1024

const base64UrlPadded = /^[A-Za-z0-9_-]*={0,2}$/

/** A single Fernet key, split into its two halves. */
export interface FernetKey {
  readonly signingKey: Buffer
  readonly encryptionKey: Buffer
  /** A short, non-secret fingerprint that identifies the key that encrypted a record. */
  readonly id: string
}

/** The error for a token that could not be decrypted. Its message never contains key or token material. */
export class FernetError extends Error {
  override name = 'FernetError'
}

/**
 * Decodes strict URL-safe base64: the length must be a multiple of 4 with `=` padding,
 * only the URL-safe alphabet is allowed, and unused bits of the last character must be zero.
 */
function decodeBase64Url (text: string): Buffer | null {
  if (text.length % 4 !== 0 || !base64UrlPadded.test(text)) return null

  const bytes = Buffer.from(text, 'base64url')
  // Re-encoding rejects non-canonical input such as stray low bits in the final character.
  if (bytes.toString('base64url') !== text.replace(/=+$/, '')) return null
  return bytes
}

function encodeBase64Url (bytes: Buffer): string {
  const text = bytes.toString('base64url')
  return text + '='.repeat((4 - (text.length % 4)) % 4)
}

/** Parses a Fernet key: 32 bytes in URL-safe base64 with padding, as `Fernet.generate_key()` prints it. */
export function parseFernetKey (text: string): FernetKey {
  const bytes = decodeBase64Url(text.trim())
  if (bytes === null || bytes.length !== 32) {
    throw new FernetError('a Fernet key is 32 bytes in URL-safe base64 (44 characters ending in "=")')
  }
  return {
    signingKey: bytes.subarray(0, 16),
    encryptionKey: bytes.subarray(16, 32),
    id: createHash('sha256').update(bytes).digest('base64url').slice(0, 8)
  }
}

/** Creates a new random Fernet key in the same text form as Python's `Fernet.generate_key()`. */
export function generateFernetKey (): string {
  return encodeBase64Url(randomBytes(32))
}

/** Encrypts `plaintext` into a Fernet token. `nowSeconds` and `iv` exist for test vectors. */
export function fernetEncrypt (key: FernetKey, plaintext: string | Buffer, nowSeconds = Math.floor(Date.now() / 1000), iv = randomBytes(16)): string {
  const header = Buffer.alloc(HEADER_LENGTH)
  header[0] = VERSION
  header.writeBigUInt64BE(BigInt(nowSeconds), 1)
  iv.copy(header, 9)

  const cipher = createCipheriv('aes-128-cbc', key.encryptionKey, iv)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  const signed = Buffer.concat([header, ciphertext])
  const mac = createHmac('sha256', key.signingKey).update(signed).digest()
  return encodeBase64Url(Buffer.concat([signed, mac]))
}

/**
 * Decrypts a Fernet token with one key. Throws FernetError for malformed tokens,
 * a wrong version byte, a MAC that does not match (checked in constant time) or bad padding.
 * `ttlSeconds` optionally rejects tokens older than that, as Python's `decrypt(token, ttl)` does.
 */
export function fernetDecrypt (key: FernetKey, token: string, ttlSeconds?: number): Buffer {
  const bytes = decodeFernetToken(token)

  const signed = bytes.subarray(0, bytes.length - MAC_LENGTH)
  const mac = bytes.subarray(bytes.length - MAC_LENGTH)
  const expected = createHmac('sha256', key.signingKey).update(signed).digest()
  if (!timingSafeEqual(mac, expected)) throw new FernetError('the token MAC does not match this key')

  if (ttlSeconds !== undefined) {
    const issuedAt = Number(bytes.readBigUInt64BE(1))
    if (issuedAt + ttlSeconds < Math.floor(Date.now() / 1000)) throw new FernetError('the token has expired')
  }

  const iv = bytes.subarray(9, HEADER_LENGTH)
  const ciphertext = bytes.subarray(HEADER_LENGTH, bytes.length - MAC_LENGTH)
  try {
    const decipher = createDecipheriv('aes-128-cbc', key.encryptionKey, iv)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()])
  } catch {
    throw new FernetError('the token padding is invalid')
  }
}

function decodeFernetToken (token: string): Buffer {
  // Base64 expands by 4/3, so this bounds the work before decoding anything.
  if (token.length > Math.ceil(MAX_TOKEN_BYTES / 3) * 4) throw new FernetError('the token is too large')

  const bytes = decodeBase64Url(token)
  if (bytes === null) throw new FernetError('the token is not padded URL-safe base64')
  if (bytes.length < MIN_TOKEN_LENGTH) throw new FernetError('the token is too short')
  if (bytes[0] !== VERSION) throw new FernetError('the token version byte is not 0x80')
  if ((bytes.length - HEADER_LENGTH - MAC_LENGTH) % BLOCK_LENGTH !== 0) {
    throw new FernetError('the token ciphertext is not a whole number of AES blocks')
  }
  return bytes
}

/**
 * Several Fernet keys for rotation, like Python's `MultiFernet`: the first encrypts,
 * every key is tried to decrypt, and the caller learns which key succeeded.
 */
export class FernetKeyRing {
  readonly keys: readonly FernetKey[]

  constructor (keys: readonly FernetKey[]) {
    if (keys.length === 0) throw new FernetError('at least one Fernet key is required')
    this.keys = keys
  }

  /** Parses a comma-separated key list or an array of keys, as `TOKEN_ENCRYPTION_KEY` contains them. */
  static parse (keys: string | readonly string[]): FernetKeyRing {
    const list = typeof keys === 'string' ? keys.split(',') : keys
    return new FernetKeyRing(list.map((key) => key.trim()).filter((key) => key !== '').map(parseFernetKey))
  }

  /** The key that encrypts new data. */
  get primary (): FernetKey {
    return this.keys[0] as FernetKey
  }

  encrypt (plaintext: string): string {
    return fernetEncrypt(this.primary, plaintext)
  }

  /** Decrypts with the first key that verifies; `keyId` shows whether re-encryption is due. */
  decrypt (token: string): { plaintext: string, keyId: string } {
    for (const key of this.keys) {
      try {
        return { plaintext: fernetDecrypt(key, token).toString('utf8'), keyId: key.id }
      } catch (error) {
        // A malformed token fails the same way under every key, so stop at the first such error.
        if (!(error instanceof FernetError) || !error.message.includes('MAC')) throw error
      }
    }
    throw new FernetError('no configured key decrypts this token')
  }

  hasKey (keyId: string): boolean {
    return this.keys.some((key) => key.id === keyId)
  }
}
