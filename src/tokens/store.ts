/*
 * The storage contract behind grants, login transactions and refresh coordination.
 *
 * A store keeps opaque strings: encryption and the record format live in `records.ts`,
 * so the memory and Redis stores hold byte-for-byte the same data. Every method that
 * could race with another instance is atomic in the store itself.
 */

/** A grant as the store keeps it: the encoded record plus a revision for compare-and-set. */
export interface StoredGrant {
  readonly grantId: string
  readonly userId: string
  /** Increases by one on every successful replace; a writer must name the revision it read. */
  readonly revision: number
  readonly data: string
}

export type ReplaceResult = 'ok' | 'conflict' | 'missing'

/** A pending login, keyed by its `state`. */
export interface StoredTransaction {
  /** SHA-256 of the login cookie value, so the store never contains the cookie itself. */
  readonly bindingHash: string
  readonly data: string
}

/** The outcome of trying to claim a login transaction for a callback. */
export type ClaimResult =
  | { readonly status: 'claimed', readonly data: string }
  | { readonly status: 'unknown' }
  | { readonly status: 'mismatch' }
  /** Claimed earlier by the same browser; `outcome` is set once that request finished. */
  | { readonly status: 'already-claimed', readonly outcome: string | null }

/** A held lock; `release` deletes it only if this holder still owns it. */
export interface Lock {
  release(): Promise<void>
}

/** A counter in a fixed window, for rate limits. */
export interface HitResult {
  readonly count: number
  /** Milliseconds until the window resets. */
  readonly resetMs: number
}

export interface TokenStore {
  /**
   * Reads a grant, or null when it does not exist or has expired. With `fresh`, a store that
   * caches reads must read the stored record: the refresh decides on it which refresh token to spend.
   */
  getGrant(grantId: string, options?: { fresh?: boolean }): Promise<StoredGrant | null>
  /** Stores a new grant at revision 1 and adds it to the user's index. */
  createGrant(grant: { grantId: string, userId: string, data: string }, ttlMs: number): Promise<void>
  /** Replaces a grant only if its revision is still `expectedRevision`; never recreates a deleted grant. */
  replaceGrant(grantId: string, expectedRevision: number, data: string, ttlMs: number): Promise<ReplaceResult>
  /**
   * Deletes a grant and its index entry; returns whether it was deleted. With `expectedRevision`
   * it deletes only that revision, so a stale reader cannot end a grant another instance renewed.
   */
  deleteGrant(grantId: string, expectedRevision?: number): Promise<boolean>
  /** Lists the grant ids of a user that still exist. */
  listUserGrants(userId: string): Promise<string[]>

  /**
   * Stores a login transaction. At most `maxPerBinding` transactions stay pending per browser
   * binding; the oldest are dropped first.
   */
  createTransaction(state: string, transaction: StoredTransaction, ttlMs: number, maxPerBinding: number): Promise<void>
  /**
   * Claims a transaction for a callback, atomically and at most once. A browser binding that does
   * not match leaves the transaction untouched; a claimed one is kept for `claimTtlMs` so that a
   * repeated callback from the same browser can learn the outcome.
   */
  claimTransaction(state: string, bindingHash: string, claimTtlMs: number): Promise<ClaimResult>
  /** Records how a claimed transaction ended, for a repeated callback to read. */
  finishTransaction(state: string, outcome: string, ttlMs: number): Promise<void>

  /** Takes a lock if free (`SET NX PX`), or returns null. */
  acquireLock(name: string, ttlMs: number): Promise<Lock | null>
  /** Tells whether a lock is currently held by anyone. */
  isLocked(name: string): Promise<boolean>
  /** Counts one hit in a window of `windowMs` starting at the first hit. */
  hit(key: string, windowMs: number): Promise<HitResult>
  /** Sets a short-lived marker, e.g. a refresh backoff shared by every instance. */
  setMarker(key: string, value: string, ttlMs: number): Promise<void>
  /** Reads a marker and its remaining lifetime, or null. */
  getMarker(key: string): Promise<{ value: string, ttlMs: number } | null>

  /** Releases timers or connections the store created itself. */
  close?(): Promise<void>
}
