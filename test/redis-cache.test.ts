import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Session } from 'fastify'
import type { Redis } from 'ioredis'
import { after, test, type Test } from 'tap'
import { FernetKeyRing, GrantManager, MubarokahOAuthClient, RedisSessionStore } from '../src/index.js'
import { RedisReadCache, closeReadCache, readCacheFor } from '../src/redis-cache.js'
import { RedisTokenStore } from '../src/tokens/redis-store.js'
import { Browser } from './helpers/browser.js'
import { CLIENT_SECRET, loginAs, startApp, startProvider, TEST_ENCRYPTION_KEY } from './helpers/app.js'
import { commandCounts, freePort, startRedis } from './helpers/redis.js'

/*
 * The Redis read cache against a real redis-server: what it serves from memory, what makes it
 * read again, and that it turns itself off instead of serving records it can no longer check.
 */

const redis = await startRedis()
after(async () => { await redis.stop() })

const PREFIX = 'cache-test:'

async function until (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(10)
  }
}

/** Creates a client of the shared test server, closed when the test ends. */
function connect (t: Test): Redis {
  const client = redis.client()
  t.teardown(() => { client.disconnect() })
  return client
}

async function startCache (t: Test, options: ConstructorParameters<typeof RedisReadCache>[1] = {}): Promise<{ cache: RedisReadCache, client: Redis }> {
  const client = connect(t)
  const cache = new RedisReadCache(client, { heartbeatMs: 100, ...options })
  t.teardown(() => { cache.close() })
  cache.track(PREFIX)
  await until(() => cache.enabled, 'tracking is on')
  return { cache, client }
}

/** Returns how many times the server has run one command. */
async function commandCalls (client: Redis, command: string): Promise<number> {
  return (await commandCounts(client))[command] ?? 0
}

/** Returns a cache fill that reads `key` with GET and PTTL, the way the stores do. */
function fetchFrom (client: Redis, key: string) {
  return async () => {
    const [value, ttlMs] = await Promise.all([client.get(key), client.pttl(key)])
    return { value, ttlMs }
  }
}

test('a second read of a key is served from memory', async (t) => {
  const { cache, client } = await startCache(t)
  await client.set(`${PREFIX}a`, 'one', 'PX', 60_000)

  t.equal(cache.peek(`${PREFIX}a`), undefined, 'nothing cached before the first read')
  t.equal(await cache.fill(`${PREFIX}a`, fetchFrom(client, `${PREFIX}a`)), 'one')
  t.equal(cache.peek(`${PREFIX}a`), 'one')
})

test('a write by another client drops the copy', async (t) => {
  const { cache, client } = await startCache(t)
  const other = connect(t)
  const key = `${PREFIX}b`
  await client.set(key, 'one', 'PX', 60_000)
  await cache.fill(key, fetchFrom(client, key))

  await other.set(key, 'two', 'PX', 60_000)
  await until(() => cache.peek(key) === undefined, 'the invalidation arrives')
  t.equal(await cache.fill(key, fetchFrom(client, key)), 'two')

  await other.del(key)
  await until(() => cache.peek(key) === undefined, 'the delete is reported')
  t.equal(await cache.fill(key, fetchFrom(client, key)), null)
  t.equal(cache.peek(key), undefined, 'a missing key is not cached')
})

test('expiry in Redis and FLUSHDB drop copies', async (t) => {
  const { cache, client } = await startCache(t)
  await client.set(`${PREFIX}short`, 'x', 'PX', 150)
  await client.set(`${PREFIX}long`, 'y', 'PX', 60_000)
  await cache.fill(`${PREFIX}short`, fetchFrom(client, `${PREFIX}short`))
  await cache.fill(`${PREFIX}long`, fetchFrom(client, `${PREFIX}long`))

  await sleep(200)
  t.equal(cache.peek(`${PREFIX}short`), undefined, 'an entry lives no longer than its key')
  t.equal(cache.peek(`${PREFIX}long`), 'y')

  await connect(t).flushdb()
  await until(() => cache.peek(`${PREFIX}long`) === undefined, 'the flush is reported')
  t.pass('flushed')
})

test('the heartbeat proves that invalidations arrive', async (t) => {
  const { cache } = await startCache(t)
  const other = connect(t)
  const heartbeats = await commandCalls(other, 'set')
  await sleep(350)
  t.ok(await commandCalls(other, 'set') > heartbeats, 'the heartbeat writes under the tracked prefix')
  t.ok(cache.enabled, 'and its invalidations keep the cache on')
})

test('a read that races with a write is not kept', async (t) => {
  const { cache, client } = await startCache(t)
  const other = connect(t)
  const key = `${PREFIX}race`
  await client.set(key, 'old', 'PX', 60_000)

  const value = await cache.fill(key, async () => {
    const read = await fetchFrom(client, key)()
    // Another instance writes after this read; its invalidation arrives before the reply is used.
    await other.set(key, 'new', 'PX', 60_000)
    await sleep(50)
    return read
  })
  t.equal(value, 'old', 'the caller gets what it read')
  t.equal(cache.peek(key), undefined, 'but the stale value is not cached')
  t.equal(await cache.fill(key, fetchFrom(client, key)), 'new')
})

test('a lost listener connection turns the cache off until tracking is back', async (t) => {
  const { cache, client } = await startCache(t)
  const admin = connect(t)
  const key = `${PREFIX}lost`
  await client.set(key, 'one', 'PX', 60_000)
  await cache.fill(key, fetchFrom(client, key))

  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await until(() => !cache.enabled, 'the cache turns off')
  t.equal(cache.peek(key), undefined, 'nothing is served while invalidations may be missed')
  t.equal(cache.size, 0, 'and the copies are gone')

  await until(() => cache.enabled, 'tracking is back', 10_000)
  await admin.set(key, 'two', 'PX', 60_000)
  await cache.fill(key, fetchFrom(client, key))
  await admin.set(key, 'three', 'PX', 60_000)
  await until(() => cache.peek(key) === undefined, 'invalidations arrive on the new connection')
  t.pass('recovered')
})

test('a read sent while tracking was off is not kept', async (t) => {
  const { cache, client } = await startCache(t)
  const other = connect(t)
  const key = `${PREFIX}off`
  await client.set(key, 'old', 'PX', 60_000)
  await connect(t).call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await until(() => !cache.enabled, 'the cache turns off')

  const value = await cache.fill(key, async () => {
    const read = await fetchFrom(client, key)()
    // No invalidation reaches this process for this write: tracking is off.
    await other.set(key, 'new', 'PX', 60_000)
    await until(() => cache.enabled, 'tracking is back', 10_000)
    return read
  })
  t.equal(value, 'old')
  t.equal(cache.peek(key), undefined, 'the read from before tracking was on is not cached')
})

test('a frozen Redis turns the cache off within three heartbeats', async (t) => {
  const frozen = await startRedis()
  t.teardown(() => frozen.stop())
  const client = frozen.client()
  const cache = new RedisReadCache(client, { heartbeatMs: 100 })
  t.teardown(async () => {
    frozen.resume()
    cache.close()
  })
  cache.track(PREFIX)
  await until(() => cache.enabled, 'tracking is on')
  await client.set(`${PREFIX}f`, 'one', 'PX', 60_000)
  await cache.fill(`${PREFIX}f`, fetchFrom(client, `${PREFIX}f`))

  frozen.pause()
  const started = Date.now()
  await until(() => !cache.enabled, 'the missing heartbeat turns the cache off', 2000)
  t.ok(Date.now() - started < 1000, `off after ${Date.now() - started} ms`)
  t.equal(cache.peek(`${PREFIX}f`), undefined)
  frozen.resume()
  await until(() => cache.enabled, 'tracking is back after the thaw', 10_000)
})

test('prefixes covered by a shorter one are tracked once', async (t) => {
  const { cache } = await startCache(t)
  cache.track(`${PREFIX}sub:`)
  cache.track('other:')
  const client = connect(t)
  await client.set('other:k', 'v', 'PX', 60_000)
  // Tracking restarts with the new prefix list; fills during the restart are not kept.
  await until(async () => {
    await cache.fill('other:k', fetchFrom(client, 'other:k'))
    return cache.peek('other:k') === 'v'
  }, 'the added prefix is cached')
  await connect(t).set('other:k', 'w')
  await until(() => cache.peek('other:k') === undefined, 'the added prefix is tracked')
})

test('session store with localCache reads Redis once per session', async (t) => {
  const client = connect(t)
  t.teardown(() => { closeReadCache(client) })
  const store = new RedisSessionStore(client, { keyPrefix: 'sess-cache:', localCache: true })
  await until(() => readCacheFor(client)?.enabled === true, 'tracking is on')
  const stats = connect(t)
  const call = async <T>(run: (done: (error?: unknown, value?: T) => void) => void): Promise<T | undefined> =>
    await new Promise((resolve, reject) => run((error, value) => error === undefined || error === null ? resolve(value) : reject(error)))
  const session = { cookie: { expires: new Date(Date.now() + 60_000) }, mubarokah: { grantId: 'g1' } } as unknown as Session

  await call((done) => store.set('id1', session, done))
  const before = await commandCalls(stats, 'get')
  for (let index = 0; index < 20; index += 1) {
    const read = await call<Session | null>((done) => store.get('id1', done)) as unknown as Record<string, unknown>
    t.same(read.mubarokah, { grantId: 'g1' })
  }
  t.equal(await commandCalls(stats, 'get') - before, 1, '20 reads, one GET')

  // Another instance ends the session: the next read here must miss it.
  await stats.del(`sess-cache:${createHash('sha256').update('id1').digest('base64url')}`)
  await until(async () => await call((done) => store.get('id1', done)) === null, 'the deletion is seen')

  // This process reads its own writes at once.
  await call((done) => store.set('id2', session, done))
  await call((done) => store.get('id2', done))
  const changed = { ...session, mubarokah: { grantId: 'g2' } } as unknown as Session
  await call((done) => store.set('id2', changed, done))
  const read = await call<Session | null>((done) => store.get('id2', done)) as unknown as Record<string, unknown>
  t.same(read.mubarokah, { grantId: 'g2' })
  await call((done) => store.destroy('id2', done))
  t.equal(await call((done) => store.get('id2', done)), null)
})

test('token store caches grants until written', async (t) => {
  const client = connect(t)
  t.teardown(() => { closeReadCache(client) })
  const store = new RedisTokenStore(client, { keyPrefix: 'tok-cache:', localCache: true })
  await until(() => readCacheFor(client)?.enabled === true, 'tracking is on')
  const stats = connect(t)

  await store.createGrant({ grantId: 'g1', userId: 'u1', data: 'v1' }, 60_000)
  const before = await commandCalls(stats, 'hmget')
  for (let index = 0; index < 10; index += 1) t.equal((await store.getGrant('g1'))?.data, 'v1')
  t.equal(await commandCalls(stats, 'hmget') - before, 1, '10 reads, one HMGET')

  t.equal(await store.replaceGrant('g1', 1, 'v2', 60_000), 'ok')
  t.equal((await store.getGrant('g1'))?.data, 'v2', 'own write seen at once')
  t.equal((await store.getGrant('g1'))?.revision, 2)
  const beforeFresh = await commandCalls(stats, 'hmget')
  t.equal((await store.getGrant('g1', { fresh: true }))?.data, 'v2')
  t.equal(await commandCalls(stats, 'hmget') - beforeFresh, 1, 'a fresh read goes to Redis although the grant is cached')

  t.equal(await store.deleteGrant('g1'), true)
  t.equal(await store.getGrant('g1'), null, 'own delete seen at once')
})

test('a refresh decides on a fresh read of the grant', async (t) => {
  const port = await freePort()
  const provider = await startProvider([port], { accessTokenTtlSeconds: 2 })
  t.teardown(() => provider.close())
  const app = await startApp({ provider, port, redisUrl: redis.url, localCache: true })
  t.teardown(() => app.close())
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const [grantId] = await app.app.mubarokah.tokens.listUser('1001')

  // A second instance whose store records how each grant read was made.
  const client = connect(t)
  t.teardown(() => { closeReadCache(client) })
  const store = new RedisTokenStore(client, { localCache: true })
  const reads: boolean[] = []
  const recording = new Proxy(store, {
    get (target, property) {
      if (property === 'getGrant') {
        return async (id: string, options?: { fresh?: boolean }) => {
          reads.push(options?.fresh === true)
          return await target.getGrant(id, options)
        }
      }
      const value = Reflect.get(target, property, target) as unknown
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
  const manager = new GrantManager({
    store: recording,
    keys: FernetKeyRing.parse(TEST_ENCRYPTION_KEY),
    client: new MubarokahOAuthClient({ clientId: 'dev-client', clientSecret: CLIENT_SECRET, redirectUri: `${app.url}/auth/mubarokah/callback`, baseUrl: provider.baseUrl, clientAuthentication: 'body', defaultTokenLifetimeSeconds: 3600, fetch, timeoutMs: 5000, sizeLimit: 65536 }),
    log: app.app.log,
    refreshWindowMs: 300_000,
    grantTtlMs: 86_400_000,
    lockTtlMs: 5000,
    refreshWaitMs: 1000
  })

  const seen = await manager.load(grantId as string)
  t.same(reads, [false], 'the guard path may use the cache')
  await sleep(1100)
  const outcome = await manager.refresh(seen!, 'window')
  t.equal(outcome.kind, 'fresh')
  t.same(reads, [false, true], 'the lock holder read the stored record before spending the refresh token')
  t.equal(provider.stats.refreshSuccesses, 1)
})

test('readCacheFor shares one cache per client and none for a cluster', async (t) => {
  const client = connect(t)
  t.teardown(() => { closeReadCache(client) })
  t.equal(readCacheFor(client), readCacheFor(client))
  t.equal(readCacheFor({ isCluster: true } as unknown as Redis), null)
  const cache = readCacheFor(client)
  closeReadCache(client)
  t.not(readCacheFor(client), cache, 'a closed cache is replaced')
  for (let round = 0; round < 12; round += 1) {
    readCacheFor(client)?.track(PREFIX)
    closeReadCache(client)
  }
  t.ok(client.listenerCount('end') <= 1, `closed caches leave no listener on the client (${client.listenerCount('end')})`)
})

test('the cache closes with the client it serves', async (t) => {
  const client = connect(t)
  const cache = readCacheFor(client) as RedisReadCache
  cache.track(PREFIX)
  await until(() => cache.enabled, 'tracking is on')
  const admin = connect(t)
  const names = async (): Promise<string> => await admin.client('LIST') as string
  t.match(await names(), /mubarokah-cache-listener/)
  client.disconnect()
  await once(client, 'end')
  await until(async () => !/mubarokah-cache-/.test(await names()), 'the cache connections are closed')
  t.notOk(cache.enabled)
})

test('a client with an ioredis keyPrefix is tracked under that prefix', async (t) => {
  const client = redis.client({ keyPrefix: 'app1:' })
  t.teardown(() => { client.disconnect() })
  const cache = new RedisReadCache(client, { heartbeatMs: 100 })
  t.teardown(() => { cache.close() })
  cache.track(PREFIX)
  await until(() => cache.enabled, 'tracking is on')
  const key = `${PREFIX}prefixed`
  await client.set(key, 'one', 'PX', 60_000)
  await cache.fill(key, fetchFrom(client, key))
  t.equal(cache.peek(key), 'one')

  // Another client without the option uses the full key name.
  await connect(t).del(`app1:${key}`)
  await until(() => cache.peek(key) === undefined, 'the delete of the prefixed key is reported')
  await sleep(500)
  t.ok(cache.enabled, 'heartbeats under the prefixed name keep the cache on')
})

test('closing the cache does not wait for a frozen Redis', async (t) => {
  const frozen = await startRedis()
  t.teardown(() => frozen.stop())
  const client = frozen.client()
  const cache = new RedisReadCache(client, { heartbeatMs: 100 })
  cache.track(PREFIX)
  await until(() => cache.enabled, 'tracking is on')
  frozen.pause()
  t.teardown(() => { frozen.resume() })
  const started = Date.now()
  cache.close()
  t.ok(Date.now() - started < 100, 'closed at once')
  t.notOk(cache.enabled)
})

test('the app closes a session store cache it did not ask for', async (t) => {
  const port = await freePort()
  const provider = await startProvider([port])
  t.teardown(() => provider.close())
  // Memory token store: only the session store uses the cache of this client.
  const app = await startApp({ provider, port, redisUrl: redis.url, localCache: true, plugin: { tokenStore: 'memory', redisLocalCache: false } })
  const cache = readCacheFor(app.app.redis) as RedisReadCache
  await until(() => cache.enabled, 'the session store started the cache')
  await app.close()
  t.notOk(cache.enabled, 'closed with the app')
  t.not(readCacheFor(app.app.redis), cache)
})


test('tracking stays off when the listener drops during set-up', async (t) => {
  // A slow reconnect keeps the listener down after the set-up step has finished.
  const client = redis.client({ retryStrategy: () => 1500 })
  t.teardown(() => { client.disconnect() })
  const duplicates: Redis[] = []
  const duplicate = client.duplicate.bind(client)
  client.duplicate = (options) => {
    const connection = duplicate(options)
    duplicates.push(connection)
    return connection
  }
  const cache = new RedisReadCache(client, { heartbeatMs: 1000 })
  t.teardown(() => { cache.close() })
  cache.track(PREFIX)
  await until(() => cache.enabled, 'tracking is on')

  const [listener, control] = duplicates as [Redis, Redis]
  const admin = connect(t)
  const call = control.call.bind(control) as (...args: string[]) => Promise<unknown>
  let dropped = false
  control.call = (async (...args: string[]) => {
    const reply = await call(...args)
    if (args[2] === 'on' && !dropped) {
      dropped = true
      // The listener drops after Redis accepted the redirect but before the reply is handled.
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
      await until(() => listener.status !== 'ready', 'the listener is down')
    }
    return reply
  }) as typeof control.call
  cache.track('other-prefix:')
  await sleep(300)
  t.notOk(cache.enabled, 'no cache without a listener')

  await until(() => cache.enabled, 'tracking is back with the new listener', 10_000)
  t.ok(listener.status === 'ready')
})
