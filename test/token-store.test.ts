import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, test, type Test } from 'tap'
import { MemoryTokenStore, RedisTokenStore, type TokenStore } from '../src/index.js'
import { startRedis, startRedisCluster, type TestRedis, type TestRedisCluster } from './helpers/redis.js'

/*
 * One contract, two stores: every behaviour below must hold for the memory store and for the
 * Redis store over a real redis-server.
 */

const redis: TestRedis = await startRedis()
const cluster: TestRedisCluster = await startRedisCluster()
after(async () => {
  await redis.stop()
  await cluster.stop()
})

const kinds: Array<[string, (t: Test) => TokenStore]> = [
  ['memory', (t) => {
    const store = new MemoryTokenStore()
    t.teardown(() => store.close())
    return store
  }],
  ['redis', (t) => {
    const client = redis.client()
    t.teardown(() => client.quit())
    return new RedisTokenStore(client, { keyPrefix: `test${Math.random().toString(36).slice(2)}:` })
  }],
  ['redis cluster', (t) => {
    const client = cluster.client()
    t.teardown(() => client.quit())
    return new RedisTokenStore(client, { keyPrefix: `test${Math.random().toString(36).slice(2)}:` })
  }]
]

for (const [kind, makeStore] of kinds) {
  test(`${kind}: grant create, read and delete`, async (t) => {
    const store = makeStore(t)
    await store.createGrant({ grantId: 'g1', userId: 'u1', data: 'first' }, 60_000)
    t.same(await store.getGrant('g1'), { grantId: 'g1', userId: 'u1', revision: 1, data: 'first' })
    t.equal(await store.getGrant('missing'), null)
    t.equal(await store.deleteGrant('g1'), true)
    t.equal(await store.deleteGrant('g1'), false)
    t.equal(await store.getGrant('g1'), null)
  })

  test(`${kind}: replace is compare-and-set`, async (t) => {
    const store = makeStore(t)
    await store.createGrant({ grantId: 'g1', userId: 'u1', data: 'R1' }, 60_000)
    t.equal(await store.replaceGrant('g1', 1, 'R2', 60_000), 'ok')
    t.equal(await store.replaceGrant('g1', 1, 'stale', 60_000), 'conflict', 'a stale writer cannot overwrite newer tokens')
    t.same(await store.getGrant('g1'), { grantId: 'g1', userId: 'u1', revision: 2, data: 'R2' })
    await store.deleteGrant('g1')
    t.equal(await store.replaceGrant('g1', 2, 'after logout', 60_000), 'missing', 'a deleted grant is never recreated')
    t.equal(await store.getGrant('g1'), null)
  })

  test(`${kind}: delete can require a revision`, async (t) => {
    const store = makeStore(t)
    await store.createGrant({ grantId: 'g1', userId: 'u1', data: 'R1' }, 60_000)
    await store.replaceGrant('g1', 1, 'R2', 60_000)
    t.equal(await store.deleteGrant('g1', 1), false, 'a stale reader cannot end a renewed grant')
    t.equal((await store.getGrant('g1'))?.data, 'R2')
    t.equal(await store.deleteGrant('g1', 2), true)
    t.equal(await store.getGrant('g1'), null)
    t.same(await store.listUserGrants('u1'), [])
  })

  test(`${kind}: grants expire`, async (t) => {
    const store = makeStore(t)
    await store.createGrant({ grantId: 'short', userId: 'u1', data: 'x' }, 150)
    t.ok(await store.getGrant('short'))
    await sleep(250)
    t.equal(await store.getGrant('short'), null)
    t.same(await store.listUserGrants('u1'), [])
  })

  test(`${kind}: per-user index lists live grants`, async (t) => {
    const store = makeStore(t)
    await store.createGrant({ grantId: 'laptop', userId: 'u1', data: 'a' }, 60_000)
    await store.createGrant({ grantId: 'phone', userId: 'u1', data: 'b' }, 60_000)
    await store.createGrant({ grantId: 'other', userId: 'u2', data: 'c' }, 60_000)
    t.same((await store.listUserGrants('u1')).sort(), ['laptop', 'phone'])
    await store.deleteGrant('laptop')
    t.same(await store.listUserGrants('u1'), ['phone'])
    t.same(await store.listUserGrants('nobody'), [])
  })

  test(`${kind}: transactions are claimed once by their browser`, async (t) => {
    const store = makeStore(t)
    await store.createTransaction('s1', { bindingHash: 'browser-a', data: 'tx' }, 60_000, 5)
    t.same(await store.claimTransaction('s1', 'browser-b', 60_000), { status: 'mismatch' })
    t.same(await store.claimTransaction('s1', 'browser-a', 60_000), { status: 'claimed', data: 'tx' }, 'the mismatch left it untouched')
    t.same(await store.claimTransaction('s1', 'browser-a', 60_000), { status: 'already-claimed', outcome: null })
    await store.finishTransaction('s1', 'done', 60_000)
    t.same(await store.claimTransaction('s1', 'browser-a', 60_000), { status: 'already-claimed', outcome: 'done' })
    t.same(await store.claimTransaction('unknown', 'browser-a', 60_000), { status: 'unknown' })
  })

  test(`${kind}: concurrent claims succeed once`, async (t) => {
    const store = makeStore(t)
    await store.createTransaction('s1', { bindingHash: 'b', data: 'tx' }, 60_000, 5)
    const results = await Promise.all(Array.from({ length: 10 }, async () => await store.claimTransaction('s1', 'b', 60_000)))
    t.equal(results.filter((result) => result.status === 'claimed').length, 1)
    t.equal(results.filter((result) => result.status === 'already-claimed').length, 9)
  })

  test(`${kind}: pending transactions are capped per browser`, async (t) => {
    const store = makeStore(t)
    for (const state of ['s1', 's2', 's3']) {
      await store.createTransaction(state, { bindingHash: 'b', data: state }, 60_000, 2)
      await sleep(5)
    }
    t.same(await store.claimTransaction('s1', 'b', 60_000), { status: 'unknown' }, 'the oldest was dropped')
    t.same(await store.claimTransaction('s2', 'b', 60_000), { status: 'claimed', data: 's2' })
    t.same(await store.claimTransaction('s3', 'b', 60_000), { status: 'claimed', data: 's3' })
  })

  test(`${kind}: transactions expire`, async (t) => {
    const store = makeStore(t)
    await store.createTransaction('s1', { bindingHash: 'b', data: 'tx' }, 150, 5)
    await sleep(250)
    t.same(await store.claimTransaction('s1', 'b', 60_000), { status: 'unknown' })
  })

  test(`${kind}: locks are exclusive and released only by their owner`, async (t) => {
    const store = makeStore(t)
    const first = await store.acquireLock('{g:1}:refresh', 60_000)
    t.ok(first)
    t.equal(await store.acquireLock('{g:1}:refresh', 60_000), null)
    t.equal(await store.isLocked('{g:1}:refresh'), true)
    await first?.release()
    t.equal(await store.isLocked('{g:1}:refresh'), false)

    const expiring = await store.acquireLock('{g:2}:refresh', 100)
    await sleep(200)
    const next = await store.acquireLock('{g:2}:refresh', 60_000)
    t.ok(next, 'an expired lock can be taken')
    await expiring?.release()
    t.equal(await store.isLocked('{g:2}:refresh'), true, 'the old holder cannot release the new lock')
  })

  test(`${kind}: hit counts within a window`, async (t) => {
    const store = makeStore(t)
    t.equal((await store.hit('k', 200)).count, 1)
    t.equal((await store.hit('k', 200)).count, 2)
    const third = await store.hit('k', 200)
    t.equal(third.count, 3)
    t.ok(third.resetMs > 0 && third.resetMs <= 200)
    await sleep(250)
    t.equal((await store.hit('k', 200)).count, 1, 'a new window')
  })

  test(`${kind}: markers expire`, async (t) => {
    const store = makeStore(t)
    await store.setMarker('m', 'v', 150)
    const marker = await store.getMarker('m')
    t.equal(marker?.value, 'v')
    t.ok((marker?.ttlMs ?? 0) > 0)
    await sleep(250)
    t.equal(await store.getMarker('m'), null)
  })
}

test('memory store stays within its bound', async (t) => {
  const store = new MemoryTokenStore({ maxEntries: 100 })
  t.teardown(() => store.close())
  for (let index = 0; index < 1000; index += 1) await store.createGrant({ grantId: `g${index}`, userId: `u${index}`, data: 'x' }, 60_000)
  t.ok(store.size <= 100, `size ${store.size}`)
  t.ok(await store.getGrant('g999'), 'the newest entries are kept')
  t.equal(await store.getGrant('g0'), null, 'the oldest were dropped')
})

test('a flood of short-lived entries never evicts a grant', async (t) => {
  const store = new MemoryTokenStore({ maxEntries: 100 })
  t.teardown(() => store.close())
  for (let index = 0; index < 10; index += 1) await store.createGrant({ grantId: `g${index}`, userId: 'u', data: 'x' }, 60_000)
  for (let index = 0; index < 1000; index += 1) {
    await store.hit(`rate:login:ip:${index}`, 60_000)
    await store.createTransaction(`s${index}`, { bindingHash: `b${index}`, data: 'tx' }, 60_000, 5)
  }
  for (let index = 0; index < 10; index += 1) t.ok(await store.getGrant(`g${index}`), `grant g${index} kept`)
  t.ok(store.size <= 200, `bounded (${store.size} entries)`)
})

test('redis keys of one grant share a cluster hash tag', async (t) => {
  const client = redis.client()
  t.teardown(() => client.quit())
  const store = new RedisTokenStore(client, { keyPrefix: 'tag:' })
  await store.createGrant({ grantId: 'abc', userId: 'u1', data: 'x' }, 60_000)
  const lock = await store.acquireLock('{g:abc}:refresh', 60_000)
  await store.setMarker('{g:abc}:backoff', '1', 60_000)
  const keys = (await client.keys('tag:*')).filter((key) => key.includes('g:abc'))
  t.same(keys.sort(), ['tag:lock:{g:abc}:refresh', 'tag:mark:{g:abc}:backoff', 'tag:{g:abc}'])
  for (const key of keys) t.equal(/\{([^}]+)\}/.exec(key)?.[1], 'g:abc', `${key} hashes on g:abc`)
  await lock?.release()
})

test('redis failures become 503 store errors', async (t) => {
  const down = await startRedis()
  t.teardown(() => down.stop())
  const client = down.client({ enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 300, retryStrategy: () => 200 })
  await once(client, 'ready')
  const store = new RedisTokenStore(client)
  await store.createGrant({ grantId: 'g', userId: 'u', data: 'x' }, 60_000)
  await down.kill()
  await sleep(100)
  const error = await store.getGrant('g').catch((caught: unknown) => caught) as { code?: string, statusCode?: number, message?: string }
  t.equal(error.code, 'FST_MUBAROKAH_STORE_UNAVAILABLE')
  t.equal(error.statusCode, 503)
  t.notMatch(error.message, /127\.0\.0\.1|ECONNREFUSED/, 'no address in the message')
})
