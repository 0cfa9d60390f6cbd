import { setTimeout as sleep } from 'node:timers/promises'
import { test, type Test } from 'tap'
import { connectRedis, FernetKeyRing, generateFernetKey, RedisUnreachableError } from '../../src/index.js'
import { Browser } from '../helpers/browser.js'
import { loginAs, startApp, startFixture, startProvider, TEST_ENCRYPTION_KEY, type TestApp } from '../helpers/app.js'
import { allRedisText, commandCounts, freePort, startRedis, type TestRedis } from '../helpers/redis.js'

const JSON_ACCEPT = { accept: 'application/json' }

async function redisFor (t: Test, extraArgs: string[] = []): Promise<TestRedis> {
  const redis = await startRedis(extraArgs)
  t.teardown(() => redis.stop())
  return redis
}

test('two devices: logout on one keeps the other, everywhere ends both', async (t) => {
  const redis = await redisFor(t)
  const { app } = await startFixture(t, { redisUrl: redis.url })

  const laptop = new Browser()
  const phone = new Browser()
  await loginAs(laptop, app.url, 'budi')
  await loginAs(phone, app.url, 'budi')
  const tablet = new Browser()
  await loginAs(tablet, app.url, 'budi')

  await laptop.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
  t.equal((await laptop.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401, 'the laptop is logged out')
  t.equal((await phone.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'the phone is still logged in')

  const everywhere = await phone.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', form: { everywhere: '1' }, headers: JSON_ACCEPT })
  t.same(JSON.parse(everywhere.text), { loggedOut: true, endedGrants: 2 })
  t.equal((await phone.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401)
  t.equal((await tablet.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401, 'every device is logged out')
})

test('a login started on one instance completes on another', async (t) => {
  const redis = await redisFor(t)
  const [portA, portB] = [await freePort(), await freePort()]
  const provider = await startProvider([portA])
  t.teardown(() => provider.close())
  // Both instances sit behind one address, so both use instance A's redirect URI.
  const redirectUri = `http://127.0.0.1:${portA}/auth/mubarokah/callback`
  const instanceA = await startApp({ provider, port: portA, redisUrl: redis.url, plugin: { redirectUri } })
  t.teardown(() => instanceA.close())
  const instanceB = await startApp({ provider, port: portB, redisUrl: redis.url, plugin: { redirectUri } })
  t.teardown(() => instanceB.close())

  const browser = new Browser()
  const started = await loginAs(browser, instanceA.url, 'budi', { stopBeforeCallback: true, returnTo: '/dashboard' })
  const onB = (started.callbackUrl as string).replace(`:${portA}/`, `:${portB}/`)
  const callback = await browser.request(onB)
  t.equal(callback.status, 302)
  t.equal(callback.location, `${instanceB.url}/dashboard`)
  t.equal((await browser.request(`${instanceA.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'the session works on A')
  t.equal((await browser.request(`${instanceB.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'and on B')
})

test('no token, code or verifier is stored in plaintext', async (t) => {
  const redis = await redisFor(t)
  const secrets = new Set<string>()
  const recordingFetch: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') {
      for (const [name, value] of new URLSearchParams(init.body)) if (['code', 'code_verifier', 'refresh_token', 'client_secret'].includes(name)) secrets.add(value)
    }
    const response = await fetch(input, init)
    const text = await response.clone().text()
    for (const match of text.matchAll(/"(access_token|refresh_token)":"([^"]+)"/g)) secrets.add(match[2] as string)
    return response
  }
  const port = await freePort()
  const provider = await startProvider([port], { accessTokenTtlSeconds: 2 })
  t.teardown(() => provider.close())
  const app = await startApp({ provider, port, redisUrl: redis.url, plugin: { fetch: recordingFetch } })
  t.teardown(() => app.close())
  const client = redis.client()

  const browser = new Browser()
  const started = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true })
  secrets.add(new URL(started.callbackUrl as string).searchParams.get('state') as string)
  secrets.add(browser.cookie(app.url, 'mubarokah_login') as string)
  await browser.navigate(started.callbackUrl as string)
  await sleep(1100)
  t.equal((await browser.request(`${app.url}/token`, { headers: JSON_ACCEPT })).status, 200)
  t.equal(provider.stats.refreshSuccesses, 1, 'a refresh happened')

  const afterRefresh = await allRedisText(client)
  t.ok(afterRefresh.length > 0, 'Redis holds the grant and the session')
  t.ok(secrets.size >= 8, `collected ${secrets.size} values`)
  for (const secret of secrets) t.notOk(afterRefresh.includes(secret), `Redis has no ${secret.slice(0, 4)}… in plaintext`)

  await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
  const afterLogout = await allRedisText(client)
  for (const secret of secrets) t.notOk(afterLogout.includes(secret), `nor after logout: ${secret.slice(0, 4)}…`)
})

test('a guarded request writes nothing to Redis', async (t) => {
  const redis = await redisFor(t)
  const { app } = await startFixture(t, { redisUrl: redis.url })
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const client = redis.client()

  const before = await commandCounts(client)
  for (let index = 0; index < 20; index += 1) t.equal((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200)
  const after = await commandCounts(client)
  const writes = ['set', 'hset', 'del', 'pexpire', 'evalsha', 'eval'].reduce((sum, command) => sum + (after[command] ?? 0) - (before[command] ?? 0), 0)
  const reads = (after.get ?? 0) - (before.get ?? 0) + (after.hmget ?? 0) - (before.hmget ?? 0)
  t.equal(writes, 0, 'no writes')
  t.equal(reads, 40, 'two reads per request: the session and the grant')

  const ttl = await client.pttl((await client.keys('mubarokah:sess:*'))[0] as string)
  t.ok(ttl > 29 * 86_400_000 && ttl <= 30 * 86_400_000, 'the session lives as long as its cookie')
})

test('with the local cache a guarded request reads nothing from Redis', async (t) => {
  const redis = await redisFor(t)
  const { app } = await startFixture(t, { redisUrl: redis.url, localCache: true })
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const client = redis.client()
  for (let index = 0; index < 3; index += 1) t.equal((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'the first requests fill the cache')

  const before = await commandCounts(client)
  for (let index = 0; index < 20; index += 1) t.equal((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200)
  const after = await commandCounts(client)
  // The cache writes one heartbeat key per second; nothing else may run.
  const heartbeats = (after.set ?? 0) - (before.set ?? 0)
  const total = Object.keys(after).reduce((sum, command) => sum + (after[command] ?? 0) - (before[command] ?? 0), 0)
  t.equal(total - heartbeats - 1, 0, 'no command but heartbeats (and the INFO call itself)')

  const logout = await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
  t.equal(logout.status, 200)
  t.equal((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401, 'the logout is seen at once')
})

interface LoopResult {
  readonly statuses: Map<number, number>
  readonly maxLatencyMs: number
}

/** Sends guarded requests for every browser, one round after another, until `rounds` is reached. */
async function guardedLoop (app: TestApp, browsers: Browser[], rounds: number, pauseMs: number): Promise<LoopResult> {
  const statuses = new Map<number, number>()
  let maxLatencyMs = 0
  for (let round = 0; round < rounds; round += 1) {
    for (const browser of browsers) {
      const started = Date.now()
      const response = await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
      maxLatencyMs = Math.max(maxLatencyMs, Date.now() - started)
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
      if (response.status === 503) {
        const body = JSON.parse(response.text) as { code: string, message: string }
        if (body.code !== 'FST_MUBAROKAH_STORE_UNAVAILABLE' || /127\.0\.0\.1|ECONN|redis/i.test(body.message)) throw new Error(`unexpected 503 body: ${response.text}`)
      }
    }
    await sleep(pauseMs)
  }
  return { statuses, maxLatencyMs }
}

async function countLoggedIn (app: TestApp, browsers: Browser[]): Promise<number> {
  let loggedIn = 0
  for (const browser of browsers) if ((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status === 200) loggedIn += 1
  return loggedIn
}

for (const kind of ['stopped and restarted', 'frozen and thawed'] as const) {
  test(`redis ${kind} under load: 503s, bounded latency, no lost session`, async (t) => {
    const redis = await redisFor(t)
    const { app } = await startFixture(t, { redisUrl: redis.url })
    const browsers = [new Browser(), new Browser(), new Browser()]
    for (const browser of browsers) await loginAs(browser, app.url, 'budi')

    const healthy = await guardedLoop(app, browsers, 2, 20)
    t.same([...healthy.statuses.keys()], [200])

    if (kind === 'stopped and restarted') {
      await redis.save()
      await redis.kill()
    } else {
      redis.pause()
    }
    const outage = await guardedLoop(app, browsers, 4, 50)
    t.same([...outage.statuses.keys()], [503], 'every request during the outage is 503')
    t.ok(outage.maxLatencyMs < 2000, `answered within 2 s (max ${outage.maxLatencyMs} ms)`)

    const browser = new Browser()
    const login = await browser.request(`${app.url}/auth/mubarokah/login`, { headers: JSON_ACCEPT })
    t.equal(login.status, 503, 'login answers 503')
    t.notMatch(login.text, /127\.0\.0\.1|ECONN/, 'generic body')
    const logout = await browsers[0]?.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
    t.equal(logout?.status, 503, 'logout answers 503')

    if (kind === 'stopped and restarted') await redis.restart()
    else redis.resume()
    await sleep(2500)
    const recovered = await guardedLoop(app, browsers, 2, 20)
    t.same([...recovered.statuses.keys()], [200], 'requests work again without a restart')
    t.equal(browsers.length - await countLoggedIn(app, browsers), 0, 'lost sessions')
  })
}

test('key rotation keeps users logged in, then drops the old key safely', async (t) => {
  const redis = await redisFor(t)
  const port = await freePort()
  const provider = await startProvider([port])
  t.teardown(() => provider.close())
  const oldSecret = 'old-session-secret-of-at-least-32-characters'
  const newSecret = 'new-session-secret-of-at-least-32-characters'
  const oldKey = TEST_ENCRYPTION_KEY
  const newKey = generateFernetKey()
  const client = redis.client()
  const browser = new Browser()

  const first = await startApp({ provider, port, redisUrl: redis.url, sessionSecret: [oldSecret], plugin: { encryptionKeys: oldKey } })
  await loginAs(browser, first.url, 'budi')
  const oldCookie = browser.cookie(first.url, 'sessionId') as string
  await first.close()

  const rotated = await startApp({ provider, port, redisUrl: redis.url, sessionSecret: [newSecret, oldSecret], plugin: { encryptionKeys: `${newKey},${oldKey}` } })
  const during = await browser.request(`${rotated.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(during.status, 200, 'still logged in under [new, old]')
  t.not(browser.cookie(rotated.url, 'sessionId'), oldCookie, 'the session cookie was re-signed with the new secret')
  const [grantKey] = (await client.keys('mubarokah:{g:*')).filter((key) => !key.includes(':grants'))
  const record = JSON.parse(await client.hget(grantKey as string, 'data') as string) as { at: string, rt: string }
  t.equal(FernetKeyRing.parse(newKey).decrypt(record.at).keyId, FernetKeyRing.parse(newKey).primary.id, 'the grant was re-encrypted under the new key')
  t.equal(rotated.logs.events('grant_reencrypted').length, 1)
  await rotated.close()

  const newOnly = await startApp({ provider, port, redisUrl: redis.url, sessionSecret: [newSecret], plugin: { encryptionKeys: newKey } })
  t.teardown(() => newOnly.close())
  t.equal((await browser.request(`${newOnly.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'a re-encrypted login survives dropping the old key')

  const stale = new Browser()
  stale.setCookie(newOnly.url, 'sessionId', oldCookie)
  const response = await stale.request(`${newOnly.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(response.status, 401, 'a cookie signed only with the dropped secret is logged out')
  t.match(response.headers.getSetCookie().join('\n'), /sessionId=;/, 'and its cookie cleared')
  t.equal(newOnly.logs.events('session_cookie_unmatched').length, 1, 'one warning')
  const another = new Browser()
  another.setCookie(newOnly.url, 'sessionId', oldCookie)
  t.equal((await another.request(`${newOnly.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401)
  t.equal(newOnly.logs.events('session_cookie_unmatched').length, 1, 'and only one')
})

test('a grant under a removed encryption key is logged out with one warning', async (t) => {
  const redis = await redisFor(t)
  const port = await freePort()
  const provider = await startProvider([port])
  t.teardown(() => provider.close())
  const browsers = [new Browser(), new Browser()]
  const first = await startApp({ provider, port, redisUrl: redis.url, plugin: { encryptionKeys: TEST_ENCRYPTION_KEY } })
  for (const browser of browsers) await loginAs(browser, first.url, 'budi')
  await first.close()

  const second = await startApp({ provider, port, redisUrl: redis.url, plugin: { encryptionKeys: generateFernetKey() } })
  t.teardown(() => second.close())
  for (const browser of browsers) {
    const api = await browser.request(`${second.url}/dashboard`, { headers: JSON_ACCEPT })
    t.equal(api.status, 401, 'treated as logged out, never a 500')
    t.match(api.headers.getSetCookie().join('\n'), /sessionId=;/, 'cookie cleared')
  }
  const page = await new Browser().request(`${second.url}/dashboard`)
  t.equal(page.status, 302)
  t.equal(second.logs.entries().filter((entry) => entry.event === 'grant_unreadable' && entry.level === 40).length, 1, 'one warning')
})

test('startup with Redis unreachable fails with a clear message', async (t) => {
  const port = await freePort()
  const error = await connectRedis(`redis://:hunter2-password@127.0.0.1:${port}`, {}, 1500).catch((caught: unknown) => caught) as Error
  t.type(error, RedisUnreachableError)
  t.match(error.message, new RegExp(`Redis at 127\\.0\\.0\\.1:${port} is unreachable .*check REDIS_URL`))
  t.notMatch(error.message, /hunter2/, 'no password in the message')
})
