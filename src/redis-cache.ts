import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { ChainableCommander, Redis } from 'ioredis'
import type { RedisClient } from './tokens/redis-store.js'

/*
 * A read cache in process memory for session and grant records, kept correct by Redis itself
 * (server-assisted client-side caching, Redis 6 and later). A dedicated connection turns on
 * `CLIENT TRACKING ... BCAST PREFIX` for the tracked key prefixes and redirects the
 * invalidation messages to a second, subscribed connection. Redis then reports every change of
 * a tracked key (write, delete, expiry, eviction, flush) by any client to every instance, which
 * drops its copy. A guarded request in steady state then reads nothing from Redis.
 *
 * Rules that keep it correct:
 * - Nothing is served from the cache unless both connections are up and tracking is on.
 *   A lost connection empties the cache and turns it off until tracking is on again.
 * - A read fills the cache only when tracking was on for the whole read and no invalidation
 *   arrived meanwhile (a generation counter), because the invalidation and the reply come on
 *   different connections and their order is not fixed.
 * - A heartbeat key under a tracked prefix is written every `heartbeatMs`, and its invalidation
 *   proves the whole path works. When none arrives for three to four beats, the cache turns off.
 * - Writers of this process invalidate their keys before and after each write, so this
 *   process reads its own writes without waiting for Redis.
 * - An entry lives at most as long as its key in Redis, and at most `maxAgeMs`.
 *
 * NOTE: between a change in Redis and the arrival of its invalidation message (about one Redis
 * round trip), other processes still serve their old copy, for example of a logged-out session.
 */

const CHANNEL = '__redis__:invalidate'

export interface RedisReadCacheOptions {
  /** Upper bound on cached records; the oldest are dropped beyond it. Default 100000. */
  maxEntries?: number
  /** Maximum time a record is served from memory, in milliseconds. Default 60000. */
  maxAgeMs?: number
  /** Interval of the heartbeat that proves invalidations arrive, in milliseconds. Default 1000. */
  heartbeatMs?: number
}

interface Entry {
  readonly value: unknown
  readonly expiresAt: number
}

/** The result of a cache miss read from Redis: the value (null when the key is missing) and the key's PTTL. */
export interface CacheFill<T> {
  readonly value: T | null
  readonly ttlMs: number
}

export class RedisReadCache {
  readonly #client: Redis
  /** The client's ioredis `keyPrefix`. Redis stores and reports keys with it, but the stores name them without it. */
  readonly #keyPrefix: string
  readonly #maxEntries: number
  readonly #maxAgeMs: number
  readonly #heartbeatMs: number
  readonly #instanceId = randomBytes(9).toString('base64url')
  readonly #entries = new Map<string, Entry>()
  #prefixes: string[] = []
  #log: FastifyBaseLogger | undefined
  #listener: Redis | undefined
  #control: Redis | undefined
  #listenerId: number | null = null
  #enabled = false
  /** Bumped by every invalidation; a read started in an older generation does not fill the cache. */
  #generation = 0
  #lastHeartbeatAt = 0
  #heartbeat: NodeJS.Timeout | undefined
  #steps: Promise<void> = Promise.resolve()
  #pendingSteps = 0
  #failing = false
  #closed = false
  readonly #onClientEnd = (): void => { closeReadCache(this.#client) }

  constructor (client: Redis, options: RedisReadCacheOptions = {}) {
    this.#client = client
    this.#keyPrefix = client.options.keyPrefix ?? ''
    this.#maxEntries = options.maxEntries ?? 100_000
    this.#maxAgeMs = options.maxAgeMs ?? 60_000
    this.#heartbeatMs = options.heartbeatMs ?? 1000
  }

  /** True while records are served from memory. */
  get enabled (): boolean {
    return this.#enabled
  }

  get size (): number {
    return this.#entries.size
  }

  /** Sets the logger for state changes, unless one is set already. */
  useLog (log: FastifyBaseLogger): void {
    this.#log ??= log
  }

  /** Adds a key prefix to track and starts the cache on first use. */
  track (prefix: string): void {
    if (this.#closed) return
    const prefixes = normalisePrefixes([...this.#prefixes, prefix])
    if (prefixes.join('\n') === this.#prefixes.join('\n')) return
    this.#prefixes = prefixes
    if (this.#listener === undefined) this.#start()
    else this.#step(async () => { await this.#enableTracking() })
  }

  /** The cached value of `key`, or undefined when it must be read from Redis. */
  peek<T> (key: string): T | undefined {
    if (!this.#enabled) return undefined
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt > Date.now()) return entry.value as T
    this.#entries.delete(key)
    return undefined
  }

  /** Reads `key` with `fetch` and keeps the result when no invalidation raced with the read. */
  async fill<T> (key: string, fetch: () => Promise<CacheFill<T>>): Promise<T | null> {
    // Only a read made entirely while tracking was on, with no invalidation in between, is kept.
    const trackedAtStart = this.#enabled
    const generation = this.#generation
    // The key's TTL counts from about when Redis read it, so the entry's lifetime counts from before the read.
    const readAt = Date.now()
    const { value, ttlMs } = await fetch()
    if (value === null || !trackedAtStart || !this.#enabled || generation !== this.#generation) return value
    // PTTL is -1 for a key without expiry and -2 for a missing key.
    if (ttlMs === -2) return value
    const lifetime = ttlMs < 0 ? this.#maxAgeMs : Math.min(ttlMs, this.#maxAgeMs)
    this.#entries.set(key, { value, expiresAt: readAt + lifetime })
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string)
    return value
  }

  /** Drops `key` and keeps reads in flight from filling the cache. Writers call it before and after writing. */
  invalidate (key: string): void {
    this.#generation += 1
    this.#entries.delete(key)
  }

  /** Closes both connections at once. The client passed in is left alone. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#disable(null)
    clearInterval(this.#heartbeat)
    this.#client.removeListener('end', this.#onClientEnd)
    // disconnect, not quit: neither connection has a reply worth waiting for, and a frozen Redis would never send one.
    this.#listener?.disconnect()
    this.#control?.disconnect()
  }

  #start (): void {
    // Nothing is resent or resubscribed after a reconnect: the set-up steps redo it in order.
    const overrides = { lazyConnect: false, enableAutoPipelining: false, enableOfflineQueue: true, autoResubscribe: false, autoResendUnfulfilledCommands: false }
    // RESP2: invalidations then arrive as Pub/Sub messages, which ioredis delivers as events.
    const listener = this.#client.duplicate({ ...overrides, protocol: 2, connectionName: 'mubarokah-cache-listener' })
    const control = this.#client.duplicate({ ...overrides, connectionName: 'mubarokah-cache-control' })
    this.#listener = listener
    this.#control = control

    listener.on('messageBuffer', (channel: Buffer, keys: Buffer[] | null) => { this.#onInvalidate(channel, keys) })
    listener.on('ready', () => { this.#step(async () => { await this.#subscribe() }) })
    control.on('ready', () => { this.#step(async () => { await this.#enableTracking() }) })
    for (const connection of [listener, control]) {
      // The error is logged by the disable below; this listener only keeps ioredis from printing it.
      connection.on('error', () => {})
      connection.on('close', () => {
        if (connection === listener) this.#listenerId = null
        this.#disable('connection lost')
      })
    }
    this.#client.once('end', this.#onClientEnd)

    this.#heartbeat = setInterval(() => { this.#beat() }, this.#heartbeatMs)
    this.#heartbeat.unref()
  }

  /** Runs the set-up steps one at a time, in order. A failure is logged once until a step succeeds. */
  #step (run: () => Promise<void>): void {
    this.#pendingSteps += 1
    this.#steps = this.#steps.then(run).then(() => {
      this.#failing = false
    }, (error: unknown) => {
      this.#disable(null)
      if (!this.#failing) this.#log?.warn({ event: 'redis_cache_setup_failed', err: error }, 'redis read cache could not start tracking; reading from redis')
      this.#failing = true
    }).finally(() => { this.#pendingSteps -= 1 })
  }

  async #subscribe (): Promise<void> {
    const listener = this.#listener
    if (listener === undefined || this.#closed) return
    this.#disable(null)
    this.#listenerId = null
    const id = await listener.client('ID')
    await listener.subscribe(CHANNEL)
    this.#listenerId = Number(id)
    await this.#enableTracking()
  }

  async #enableTracking (): Promise<void> {
    const control = this.#control
    const listenerId = this.#listenerId
    if (control?.status !== 'ready' || listenerId === null || this.#closed) return
    this.#disable(null)
    await control.call('CLIENT', 'TRACKING', 'off')
    const prefixArgs = this.#prefixes.flatMap((prefix) => ['PREFIX', this.#keyPrefix + prefix])
    await control.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(listenerId), 'BCAST', ...prefixArgs)
    // Either connection may have dropped while the commands were in flight; then a later step starts again.
    const unchanged = this.#listenerId === listenerId && this.#listener?.status === 'ready' && control.status === 'ready'
    if (!unchanged || this.#closed) return
    this.#lastHeartbeatAt = Date.now()
    // Reads sent before tracking was on may have missed an invalidation: they must not fill the cache.
    this.#generation += 1
    this.#enabled = true
    this.#log?.info({ event: 'redis_cache_enabled', prefixes: this.#prefixes }, 'redis read cache on')
  }

  #onInvalidate (channel: Buffer, keys: Buffer[] | null): void {
    if (channel.toString() !== CHANNEL) return
    this.#generation += 1
    // A null key list means the database was flushed.
    if (!Array.isArray(keys)) {
      this.#entries.clear()
      return
    }
    const heartbeatKey = this.#heartbeatKey()
    for (const key of keys) {
      const fullName = key.toString()
      const name = fullName.startsWith(this.#keyPrefix) ? fullName.slice(this.#keyPrefix.length) : fullName
      if (name === heartbeatKey) this.#lastHeartbeatAt = Date.now()
      else this.#entries.delete(name)
    }
  }

  #beat (): void {
    const listener = this.#listener
    const control = this.#control
    if (this.#closed || listener === undefined || control === undefined) return
    if (this.#enabled && Date.now() - this.#lastHeartbeatAt > 3 * this.#heartbeatMs) {
      this.#disable('heartbeat lost')
      // A subscribed connection cannot run CLIENT ID; a new one subscribes again and tracking follows.
      listener.disconnect(true)
      return
    }
    if (this.#pendingSteps > 0 || control.status !== 'ready') return
    if (!this.#enabled) {
      // A set-up step failed earlier: retry it, from a fresh listener connection if it never subscribed.
      if (this.#listenerId !== null) this.#step(async () => { await this.#enableTracking() })
      else if (listener.status === 'ready') listener.disconnect(true)
      return
    }
    control.set(this.#heartbeatKey(), '1', 'PX', 10 * this.#heartbeatMs).catch(() => {})
  }

  #heartbeatKey (): string {
    return `${this.#prefixes[0] ?? ''}~cache-heartbeat:${this.#instanceId}`
  }

  #disable (reason: string | null): void {
    this.#generation += 1
    this.#entries.clear()
    if (!this.#enabled) return
    this.#enabled = false
    if (reason !== null) this.#log?.warn({ event: 'redis_cache_disabled', reason }, 'redis read cache off; reading from redis until tracking is back')
  }
}

/** Drops prefixes covered by a shorter one: Redis refuses overlapping BCAST prefixes. */
function normalisePrefixes (prefixes: string[]): string[] {
  const sorted = [...new Set(prefixes)].sort((left, right) => left.length - right.length)
  const kept: string[] = []
  for (const prefix of sorted) if (!kept.some((shorter) => prefix.startsWith(shorter))) kept.push(prefix)
  return kept.sort()
}

/**
 * Reads `key` with `command` and its PTTL in one MULTI, so the TTL belongs to the value read.
 * Stores use it as their `fill` fetch.
 */
export async function readWithTtl<T> (redis: RedisClient, key: string, command: (multi: ChainableCommander) => ChainableCommander): Promise<CacheFill<T>> {
  const replies = await command(redis.multi()).pttl(key).exec() ?? []
  const [[valueError, value], [ttlError, ttlMs]] = replies as [[Error | null, T | null], [Error | null, number]]
  if (valueError !== null) throw valueError
  if (ttlError !== null) throw ttlError
  return { value, ttlMs }
}

const shared = new WeakMap<object, RedisReadCache | null>()

/**
 * Returns the read cache of an ioredis client, shared by the stores that use it (one pair of
 * extra connections per client). Returns null for a Redis Cluster, because tracking redirection
 * works per node, so the stores read from Redis there.
 */
export function readCacheFor (client: RedisClient): RedisReadCache | null {
  const existing = shared.get(client)
  if (existing !== undefined) return existing
  const cache = client.isCluster ? null : new RedisReadCache(client as Redis)
  shared.set(client, cache)
  return cache
}

/**
 * Closes the shared read cache of `client`, if one was started; a later `readCacheFor` starts a
 * new one. The plugin calls it when the app closes; the cache also closes when the client ends.
 */
export function closeReadCache (client: RedisClient): void {
  const cache = shared.get(client)
  shared.delete(client)
  cache?.close()
}
