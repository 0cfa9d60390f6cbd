import { randomUUID } from 'node:crypto'
import type { ClaimResult, HitResult, Lock, ReplaceResult, StoredGrant, StoredTransaction, TokenStore } from './store.js'

interface Entry<T> {
  value: T
  expiresAt: number
}

interface GrantEntry {
  userId: string
  revision: number
  data: string
}

interface TransactionEntry {
  bindingHash: string
  data: string
  claimed: boolean
  outcome: string | null
}

export interface MemoryTokenStoreOptions {
  /**
   * Upper bound on stored grants, and separately on short-lived entries (login transactions,
   * locks, counters); beyond it the least recently written are dropped. Default 100000.
   */
  maxEntries?: number
  /** How often expired entries are swept, in milliseconds. Default 30000. */
  sweepIntervalMs?: number
  /** Clock in epoch milliseconds. Default `Date.now`. */
  now?: () => number
}

/**
 * The embedded token store for a single process: bounded, expiring, and with the same
 * atomicity as the Redis store (every method runs to completion without yielding).
 * Everything is lost on restart, so use the Redis store when more than one process serves the app.
 */
export class MemoryTokenStore implements TokenStore {
  /** Grants, bounded on their own so that floods of short-lived entries cannot evict a login. */
  readonly #grants = new Map<string, Entry<unknown>>()
  /** Transactions, locks, counters and markers: short-lived, bounded separately. */
  readonly #ephemeral = new Map<string, Entry<unknown>>()
  readonly #userGrants = new Map<string, Set<string>>()
  readonly #bindingStates = new Map<string, string[]>()
  readonly #maxEntries: number
  readonly #now: () => number
  readonly #sweeper: NodeJS.Timeout

  constructor (options: MemoryTokenStoreOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000
    this.#now = options.now ?? Date.now
    this.#sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000)
    this.#sweeper.unref()
  }

  /** Number of live entries, for tests and memory benchmarks. */
  get size (): number {
    return this.#grants.size + this.#ephemeral.size
  }

  async getGrant (grantId: string): Promise<StoredGrant | null> {
    const grant = this.#read<GrantEntry>(`g:${grantId}`)
    return grant === undefined ? null : { grantId, userId: grant.userId, revision: grant.revision, data: grant.data }
  }

  async createGrant (grant: { grantId: string, userId: string, data: string }, ttlMs: number): Promise<void> {
    this.#write<GrantEntry>(`g:${grant.grantId}`, { userId: grant.userId, revision: 1, data: grant.data }, ttlMs)
    const grants = this.#userGrants.get(grant.userId) ?? new Set()
    grants.add(grant.grantId)
    this.#userGrants.set(grant.userId, grants)
  }

  async replaceGrant (grantId: string, expectedRevision: number, data: string, ttlMs: number): Promise<ReplaceResult> {
    const grant = this.#read<GrantEntry>(`g:${grantId}`)
    if (grant === undefined) return 'missing'
    if (grant.revision !== expectedRevision) return 'conflict'
    this.#write<GrantEntry>(`g:${grantId}`, { userId: grant.userId, revision: grant.revision + 1, data }, ttlMs)
    return 'ok'
  }

  async deleteGrant (grantId: string, expectedRevision?: number): Promise<boolean> {
    const grant = this.#read<GrantEntry>(`g:${grantId}`)
    if (grant === undefined) return false
    if (expectedRevision !== undefined && grant.revision !== expectedRevision) return false
    this.#grants.delete(`g:${grantId}`)
    this.#unindexGrant(grant.userId, grantId)
    return true
  }

  async listUserGrants (userId: string): Promise<string[]> {
    const grants = this.#userGrants.get(userId)
    if (grants === undefined) return []
    for (const grantId of grants) {
      if (this.#read(`g:${grantId}`) === undefined) grants.delete(grantId)
    }
    if (grants.size === 0) this.#userGrants.delete(userId)
    return [...grants]
  }

  async createTransaction (state: string, transaction: StoredTransaction, ttlMs: number, maxPerBinding: number): Promise<void> {
    this.#write<TransactionEntry>(`t:${state}`, { ...transaction, claimed: false, outcome: null }, ttlMs)

    const states = (this.#bindingStates.get(transaction.bindingHash) ?? [])
      .filter((pending) => this.#read(`t:${pending}`) !== undefined)
    states.push(state)
    while (states.length > maxPerBinding) this.#ephemeral.delete(`t:${states.shift() as string}`)
    this.#bindingStates.set(transaction.bindingHash, states)
  }

  async claimTransaction (state: string, bindingHash: string, claimTtlMs: number): Promise<ClaimResult> {
    const key = `t:${state}`
    const transaction = this.#read<TransactionEntry>(key)
    if (transaction === undefined) return { status: 'unknown' }
    if (transaction.bindingHash !== bindingHash) return { status: 'mismatch' }
    if (transaction.claimed) return { status: 'already-claimed', outcome: transaction.outcome }

    this.#write<TransactionEntry>(key, { ...transaction, claimed: true }, claimTtlMs)
    this.#forgetBindingState(bindingHash, state)
    return { status: 'claimed', data: transaction.data }
  }

  async finishTransaction (state: string, outcome: string, ttlMs: number): Promise<void> {
    const key = `t:${state}`
    const transaction = this.#read<TransactionEntry>(key)
    if (transaction === undefined || !transaction.claimed) return
    this.#write<TransactionEntry>(key, { ...transaction, data: '', outcome }, ttlMs)
  }

  async acquireLock (name: string, ttlMs: number): Promise<Lock | null> {
    const key = `l:${name}`
    if (this.#read(key) !== undefined) return null

    const owner = randomUUID()
    this.#write(key, owner, ttlMs)
    return {
      release: async () => {
        if (this.#read(key) === owner) this.#ephemeral.delete(key)
      }
    }
  }

  async isLocked (name: string): Promise<boolean> {
    return this.#read(`l:${name}`) !== undefined
  }

  async hit (key: string, windowMs: number): Promise<HitResult> {
    const entryKey = `c:${key}`
    const entry = this.#ephemeral.get(entryKey) as Entry<number> | undefined
    const now = this.#now()
    if (entry === undefined || entry.expiresAt <= now) {
      this.#write(entryKey, 1, windowMs)
      return { count: 1, resetMs: windowMs }
    }
    entry.value += 1
    return { count: entry.value, resetMs: entry.expiresAt - now }
  }

  async setMarker (key: string, value: string, ttlMs: number): Promise<void> {
    this.#write(`m:${key}`, value, ttlMs)
  }

  async getMarker (key: string): Promise<{ value: string, ttlMs: number } | null> {
    const entry = this.#ephemeral.get(`m:${key}`) as Entry<string> | undefined
    const now = this.#now()
    if (entry === undefined || entry.expiresAt <= now) return null
    return { value: entry.value, ttlMs: entry.expiresAt - now }
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
  }

  /** Drops every expired entry and the index entries that point at nothing. */
  sweep (): void {
    const now = this.#now()
    for (const entries of [this.#grants, this.#ephemeral]) {
      for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key)
    }
    for (const [userId, grants] of this.#userGrants) {
      for (const grantId of grants) if (!this.#grants.has(`g:${grantId}`)) grants.delete(grantId)
      if (grants.size === 0) this.#userGrants.delete(userId)
    }
    for (const [bindingHash, states] of this.#bindingStates) {
      const pending = states.filter((state) => this.#ephemeral.has(`t:${state}`))
      if (pending.length === 0) this.#bindingStates.delete(bindingHash)
      else this.#bindingStates.set(bindingHash, pending)
    }
  }

  #mapFor (key: string): Map<string, Entry<unknown>> {
    return key.startsWith('g:') ? this.#grants : this.#ephemeral
  }

  #read<T> (key: string): T | undefined {
    const entries = this.#mapFor(key)
    const entry = entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= this.#now()) {
      entries.delete(key)
      return undefined
    }
    return entry.value as T
  }

  #write<T> (key: string, value: T, ttlMs: number): void {
    const entries = this.#mapFor(key)
    // Deleting first moves the key to the end of the insertion order, so eviction drops the least recently written.
    entries.delete(key)
    entries.set(key, { value, expiresAt: this.#now() + ttlMs })
    if (entries.size > this.#maxEntries) this.#evict(entries)
  }

  /** Drops the least recently written entries; index entries pointing at them are cleaned lazily. */
  #evict (entries: Map<string, Entry<unknown>>): void {
    for (const key of entries.keys()) {
      if (entries.size <= this.#maxEntries) break
      entries.delete(key)
    }
  }

  #unindexGrant (userId: string, grantId: string): void {
    const grants = this.#userGrants.get(userId)
    grants?.delete(grantId)
    if (grants?.size === 0) this.#userGrants.delete(userId)
  }

  #forgetBindingState (bindingHash: string, state: string): void {
    const states = this.#bindingStates.get(bindingHash)
    if (states === undefined) return
    const remaining = states.filter((pending) => pending !== state)
    if (remaining.length === 0) this.#bindingStates.delete(bindingHash)
    else this.#bindingStates.set(bindingHash, remaining)
  }
}
