import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { retryAfterOf } from '../errors.js'
import { isDefinitiveRejection, type MubarokahOAuthClient } from '../oauth/client.js'
import { providerDetails } from '../oauth/http.js'
import type { TokenSet } from '../oauth/normalize.js'
import type { MubarokahUser } from '../types.js'
import type { FernetKeyRing } from './fernet.js'
import type { Grant} from './records.js';
import { decodeGrant, encodeGrant, RecordUnreadableError, type GrantContent } from './records.js'
import type { TokenStore } from './store.js'

export interface GrantManagerSettings {
  readonly store: TokenStore
  readonly keys: FernetKeyRing
  readonly client: MubarokahOAuthClient
  readonly log: FastifyBaseLogger
  readonly refreshWindowMs: number
  readonly grantTtlMs: number
  /** Lock lifetime in milliseconds. The plugin sets it above the provider timeout, so a holder that is not stalled keeps it for its whole call. */
  readonly lockTtlMs: number
  /** Maximum wait for another instance's refresh, in milliseconds. */
  readonly refreshWaitMs: number
  readonly now?: () => number
}

/** The result of a refresh attempt, as the caller sees it. */
export type RefreshOutcome =
  /** The grant now has a token outside the refresh window (refreshed here or by another instance). */
  | { readonly kind: 'fresh', readonly grant: Grant }
  /** The provider definitively rejected the grant, or it was deleted (logout); log in again. */
  | { readonly kind: 'ended' }
  /** The provider or the coordination failed for now; the grant is kept unchanged. */
  | { readonly kind: 'transient', readonly grant: Grant, readonly retryAfterSeconds: number }

/** The reason for a refresh: the window opened, or the provider rejected the access token. */
export type RefreshReason = 'window' | 'rejected'

/**
 * Cap of the exponential backoff after transient refresh failures (1, 2, 4, 8, 10 s). It is short
 * because a user whose token has expired gets 503 until a refresh succeeds. A Retry-After from the
 * provider is honoured up to an hour (see parseRetryAfter).
 */
const MAX_BACKOFF_SECONDS = 10
const DECODED_CACHE_ENTRIES = 10_000

/**
 * Grants (one per login) over a token store, and the single-flight refresh.
 *
 * Passport refresh tokens are single use, so two concurrent refreshes of one grant would
 * revoke each other and log the user out. Refreshes of a grant are therefore serialised.
 * Callers in this process share one promise, and instances share a store lock (`SET NX PX`).
 * The others wait for a bounded time and re-read the record the winner wrote.
 */
export class GrantManager {
  readonly #settings: GrantManagerSettings
  readonly #now: () => number
  readonly #inflight = new Map<string, Promise<RefreshOutcome>>()
  readonly #failures = new Map<string, number>()
  /** Recently decoded grants by id, reused while the stored revision and data are unchanged. */
  readonly #decoded = new Map<string, Grant>()
  #unreadableWarned = false

  constructor (settings: GrantManagerSettings) {
    this.#settings = settings
    this.#now = settings.now ?? Date.now
  }

  /** Creates a grant for a completed login and returns it. `requestedScopes` defaults to the granted ones. */
  async create (user: MubarokahUser, tokens: TokenSet, requestedScopes: readonly string[] = tokens.scopes): Promise<Grant> {
    const now = this.#now()
    const grantId = randomBytes(18).toString('base64url')
    const content: GrantContent = {
      user,
      scopes: tokens.scopes,
      requestedScopes,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: now + tokens.expiresIn * 1000,
      issuedAt: now,
      createdAt: now
    }
    const data = encodeGrant(this.#settings.keys, content)
    await this.#settings.store.createGrant({ grantId, userId: user.id, data }, this.#settings.grantTtlMs)
    return decodeGrant(this.#settings.keys, { grantId, userId: user.id, revision: 1, data })
  }

  /**
   * Reads a grant. Returns null when it does not exist, and also when it cannot be read
   * (corrupt, or encrypted with a key no longer configured): that login simply has to start again.
   * With `fresh`, a store's read cache is bypassed; the refresh reads this way before it decides.
   */
  async load (grantId: string, options: { fresh?: boolean } = {}): Promise<Grant | null> {
    const stored = await this.#settings.store.getGrant(grantId, options)
    if (stored === null) return null
    const cached = this.#decoded.get(grantId)
    if (cached !== undefined && cached.revision === stored.revision && cached.encoded === stored.data) return cached
    try {
      const grant = decodeGrant(this.#settings.keys, stored)
      if (this.#decoded.size >= DECODED_CACHE_ENTRIES) this.#decoded.delete(this.#decoded.keys().next().value as string)
      this.#decoded.set(grantId, grant)
      return grant
    } catch (error) {
      if (!(error instanceof RecordUnreadableError)) throw error
      this.#warnUnreadable(grantId, error)
      return null
    }
  }

  /** Ends one grant. Returns whether it existed. */
  async end (grantId: string): Promise<boolean> {
    return await this.#settings.store.deleteGrant(grantId)
  }

  /** Ends every grant of a user. Returns how many were ended. */
  async endUser (userId: string): Promise<number> {
    const grantIds = await this.#settings.store.listUserGrants(userId)
    let ended = 0
    for (const grantId of grantIds) if (await this.end(grantId)) ended += 1
    return ended
  }

  /** Lists the grant ids of a user (one per device that is logged in). */
  async listUser (userId: string): Promise<string[]> {
    return await this.#settings.store.listUserGrants(userId)
  }

  /**
   * Tells whether the access token should be refreshed now. The window is capped at half the
   * token's lifetime, so a provider that issues short tokens does not cause a refresh per request.
   */
  needsRefresh (grant: Grant): boolean {
    const lifetime = grant.expiresAt - grant.issuedAt
    const window = Math.min(this.#settings.refreshWindowMs, lifetime / 2)
    return grant.expiresAt - this.#now() <= window
  }

  /** Tells whether the access token has not expired yet, going by the stored expiry time. */
  isUsable (grant: Grant): boolean {
    return grant.expiresAt > this.#now()
  }

  /** Writes the grant again under the primary key after a key rotation. Losing a race here is harmless. */
  async reencrypt (grant: Grant): Promise<Grant> {
    const data = encodeGrant(this.#settings.keys, grant.content())
    const result = await this.#settings.store.replaceGrant(grant.grantId, grant.revision, data, this.#settings.grantTtlMs)
    if (result !== 'ok') return grant
    this.#settings.log.info({ event: 'grant_reencrypted', grantId: grant.grantId, userId: grant.userId }, 'grant re-encrypted with the primary key')
    return decodeGrant(this.#settings.keys, { grantId: grant.grantId, userId: grant.userId, revision: grant.revision + 1, data })
  }

  /**
   * Refreshes a grant at most once at a time across every instance sharing the store.
   * `seen` is the grant as the caller read it; with reason `rejected` (the provider refused its
   * access token) any newer revision is taken as the answer instead of refreshing again.
   */
  async refresh (seen: Grant, reason: RefreshReason): Promise<RefreshOutcome> {
    const running = this.#inflight.get(seen.grantId)
    if (running !== undefined) return await running

    const attempt = this.#refreshAcrossInstances(seen, reason)
      .finally(() => this.#inflight.delete(seen.grantId))
    this.#inflight.set(seen.grantId, attempt)
    return await attempt
  }

  async #refreshAcrossInstances (seen: Grant, reason: RefreshReason): Promise<RefreshOutcome> {
    const deadline = this.#now() + this.#settings.refreshWaitMs
    let current = seen
    let pause = 20

    for (;;) {
      const backoff = await this.#settings.store.getMarker(backoffKey(current.grantId))
      if (backoff !== null) return { kind: 'transient', grant: current, retryAfterSeconds: Math.ceil(backoff.ttlMs / 1000) }

      const lock = await this.#settings.store.acquireLock(lockName(current.grantId), this.#settings.lockTtlMs)
      if (lock !== null) {
        try {
          return await this.#refreshHoldingLock(current, reason)
        } finally {
          await lock.release().catch((error: unknown) => {
            this.#settings.log.warn({ event: 'refresh_lock_release_failed', grantId: current.grantId, err: error }, 'refresh lock release failed; it expires by itself')
          })
        }
      }

      // Another instance is refreshing: wait for the record it writes.
      await sleep(pause)
      pause = Math.min(pause * 2, 200)
      const latest = await this.load(current.grantId, { fresh: true })
      if (latest === null) return { kind: 'ended' }
      if (latest.revision !== current.revision) {
        if (!this.#stillNeedsRefresh(latest, reason)) return { kind: 'fresh', grant: latest }
        current = latest
      }
      if (this.#now() >= deadline) {
        this.#settings.log.warn({ event: 'refresh_wait_timeout', grantId: current.grantId, userId: current.userId }, 'gave up waiting for another instance to refresh')
        return { kind: 'transient', grant: current, retryAfterSeconds: 1 }
      }
    }
  }

  #stillNeedsRefresh (grant: Grant, reason: RefreshReason): boolean {
    return reason === 'window' && this.needsRefresh(grant)
  }

  async #refreshHoldingLock (seen: Grant, reason: RefreshReason): Promise<RefreshOutcome> {
    // A cached copy may miss a refresh that another instance finished a moment ago.
    const current = await this.load(seen.grantId, { fresh: true })
    if (current === null) return { kind: 'ended' }
    if (current.revision !== seen.revision && !this.#stillNeedsRefresh(current, reason)) return { kind: 'fresh', grant: current }

    const refreshToken = current.refreshToken()
    if (refreshToken === null) {
      // Without a refresh token the login lasts as long as its access token.
      return this.isUsable(current) && reason === 'window' ? { kind: 'fresh', grant: current } : await this.#endRejected(current, 'no_refresh_token')
    }

    let tokens: TokenSet
    try {
      tokens = await this.#settings.client.refresh(refreshToken, current.scopes)
    } catch (error) {
      if (isDefinitiveRejection(error)) return await this.#endRejected(current, providerDetails(error)?.oauthError ?? 'rejected')
      return await this.#backOff(current, error)
    }
    this.#failures.delete(current.grantId)
    if (tokens.expiresInDefaulted) this.#settings.log.warn({ event: 'expires_in_defaulted', grantId: current.grantId }, 'refresh response had no usable expires_in; assumed the default lifetime')
    return await this.#storeRefreshed(current, tokens, refreshToken)
  }

  async #storeRefreshed (current: Grant, tokens: TokenSet, usedRefreshToken: string): Promise<RefreshOutcome> {
    const now = this.#now()
    const content: GrantContent = {
      user: current.user,
      scopes: tokens.scopes,
      requestedScopes: current.requestedScopes,
      accessToken: tokens.accessToken,
      // Keep the old refresh token only when the provider sent none (no rotation on this response).
      refreshToken: tokens.refreshToken ?? usedRefreshToken,
      expiresAt: now + tokens.expiresIn * 1000,
      issuedAt: now,
      createdAt: current.createdAt
    }
    const data = encodeGrant(this.#settings.keys, content)
    const result = await this.#settings.store.replaceGrant(current.grantId, current.revision, data, this.#settings.grantTtlMs)
    const ids = { grantId: current.grantId, userId: current.userId }

    if (result === 'missing') {
      // Logged out while the refresh was in flight: the new tokens must not bring the grant back.
      this.#settings.log.info({ event: 'refresh_discarded', ...ids }, 'grant ended during refresh; new tokens discarded')
      return { kind: 'ended' }
    }
    if (result === 'conflict') {
      const latest = await this.load(current.grantId, { fresh: true })
      this.#settings.log.warn({ event: 'refresh_conflict', ...ids }, 'grant changed while the refresh lock was held')
      return latest === null ? { kind: 'ended' } : { kind: 'fresh', grant: latest }
    }
    this.#settings.log.info({ event: 'refresh_succeeded', ...ids, expiresAt: content.expiresAt }, 'access token refreshed')
    return { kind: 'fresh', grant: decodeGrant(this.#settings.keys, { ...ids, revision: current.revision + 1, data }) }
  }

  async #endRejected (grant: Grant, oauthError: string): Promise<RefreshOutcome> {
    // Only the revision whose refresh token was rejected ends: if another instance renewed the
    // grant meanwhile (for example after this one stalled past its lock), its tokens win.
    if (!await this.#settings.store.deleteGrant(grant.grantId, grant.revision)) {
      const latest = await this.load(grant.grantId)
      if (latest !== null) return { kind: 'fresh', grant: latest }
    }
    this.#failures.delete(grant.grantId)
    this.#settings.log.info({ event: 'refresh_rejected', grantId: grant.grantId, userId: grant.userId, oauthError }, 'provider rejected the refresh token; grant ended')
    return { kind: 'ended' }
  }

  async #backOff (grant: Grant, error: unknown): Promise<RefreshOutcome> {
    const failures = (this.#failures.get(grant.grantId) ?? 0) + 1
    this.#failures.set(grant.grantId, failures)
    const seconds = retryAfterOf(error) ?? Math.min(MAX_BACKOFF_SECONDS, 2 ** (failures - 1))
    await this.#settings.store.setMarker(backoffKey(grant.grantId), String(failures), seconds * 1000).catch(() => {})

    const details = providerDetails(error)
    this.#settings.log.warn({
      event: 'refresh_failed',
      grantId: grant.grantId,
      userId: grant.userId,
      code: (error as { code?: string }).code,
      status: details?.status,
      contentType: details?.contentType,
      excerpt: details?.excerpt,
      retryAfterSeconds: seconds
    }, 'refresh failed for now; grant kept')
    return { kind: 'transient', grant, retryAfterSeconds: seconds }
  }

  #warnUnreadable (grantId: string, error: RecordUnreadableError): void {
    const entry = { event: 'grant_unreadable', grantId, reason: error.message }
    if (this.#unreadableWarned) {
      this.#settings.log.debug(entry, 'grant record unreadable; treated as logged out')
      return
    }
    this.#unreadableWarned = true
    this.#settings.log.warn(entry, 'grant record unreadable (was the encryption key removed?); treated as logged out')
  }
}

/** Lock names carry the grant's hash tag, so the lock shares a Redis Cluster slot with the grant. */
function lockName (grantId: string): string {
  return `{g:${grantId}}:refresh`
}

function backoffKey (grantId: string): string {
  return `{g:${grantId}}:backoff`
}

function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
