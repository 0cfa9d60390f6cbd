import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { StoreUnavailableError } from '../errors.js'
import { readCacheFor, readWithTtl, type RedisReadCache } from '../redis-cache.js'
import type { ClaimResult, HitResult, Lock, ReplaceResult, StoredGrant, StoredTransaction, TokenStore } from './store.js'

/** An ioredis client or cluster, as @fastify/redis decorates `fastify.redis`. */
export type RedisClient = Redis | Cluster

export interface RedisTokenStoreOptions {
  /** Prefix of every key, so several apps can share one Redis. Default `mubarokah:`. */
  keyPrefix?: string
  /**
   * Serve grant reads from process memory, kept in step by Redis invalidation messages
   * (see RedisSessionStoreOptions.localCache). Default false.
   */
  localCache?: boolean
}

/*
 * Key layout. Keys of one grant share the hash tag `{g:ID}` so that they land in one Redis
 * Cluster slot; every Lua script touches keys of a single slot only.
 *
 *   {prefix}{g:ID}           hash: rev, user, data          (the grant)
 *   {prefix}{u:USER}:grants  set of grant ids               (per-user index)
 *   {prefix}{t:STATE}        hash: binding, data, claimed, outcome (login transaction)
 *   {prefix}{b:HASH}:logins  sorted set of states by time   (pending logins per browser)
 *   {prefix}lock:NAME        lock owner                     (NAME carries its own hash tag)
 *   {prefix}hit:KEY          counter                        (rate limits)
 *   {prefix}mark:KEY         marker                         (refresh backoff)
 */

const SCRIPTS = {
  mubarokahCreateGrant: {
    numberOfKeys: 1,
    lua: `redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rev', 1, 'user', ARGV[1], 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`
  },
  mubarokahReplaceGrant: {
    numberOfKeys: 1,
    lua: `local rev = redis.call('HGET', KEYS[1], 'rev')
if not rev then return {'missing'} end
if tonumber(rev) ~= tonumber(ARGV[1]) then return {'conflict'} end
redis.call('HSET', KEYS[1], 'rev', tonumber(rev) + 1, 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'ok', redis.call('HGET', KEYS[1], 'user')}`
  },
  mubarokahDeleteGrant: {
    numberOfKeys: 1,
    lua: `local grant = redis.call('HMGET', KEYS[1], 'user', 'rev')
if not grant[1] then return false end
if ARGV[1] ~= '' and tonumber(grant[2]) ~= tonumber(ARGV[1]) then return false end
redis.call('DEL', KEYS[1])
return grant[1]`
  },
  mubarokahCreateTransaction: {
    numberOfKeys: 1,
    lua: `redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'binding', ARGV[1], 'data', ARGV[2], 'claimed', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`
  },
  mubarokahClaimTransaction: {
    numberOfKeys: 1,
    lua: `local t = redis.call('HMGET', KEYS[1], 'binding', 'claimed', 'outcome', 'data')
if not t[1] then return {'unknown'} end
if t[1] ~= ARGV[1] then return {'mismatch'} end
if t[2] == '1' then return {'already-claimed', t[3] or ''} end
redis.call('HSET', KEYS[1], 'claimed', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'claimed', t[4]}`
  },
  mubarokahFinishTransaction: {
    numberOfKeys: 1,
    lua: `if redis.call('HGET', KEYS[1], 'claimed') ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'outcome', ARGV[1], 'data', '')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`
  },
  mubarokahReleaseLock: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`
  },
  mubarokahHit: {
    numberOfKeys: 1,
    lua: `local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {count, ttl}`
  },
  mubarokahGetMarker: {
    numberOfKeys: 1,
    lua: `local value = redis.call('GET', KEYS[1])
if not value then return false end
return {value, redis.call('PTTL', KEYS[1])}`
  }
} as const

type ScriptName = keyof typeof SCRIPTS
/** The grant hash fields `rev`, `user` and `data`, as HMGET returns them. */
type GrantFields = Array<string | null>
type ScriptRunner = (...args: Array<string | number>) => Promise<unknown>

/**
 * The production token store over ioredis (`fastify.redis`), safe for Redis Cluster.
 * Every Redis failure becomes FST_MUBAROKAH_STORE_UNAVAILABLE (503) with the cause attached,
 * so no address or reply text reaches a client.
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: RedisClient
  readonly #prefix: string
  readonly #cache: RedisReadCache | null

  constructor (redis: RedisClient, options: RedisTokenStoreOptions = {}) {
    this.#redis = redis
    this.#prefix = options.keyPrefix ?? 'mubarokah:'
    this.#cache = options.localCache === true ? readCacheFor(redis) : null
    // Only grant records are cached: every other key is written on the requests that read it.
    this.#cache?.track(`${this.#prefix}{g:`)
    for (const [name, script] of Object.entries(SCRIPTS)) {
      if (typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') {
        redis.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua })
      }
    }
  }

  async getGrant (grantId: string, options: { fresh?: boolean } = {}): Promise<StoredGrant | null> {
    const key = this.#grantKey(grantId)
    const cached = options.fresh === true ? undefined : this.#cache?.peek<GrantFields>(key)
    const fields = cached ?? await this.#call(() => this.#readGrant(key))
    if (fields === null) return null
    const [revision, userId, data] = fields
    if (revision == null || userId == null || data == null) return null
    return { grantId, userId, revision: Number(revision), data }
  }

  async #readGrant (key: string): Promise<GrantFields | null> {
    if (this.#cache === null) return await this.#redis.hmget(key, 'rev', 'user', 'data')
    // A missing grant reads as nulls with PTTL -2, which the cache does not keep.
    return await this.#cache.fill(key, async () => await readWithTtl<GrantFields>(this.#redis, key, (multi) => multi.hmget(key, 'rev', 'user', 'data')))
  }

  /** Runs a write of one grant, with the cached copy dropped before and after it. */
  async #writeGrant<T> (grantId: string, write: (key: string) => Promise<T>): Promise<T> {
    const key = this.#grantKey(grantId)
    this.#cache?.invalidate(key)
    try {
      return await write(key)
    } finally {
      this.#cache?.invalidate(key)
    }
  }

  async createGrant (grant: { grantId: string, userId: string, data: string }, ttlMs: number): Promise<void> {
    await this.#writeGrant(grant.grantId, async (key) => await this.#script('mubarokahCreateGrant', key, grant.userId, grant.data, ttlMs))
    const indexKey = this.#userKey(grant.userId)
    // Every write of a grant sets the same TTL, so the newest write outlives the others and sets the index TTL.
    await this.#call(() => this.#redis.multi().sadd(indexKey, grant.grantId).pexpire(indexKey, ttlMs).exec())
  }

  async replaceGrant (grantId: string, expectedRevision: number, data: string, ttlMs: number): Promise<ReplaceResult> {
    const [result, userId] = await this.#writeGrant(grantId, async (key) => await this.#script('mubarokahReplaceGrant', key, expectedRevision, data, ttlMs)) as [ReplaceResult, string?]
    if (result !== 'ok' || userId === undefined) return result
    // The user's index must live at least as long as the grant it lists.
    await this.#call(() => this.#redis.pexpire(this.#userKey(userId), ttlMs))
    return 'ok'
  }

  async deleteGrant (grantId: string, expectedRevision?: number): Promise<boolean> {
    const userId = await this.#writeGrant(grantId, async (key) => await this.#script('mubarokahDeleteGrant', key, expectedRevision ?? ''))
    if (typeof userId !== 'string') return false
    await this.#call(() => this.#redis.srem(this.#userKey(userId), grantId))
    return true
  }

  async listUserGrants (userId: string): Promise<string[]> {
    const indexKey = this.#userKey(userId)
    const grantIds = await this.#call(() => this.#redis.smembers(indexKey))
    const live: string[] = []
    for (const grantId of grantIds) {
      // One EXISTS per grant: the grant keys live in other cluster slots than the index.
      const exists = await this.#call(() => this.#redis.exists(this.#grantKey(grantId)))
      if (exists === 1) live.push(grantId)
      else await this.#call(() => this.#redis.srem(indexKey, grantId))
    }
    return live
  }

  async createTransaction (state: string, transaction: StoredTransaction, ttlMs: number, maxPerBinding: number): Promise<void> {
    await this.#script('mubarokahCreateTransaction', this.#transactionKey(state), transaction.bindingHash, transaction.data, ttlMs)

    const bindingKey = this.#bindingKey(transaction.bindingHash)
    const [, , , count] = await this.#call(async () => {
      const results = await this.#redis.multi()
        .zadd(bindingKey, Date.now(), state)
        .zremrangebyscore(bindingKey, '-inf', Date.now() - ttlMs)
        .pexpire(bindingKey, ttlMs)
        .zcard(bindingKey)
        .exec()
      return (results ?? []).map(([error, value]) => {
        if (error !== null) throw error
        return value
      })
    })
    const excess = Number(count) - maxPerBinding
    if (excess <= 0) return

    const dropped = await this.#call(() => this.#redis.zpopmin(bindingKey, excess))
    for (let index = 0; index < dropped.length; index += 2) {
      const droppedState = dropped[index] as string
      await this.#call(() => this.#redis.del(this.#transactionKey(droppedState)))
    }
  }

  async claimTransaction (state: string, bindingHash: string, claimTtlMs: number): Promise<ClaimResult> {
    const reply = await this.#script('mubarokahClaimTransaction', this.#transactionKey(state), bindingHash, claimTtlMs) as string[]
    const [status, value] = reply
    if (status === 'claimed') {
      await this.#call(() => this.#redis.zrem(this.#bindingKey(bindingHash), state))
      return { status, data: value ?? '' }
    }
    if (status === 'already-claimed') return { status, outcome: value === undefined || value === '' ? null : value }
    if (status === 'mismatch') return { status }
    return { status: 'unknown' }
  }

  async finishTransaction (state: string, outcome: string, ttlMs: number): Promise<void> {
    await this.#script('mubarokahFinishTransaction', this.#transactionKey(state), outcome, ttlMs)
  }

  async acquireLock (name: string, ttlMs: number): Promise<Lock | null> {
    const key = `${this.#prefix}lock:${name}`
    const owner = randomUUID()
    const result = await this.#call(() => this.#redis.set(key, owner, 'PX', ttlMs, 'NX'))
    if (result !== 'OK') return null
    return {
      release: async () => {
        await this.#script('mubarokahReleaseLock', key, owner)
      }
    }
  }

  async isLocked (name: string): Promise<boolean> {
    return await this.#call(() => this.#redis.exists(`${this.#prefix}lock:${name}`)) === 1
  }

  async hit (key: string, windowMs: number): Promise<HitResult> {
    const [count, ttl] = await this.#script('mubarokahHit', `${this.#prefix}hit:${key}`, windowMs) as [number, number]
    return { count, resetMs: ttl }
  }

  async setMarker (key: string, value: string, ttlMs: number): Promise<void> {
    await this.#call(() => this.#redis.set(`${this.#prefix}mark:${key}`, value, 'PX', ttlMs))
  }

  async getMarker (key: string): Promise<{ value: string, ttlMs: number } | null> {
    const reply = await this.#script('mubarokahGetMarker', `${this.#prefix}mark:${key}`) as [string, number] | null
    if (reply === null) return null
    return { value: reply[0], ttlMs: reply[1] }
  }

  #grantKey (grantId: string): string {
    return `${this.#prefix}{g:${grantId}}`
  }

  #userKey (userId: string): string {
    return `${this.#prefix}{u:${userId}}:grants`
  }

  #transactionKey (state: string): string {
    return `${this.#prefix}{t:${state}}`
  }

  #bindingKey (bindingHash: string): string {
    return `${this.#prefix}{b:${bindingHash}}:logins`
  }

  async #script (name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    const runner = (this.#redis as unknown as Record<ScriptName, ScriptRunner>)[name]
    return await this.#call(() => runner.apply(this.#redis, args))
  }

  async #call<T> (operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      throw new StoreUnavailableError({ cause: error })
    }
  }
}
