import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { spawnSync } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Session } from 'fastify'
import { after, test } from 'tap'
import { MemorySessionStore, RedisSessionStore } from '../src/index.js'
import { runPython } from './helpers/python.js'
import { startRedis } from './helpers/redis.js'

const redis = await startRedis()
after(async () => { await redis.stop() })

/** Returns the Redis key of a session: the prefix and the SHA-256 of its id. */
function sessionKey (sessionId: string): string {
  return `sess-test:${createHash('sha256').update(sessionId).digest('base64url')}`
}

function session (expiresInMs: number | null, data: Record<string, unknown> = {}): Session {
  return { cookie: { originalMaxAge: expiresInMs, expires: expiresInMs === null ? null : new Date(Date.now() + expiresInMs) }, ...data } as unknown as Session
}

function call<T> (run: (callback: (error?: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => run((error, value) => error === undefined || error === null ? resolve(value) : reject(error)))
}

test('redis session store round trip with the cookie lifetime', async (t) => {
  const client = redis.client()
  t.teardown(() => client.quit())
  const store = new RedisSessionStore(client, { keyPrefix: 'sess-test:' })

  await call((done) => store.set('id1', session(60_000, { mubarokah: { grantId: 'g' } }), done))
  const read = await call<Session | null>((done) => store.get('id1', done)) as unknown as Record<string, unknown>
  t.same(read.mubarokah, { grantId: 'g' })
  const ttl = await client.pttl(sessionKey('id1'))
  t.ok(ttl > 55_000 && ttl <= 60_000, `TTL follows the cookie (${ttl} ms)`)

  await call((done) => store.set('id2', session(null), done))
  t.ok(await client.pttl(sessionKey('id2')) > 86_000_000, 'a browser-session cookie gets the default lifetime')

  await call((done) => store.destroy('id1', done))
  t.equal(await call((done) => store.get('id1', done)), null)
})

test('stored sessions leave the cookie out unless persistCookie is set', async (t) => {
  const client = redis.client()
  t.teardown(() => client.quit())
  const lean = new RedisSessionStore(client, { keyPrefix: 'sess-test:' })
  const full = new RedisSessionStore(client, { keyPrefix: 'sess-test:', persistCookie: true })

  await call((done) => lean.set('lean', session(60_000, { mubarokah: { grantId: 'g' } }), done))
  t.same(JSON.parse(await client.get(sessionKey('lean')) as string), { mubarokah: { grantId: 'g' } }, 'only the data is stored')
  t.ok(await client.pttl(sessionKey('lean')) > 55_000, 'the lifetime still follows the cookie')
  await call((done) => full.set('full', session(60_000, { mubarokah: { grantId: 'g' } }), done))
  t.match(JSON.parse(await client.get(sessionKey('full')) as string), { cookie: { originalMaxAge: 60_000 }, mubarokah: { grantId: 'g' } })

  const memory = new MemorySessionStore()
  t.teardown(() => memory.close())
  await call((done) => memory.set('lean', session(60_000, { n: 1 }), done))
  t.same(await call((done) => memory.get('lean', done)), { n: 1 })
  const memoryFull = new MemorySessionStore({ persistCookie: true })
  t.teardown(() => memoryFull.close())
  await call((done) => memoryFull.set('full', session(60_000, { n: 1 }), done))
  t.match(await call((done) => memoryFull.get('full', done)), { cookie: { originalMaxAge: 60_000 }, n: 1 })
})

test('redis session store treats corrupt records as no session', async (t) => {
  const client = redis.client()
  t.teardown(() => client.quit())
  await client.set(sessionKey('corrupt'), '{not json')
  const store = new RedisSessionStore(client, { keyPrefix: 'sess-test:' })
  t.equal(await call((done) => store.get('corrupt', done)), null)
})

test('redis session store failures are 503 errors', async (t) => {
  const down = await startRedis()
  t.teardown(() => down.stop())
  const client = down.client({ enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 300, retryStrategy: () => 200 })
  await once(client, 'ready')
  const store = new RedisSessionStore(client)
  await down.kill()
  await sleep(100)
  for (const operation of [
    (done: (error?: unknown) => void) => store.get('x', done),
    (done: (error?: unknown) => void) => store.set('x', session(1000), done),
    (done: (error?: unknown) => void) => store.destroy('x', done)
  ]) {
    const error = await call(operation).catch((caught: unknown) => caught) as { code?: string, statusCode?: number }
    t.equal(error.code, 'FST_MUBAROKAH_STORE_UNAVAILABLE')
    t.equal(error.statusCode, 503)
  }
})

test('memory session store expires and stays bounded', async (t) => {
  const store = new MemorySessionStore({ maxEntries: 10 })
  t.teardown(() => store.close())
  // Stores keep a session at least one second, so a cookie about to expire is never stored with TTL 0.
  await call((done) => store.set('short', session(50), done))
  await sleep(1100)
  t.equal(await call((done) => store.get('short', done)), null, 'expired')
  for (let index = 0; index < 50; index += 1) await call((done) => store.set(`s${index}`, session(60_000), done))
  t.ok(store.size <= 10)
  t.ok(await call((done) => store.get('s49', done)), 'newest kept')
})

test('keygen prints keys that Python reads', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'keygen'], { encoding: 'utf8' })
  t.equal(result.status, 0)
  const values = Object.fromEntries(result.stdout.split('\n').filter((line) => /^[A-Z_]+=/.test(line)).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]))
  t.match(values.TOKEN_ENCRYPTION_KEY, /^[A-Za-z0-9_-]{43}=$/)
  t.ok((values.APP_SECRET_KEY ?? '').length >= 32, 'session secret long enough for @fastify/session')
  const decrypted = runPython<string>(`
import json, sys
from cryptography.fernet import Fernet
data = json.load(sys.stdin)
f = Fernet(data['key'].encode())
print(json.dumps(f.decrypt(f.encrypt(b'ok')).decode()))
`, { key: values.TOKEN_ENCRYPTION_KEY })
  t.equal(decrypted, 'ok')
  const help = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'nope'], { encoding: 'utf8' })
  t.equal(help.status, 2, 'unknown command exits 2')
  t.match(help.stderr, /Usage: fastify-mubarokah-id/)
})
