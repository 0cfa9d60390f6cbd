import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Session } from 'fastify'
import { StoreUnavailableError } from '../errors.js'
import { readCacheFor, readWithTtl, type RedisReadCache } from '../redis-cache.js'
import type { RedisClient } from '../tokens/redis-store.js'

/*
 * Session stores for @fastify/session (callback API). Both compute the record lifetime from
 * the session cookie's expiry, so a session never outlives its cookie, and both fall back to
 * `defaultTtlMs` for sessions without one.
 *
 * Both leave the cookie out of the stored record unless `persistCookie` is set. The record's
 * lifetime already ends when the cookie expires, which is the check @fastify/session makes
 * with a stored cookie, and rebuilding a stored cookie (date parsing and option merging) was
 * the largest part of a session read (BENCHMARKS.md). Without it, @fastify/session builds the
 * cookie from the options it was registered with.
 */

type Callback = (error?: unknown) => void
type GetCallback = (error: unknown, session?: Session | null) => void

export interface SessionStoreOptions {
  /** Lifetime of a session whose cookie has no expiry, in milliseconds. Default one day. */
  defaultTtlMs?: number
  /**
   * Store each session's cookie with it, so that cookie options set on one session with
   * `request.session.options()` survive later requests. Off by default: it makes every session
   * read slower, and sessions that use the registered cookie options do not need it.
   */
  persistCookie?: boolean
}

function ttlOf (session: Session, defaultTtlMs: number): number {
  const expires = session.cookie?.expires
  let at = Number.NaN
  if (expires instanceof Date) at = expires.getTime()
  else if (typeof expires === 'string') at = Date.parse(expires)
  if (!Number.isFinite(at)) return defaultTtlMs
  return Math.max(1000, at - Date.now())
}

/** Serializes a session to JSON, without its cookie unless `persistCookie` is set. */
function serialize (session: Session, persistCookie: boolean): string {
  if (persistCookie) return JSON.stringify(session)
  const data: Record<string, unknown> = {}
  for (const key of Object.keys(session)) {
    if (key !== 'cookie') data[key] = (session as unknown as Record<string, unknown>)[key]
  }
  return JSON.stringify(data)
}

export interface MemorySessionStoreOptions extends SessionStoreOptions {
  /** Upper bound on stored sessions; the least recently written are dropped beyond it. Default 100000. */
  maxEntries?: number
  /** How often expired sessions are swept, in milliseconds. Default 30000. */
  sweepIntervalMs?: number
}

/**
 * A bounded, expiring in-memory session store for one process. It keeps JSON text, not
 * objects, so a session read back is a copy, as with Redis.
 */
export class MemorySessionStore extends EventEmitter {
  readonly #sessions = new Map<string, { json: string, expiresAt: number }>()
  readonly #defaultTtlMs: number
  readonly #persistCookie: boolean
  readonly #maxEntries: number
  readonly #sweeper: NodeJS.Timeout

  constructor (options: MemorySessionStoreOptions = {}) {
    super()
    this.#defaultTtlMs = options.defaultTtlMs ?? 86_400_000
    this.#persistCookie = options.persistCookie ?? false
    this.#maxEntries = options.maxEntries ?? 100_000
    this.#sweeper = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000)
    this.#sweeper.unref()
  }

  get size (): number {
    return this.#sessions.size
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    this.#sessions.delete(sessionId)
    this.#sessions.set(sessionId, { json: serialize(session, this.#persistCookie), expiresAt: Date.now() + ttlOf(session, this.#defaultTtlMs) })
    for (const key of this.#sessions.keys()) {
      if (this.#sessions.size <= this.#maxEntries) break
      this.#sessions.delete(key)
    }
    callback()
  }

  get (sessionId: string, callback: GetCallback): void {
    const entry = this.#sessions.get(sessionId)
    if (entry === undefined || entry.expiresAt <= Date.now()) {
      if (entry !== undefined) this.#sessions.delete(sessionId)
      callback(null, null)
      return
    }
    callback(null, JSON.parse(entry.json) as Session)
  }

  destroy (sessionId: string, callback: Callback): void {
    this.#sessions.delete(sessionId)
    callback()
  }

  /** Drops expired sessions. */
  sweep (): void {
    const now = Date.now()
    for (const [sessionId, entry] of this.#sessions) if (entry.expiresAt <= now) this.#sessions.delete(sessionId)
  }

  close (): void {
    clearInterval(this.#sweeper)
  }
}

/** Parses a stored session; a corrupt record is no session, so the cookie is cleared and the user logs in again. */
function deliver (json: string | null, callback: GetCallback): void {
  if (json === null) {
    callback(null, null)
    return
  }
  let session: Session
  try {
    session = JSON.parse(json) as Session
  } catch {
    callback(null, null)
    return
  }
  callback(null, session)
}

export interface RedisSessionStoreOptions extends SessionStoreOptions {
  /** Key prefix. Default `mubarokah:sess:`. */
  keyPrefix?: string
  /**
   * Serve session reads from process memory, kept in step by Redis invalidation messages
   * (`CLIENT TRACKING`, Redis 6 or later; not on Redis Cluster). Uses two extra connections per
   * client, shared with the token store's cache. Default false.
   */
  localCache?: boolean
}

/**
 * A session store over ioredis: one `SET key json PX ttl` per save, one GET per read.
 * Redis failures become FST_MUBAROKAH_STORE_UNAVAILABLE (503), never "no session", so an
 * outage never looks like a logout and nothing is deleted because of it. Keys hold the SHA-256
 * of the session id, so a Redis dump does not list the ids that cookies carry.
 */
export class RedisSessionStore extends EventEmitter {
  readonly #redis: RedisClient
  readonly #prefix: string
  readonly #defaultTtlMs: number
  readonly #persistCookie: boolean
  readonly #cache: RedisReadCache | null

  constructor (redis: RedisClient, options: RedisSessionStoreOptions = {}) {
    super()
    this.#redis = redis
    this.#prefix = options.keyPrefix ?? 'mubarokah:sess:'
    this.#defaultTtlMs = options.defaultTtlMs ?? 86_400_000
    this.#persistCookie = options.persistCookie ?? false
    this.#cache = options.localCache === true ? readCacheFor(redis) : null
    this.#cache?.track(this.#prefix)
  }

  #key (sessionId: string): string {
    return this.#prefix + createHash('sha256').update(sessionId).digest('base64url')
  }

  set (sessionId: string, session: Session, callback: Callback): void {
    const key = this.#key(sessionId)
    const ttlMs = Math.ceil(ttlOf(session, this.#defaultTtlMs))
    this.#cache?.invalidate(key)
    this.#redis.set(key, serialize(session, this.#persistCookie), 'PX', ttlMs).then(() => {
      this.#cache?.invalidate(key)
      callback()
    }, (error: unknown) => { this.#fail(key, error, callback) })
  }

  get (sessionId: string, callback: GetCallback): void {
    const key = this.#key(sessionId)
    const cached = this.#cache?.peek<string>(key)
    if (cached !== undefined) {
      deliver(cached, callback)
      return
    }
    this.#read(key).then((json) => { deliver(json, callback) }, (error: unknown) => callback(new StoreUnavailableError({ cause: error })))
  }

  async #read (key: string): Promise<string | null> {
    if (this.#cache === null) return await this.#redis.get(key)
    return await this.#cache.fill(key, async () => await readWithTtl<string>(this.#redis, key, (multi) => multi.get(key)))
  }

  #fail (key: string, error: unknown, callback: Callback): void {
    // The write may have reached Redis before the failure; drop any copy either way.
    this.#cache?.invalidate(key)
    callback(new StoreUnavailableError({ cause: error }))
  }

  destroy (sessionId: string, callback: Callback): void {
    const key = this.#key(sessionId)
    this.#cache?.invalidate(key)
    this.#redis.del(key).then(() => {
      this.#cache?.invalidate(key)
      callback()
    }, (error: unknown) => { this.#fail(key, error, callback) })
  }
}
