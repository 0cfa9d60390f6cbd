import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { MubarokahProfileSchema } from '../oauth/normalize.js'
import type { MubarokahUser } from '../types.js'
import { FernetError, type FernetKeyRing } from './fernet.js'
import type { StoredGrant } from './store.js'

/*
 * The record formats every store keeps, as versioned JSON. Token strings are Fernet-encrypted.
 * `kid` names the key that encrypted them, so a record under an old key is noticed without
 * decrypting it and is re-encrypted with the primary key on its next write.
 */

const GrantRecordSchema = Type.Object({
  v: Type.Literal(1),
  kid: Type.String(),
  // Extra fields a host app adds through `enrichUser` are allowed next to the profile.
  user: MubarokahProfileSchema,
  scopes: Type.Array(Type.String()),
  /** Scopes the login asked for; a grant may hold fewer. Missing in records written before it existed. */
  rs: Type.Optional(Type.Array(Type.String())),
  /** Fernet token of the access token. */
  at: Type.String(),
  /** Fernet token of the refresh token, or null when the provider issued none. */
  rt: Type.Union([Type.String(), Type.Null()]),
  /** Access token expiry, epoch milliseconds. */
  exp: Type.Number(),
  /** When the access token was issued, epoch milliseconds. */
  iat: Type.Number(),
  /** When the login happened, epoch milliseconds. */
  created: Type.Number()
})
type EncodedGrant = Static<typeof GrantRecordSchema>
const grantRecord = TypeCompiler.Compile(GrantRecordSchema)

/** The plaintext content a login or a refresh writes into a grant. */
export interface GrantContent {
  readonly user: MubarokahUser
  readonly scopes: readonly string[]
  /** Scopes the login asked for, so a scope the user or provider refused is not asked for again in a loop. */
  readonly requestedScopes: readonly string[]
  readonly accessToken: string
  readonly refreshToken: string | null
  readonly expiresAt: number
  readonly issuedAt: number
  readonly createdAt: number
}

/** A record that exists but cannot be read: bad JSON, an unknown format, or no key that decrypts it. */
export class RecordUnreadableError extends Error {
  override name = 'RecordUnreadableError'
}

/**
 * A grant read from the store. Tokens are decrypted only when asked for, so the guard's
 * steady-state path (expiry and user only) does no cryptography.
 */
export class Grant {
  readonly grantId: string
  readonly userId: string
  readonly revision: number
  readonly user: MubarokahUser
  readonly scopes: readonly string[]
  readonly requestedScopes: readonly string[]
  readonly expiresAt: number
  readonly issuedAt: number
  readonly createdAt: number
  /** Fingerprint of the key that encrypted the tokens. */
  readonly keyId: string
  /** The stored text this grant was decoded from. */
  readonly encoded: string
  readonly #encoded: EncodedGrant
  readonly #keys: FernetKeyRing
  #accessToken: string | undefined

  constructor (stored: StoredGrant, encoded: EncodedGrant, keys: FernetKeyRing) {
    this.grantId = stored.grantId
    this.userId = stored.userId
    this.revision = stored.revision
    this.user = encoded.user as MubarokahUser
    this.scopes = encoded.scopes
    this.requestedScopes = encoded.rs ?? encoded.scopes
    this.expiresAt = encoded.exp
    this.issuedAt = encoded.iat
    this.createdAt = encoded.created
    this.keyId = encoded.kid
    this.encoded = stored.data
    this.#encoded = encoded
    this.#keys = keys
  }

  /** Decrypts the access token. Throws RecordUnreadableError if no configured key can. */
  accessToken (): string {
    this.#accessToken ??= decryptField(this.#keys, this.#encoded.at)
    return this.#accessToken
  }

  /** Decrypts the refresh token, or returns null when the provider issued none. */
  refreshToken (): string | null {
    return this.#encoded.rt === null ? null : decryptField(this.#keys, this.#encoded.rt)
  }

  /** Tells whether the tokens were encrypted with a key other than the current primary key. */
  get needsReencryption (): boolean {
    return this.keyId !== this.#keys.primary.id
  }

  /** The plaintext content, for writing the grant back (for example re-encrypted under the primary key). */
  content (): GrantContent {
    return {
      user: this.user,
      scopes: this.scopes,
      requestedScopes: this.requestedScopes,
      accessToken: this.accessToken(),
      refreshToken: this.refreshToken(),
      expiresAt: this.expiresAt,
      issuedAt: this.issuedAt,
      createdAt: this.createdAt
    }
  }
}

function decryptField (keys: FernetKeyRing, token: string): string {
  try {
    return keys.decrypt(token).plaintext
  } catch (error) {
    if (error instanceof FernetError) throw new RecordUnreadableError(`token field: ${error.message}`)
    throw error
  }
}

/** Serialises a grant, encrypting both tokens with the primary key. */
export function encodeGrant (keys: FernetKeyRing, content: GrantContent): string {
  const encoded: EncodedGrant = {
    v: 1,
    kid: keys.primary.id,
    user: content.user,
    scopes: [...content.scopes],
    rs: [...content.requestedScopes],
    at: keys.encrypt(content.accessToken),
    rt: content.refreshToken === null ? null : keys.encrypt(content.refreshToken),
    exp: content.expiresAt,
    iat: content.issuedAt,
    created: content.createdAt
  }
  return JSON.stringify(encoded)
}

/**
 * Parses a stored grant. Throws RecordUnreadableError when the JSON or its shape is invalid
 * or when none of the configured keys encrypted it.
 */
export function decodeGrant (keys: FernetKeyRing, stored: StoredGrant): Grant {
  let parsed: unknown
  try {
    parsed = JSON.parse(stored.data)
  } catch {
    throw new RecordUnreadableError('grant record is not JSON')
  }
  if (!grantRecord.Check(parsed)) throw new RecordUnreadableError('grant record has an unknown format')
  if (!keys.hasKey(parsed.kid)) throw new RecordUnreadableError('grant record was encrypted with a key that is no longer configured')
  return new Grant(stored, parsed, keys)
}

const TransactionSchema = Type.Object({
  v: Type.Literal(1),
  /** Fernet token of the PKCE code verifier. */
  cv: Type.String(),
  returnTo: Type.String(),
  scopes: Type.Array(Type.String()),
  created: Type.Number()
})
const transactionRecord = TypeCompiler.Compile(TransactionSchema)

/** A pending login, in plaintext. */
export interface LoginTransaction {
  readonly codeVerifier: string
  readonly returnTo: string
  readonly scopes: readonly string[]
  readonly createdAt: number
}

export function encodeTransaction (keys: FernetKeyRing, transaction: LoginTransaction): string {
  return JSON.stringify({
    v: 1,
    cv: keys.encrypt(transaction.codeVerifier),
    returnTo: transaction.returnTo,
    scopes: [...transaction.scopes],
    created: transaction.createdAt
  })
}

export function decodeTransaction (keys: FernetKeyRing, data: string): LoginTransaction {
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    throw new RecordUnreadableError('login transaction is not JSON')
  }
  if (!transactionRecord.Check(parsed)) throw new RecordUnreadableError('login transaction has an unknown format')
  return {
    codeVerifier: decryptField(keys, parsed.cv),
    returnTo: parsed.returnTo,
    scopes: parsed.scopes,
    createdAt: parsed.created
  }
}
