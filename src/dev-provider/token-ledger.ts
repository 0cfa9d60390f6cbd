import { randomUUID } from 'node:crypto'
import { DevProviderOptionError } from './errors.js'
import type { DevProviderTokenKind } from './options.js'

export interface AuthorizationCodeRecord {
  readonly code: string
  readonly clientId: string
  readonly userId: number
  readonly scopes: readonly string[]
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly expiresAt: number
  /** Shared by every token issued from this code and its rotations, so code reuse can revoke them all. */
  readonly familyId: string
  used: boolean
}

export interface AccessTokenRecord {
  readonly token: string
  readonly clientId: string
  /** Null for client_credentials tokens, which act for the client alone. */
  readonly userId: number | null
  readonly scopes: readonly string[]
  readonly expiresAt: number
  readonly familyId: string | null
  refreshToken: string | null
  revoked: boolean
}

export interface RefreshTokenRecord {
  readonly token: string
  readonly clientId: string
  readonly userId: number
  /** Scope of the original grant. A narrowed refresh keeps it (RFC 6749 §6). */
  readonly scopes: readonly string[]
  readonly expiresAt: number
  readonly familyId: string
  accessToken: string
  revoked: boolean
}

export interface IssuedTokens {
  readonly accessToken: AccessTokenRecord
  readonly refreshToken: RefreshTokenRecord | null
}

export interface TokenLedgerSettings {
  readonly now: () => number
  readonly accessTokenTtlMs: number
  readonly refreshTokenTtlMs: number
  readonly codeTtlMs: number
  readonly generateToken: (kind: DevProviderTokenKind) => string
}

interface UserTokenInput {
  readonly clientId: string
  readonly userId: number
  readonly scopes: readonly string[]
  readonly familyId: string
}

/** In-memory authorization codes, access tokens and refresh tokens, with their revocation state. */
export class TokenLedger {
  readonly #codes = new Map<string, AuthorizationCodeRecord>()
  readonly #accessTokens = new Map<string, AccessTokenRecord>()
  readonly #refreshTokens = new Map<string, RefreshTokenRecord>()
  readonly #settings: TokenLedgerSettings

  constructor (settings: TokenLedgerSettings) {
    this.#settings = settings
  }

  issueCode (input: Omit<AuthorizationCodeRecord, 'code' | 'expiresAt' | 'familyId' | 'used'>): AuthorizationCodeRecord {
    const record: AuthorizationCodeRecord = {
      ...input,
      code: this.#newValue('authorization_code', this.#codes),
      expiresAt: this.#settings.now() + this.#settings.codeTtlMs,
      familyId: randomUUID(),
      used: false
    }
    this.#codes.set(record.code, record)
    return record
  }

  findCode (code: string): AuthorizationCodeRecord | undefined {
    return this.#codes.get(code)
  }

  /** Issues an access token and, when `withRefreshToken` is set, a refresh token linked to it. */
  issueUserTokens (input: UserTokenInput, withRefreshToken: boolean): IssuedTokens {
    const accessToken = this.#issueAccessToken(input.clientId, input.userId, input.scopes, input.familyId)
    if (!withRefreshToken) return { accessToken, refreshToken: null }

    const refreshToken = this.#issueRefreshToken(input, accessToken.token)
    accessToken.refreshToken = refreshToken.token
    return { accessToken, refreshToken }
  }

  /** Issues a client_credentials access token: no user and no refresh token. */
  issueClientToken (clientId: string, scopes: readonly string[]): AccessTokenRecord {
    return this.#issueAccessToken(clientId, null, scopes, null)
  }

  /**
   * Exchanges a refresh token, revoking the access token it was linked to. With `rotate` the old
   * refresh token is revoked and a new one issued, as Passport does. Without it the old refresh
   * token stays valid and is linked to the new access token, like a provider that does not rotate.
   */
  refresh (old: RefreshTokenRecord, accessScopes: readonly string[], rotate: boolean): IssuedTokens {
    const oldAccessToken = this.#accessTokens.get(old.accessToken)
    if (oldAccessToken !== undefined) oldAccessToken.revoked = true

    const accessToken = this.#issueAccessToken(old.clientId, old.userId, accessScopes, old.familyId)
    if (!rotate) {
      accessToken.refreshToken = old.token
      old.accessToken = accessToken.token
      return { accessToken, refreshToken: null }
    }

    old.revoked = true
    const refreshToken = this.#issueRefreshToken(old, accessToken.token)
    accessToken.refreshToken = refreshToken.token
    return { accessToken, refreshToken }
  }

  findAccessToken (token: string): AccessTokenRecord | undefined {
    return this.#accessTokens.get(token)
  }

  findRefreshToken (token: string): RefreshTokenRecord | undefined {
    return this.#refreshTokens.get(token)
  }

  isExpired (record: { readonly expiresAt: number }): boolean {
    return this.#settings.now() >= record.expiresAt
  }

  isAccessTokenActive (token: string): boolean {
    const record = this.#accessTokens.get(token)
    return record !== undefined && !record.revoked && !this.isExpired(record)
  }

  /** Revokes an access token and the refresh token linked to it. */
  revokeAccessToken (record: AccessTokenRecord): void {
    record.revoked = true
    if (record.refreshToken === null) return
    const refreshToken = this.#refreshTokens.get(record.refreshToken)
    if (refreshToken !== undefined) refreshToken.revoked = true
  }

  /** Revokes every token issued from one authorization code, rotations included (RFC 6749 §4.1.2). */
  revokeFamily (familyId: string): void {
    for (const record of this.#accessTokens.values()) {
      if (record.familyId === familyId) record.revoked = true
    }
    for (const record of this.#refreshTokens.values()) {
      if (record.familyId === familyId) record.revoked = true
    }
  }

  activeRefreshTokenCount (userId: number): number {
    let count = 0
    for (const record of this.#refreshTokens.values()) {
      if (record.userId === userId && !record.revoked && !this.isExpired(record)) count += 1
    }
    return count
  }

  /**
   * Forgets expired records. Codes are kept for one refresh token lifetime after they expire, so
   * that a late replay still revokes the tokens issued from the code, and an expired code is
   * reported as expired rather than unknown.
   */
  deleteExpired (): void {
    const now = this.#settings.now()
    for (const [code, record] of this.#codes) {
      if (now >= record.expiresAt + this.#settings.refreshTokenTtlMs) this.#codes.delete(code)
    }
    for (const [token, record] of this.#accessTokens) {
      if (now >= record.expiresAt) this.#accessTokens.delete(token)
    }
    for (const [token, record] of this.#refreshTokens) {
      if (now >= record.expiresAt) this.#refreshTokens.delete(token)
    }
  }

  #issueAccessToken (clientId: string, userId: number | null, scopes: readonly string[], familyId: string | null): AccessTokenRecord {
    const record: AccessTokenRecord = {
      token: this.#newValue('access_token', this.#accessTokens),
      clientId,
      userId,
      scopes: [...scopes],
      expiresAt: this.#settings.now() + this.#settings.accessTokenTtlMs,
      familyId,
      refreshToken: null,
      revoked: false
    }
    this.#accessTokens.set(record.token, record)
    return record
  }

  #issueRefreshToken (input: UserTokenInput, accessToken: string): RefreshTokenRecord {
    const record: RefreshTokenRecord = {
      token: this.#newValue('refresh_token', this.#refreshTokens),
      clientId: input.clientId,
      userId: input.userId,
      scopes: [...input.scopes],
      expiresAt: this.#settings.now() + this.#settings.refreshTokenTtlMs,
      familyId: input.familyId,
      accessToken,
      revoked: false
    }
    this.#refreshTokens.set(record.token, record)
    return record
  }

  #newValue (kind: DevProviderTokenKind, existing: ReadonlyMap<string, unknown>): string {
    const value = this.#settings.generateToken(kind)
    if (typeof value !== 'string' || value === '' || existing.has(value)) {
      throw new DevProviderOptionError('generateToken', `returned an empty or repeated ${kind}; every value must be new`)
    }
    return value
  }
}
