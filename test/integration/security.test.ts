import { test, type Test } from 'tap'
import { createDevClient, startDevProvider } from '../../src/dev-provider/index.js'
import { MemorySessionStore, REDACT_PATHS } from '../../src/index.js'
import Fastify from 'fastify'
import { Writable } from 'node:stream'
import { Browser } from '../helpers/browser.js'
import { loginAs, startApp, startFixture, type LogCapture, type StartAppOptions } from '../helpers/app.js'
import { freePort } from '../helpers/redis.js'

const JSON_ACCEPT = { accept: 'application/json' }
const REAL_SECRET = 'a-real-client-secret-issued-by-the-provider'

/** Starts an app in production mode (Secure cookies), as if behind a TLS proxy on loopback. */
async function productionApp (t: Test, fastify: StartAppOptions['fastify']): Promise<{ url: string, logs: LogCapture }> {
  const port = await freePort()
  const provider = await startDevProvider({ clients: [createDevClient([`http://127.0.0.1:${port}/auth/mubarokah/callback`], { clientSecret: REAL_SECRET })] })
  t.teardown(() => provider.close())
  const app = await startApp({
    provider,
    port,
    fastify,
    sessionCookie: { secure: true },
    plugin: { production: true, clientSecret: REAL_SECRET }
  })
  t.teardown(() => app.close())
  return { url: app.url, logs: app.logs }
}

test('behind a TLS proxy without trustProxy the login is refused loudly', async (t) => {
  const { url, logs } = await productionApp(t, {})
  const response = await new Browser({ acceptLanguage: 'en' }).request(`${url}/auth/mubarokah/login`, { headers: { 'x-forwarded-proto': 'https' } })
  t.equal(response.status, 500)
  t.match(response.text, /Login unavailable/)
  t.equal(response.location, null, 'no redirect to the provider')
  t.notOk(response.headers.getSetCookie().some((cookie) => cookie.startsWith('mubarokah_login=')), 'no cookie that would be dropped')
  const [line] = logs.events('login_insecure_transport')
  t.match(line?.msg, /trustProxy/, 'the log line names trustProxy')
  t.equal(line?.forwardedProtoHeader, true)
})

test('with trustProxy the cookies are Secure, HttpOnly, SameSite=Lax', async (t) => {
  const { url } = await productionApp(t, { trustProxy: true })
  const response = await new Browser().request(`${url}/auth/mubarokah/login`, { headers: { 'x-forwarded-proto': 'https' } })
  t.equal(response.status, 302)
  const cookie = response.headers.getSetCookie().find((header) => header.startsWith('mubarokah_login=')) as string
  for (const attribute of ['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']) t.match(cookie, new RegExp(`; ${attribute}(;|$)`), attribute)
})

test('a forged X-Forwarded-Proto from an untrusted peer changes nothing', async (t) => {
  // Only 10.9.9.9 is a trusted proxy; the test client connects from 127.0.0.1.
  const { url, logs } = await productionApp(t, { trustProxy: '10.9.9.9' })
  const forged = await new Browser().request(`${url}/auth/mubarokah/login`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '10.9.9.9', accept: 'application/json' } })
  const plain = await new Browser().request(`${url}/auth/mubarokah/login`, { headers: JSON_ACCEPT })
  t.equal(forged.status, 500)
  t.equal(plain.status, 500)
  t.equal(JSON.parse(forged.text).code, JSON.parse(plain.text).code, 'same outcome as without the header')
  t.equal(logs.events('login_insecure_transport').length, 2)
})

test('production self-check warns about risky settings', async (t) => {
  const port = await freePort()
  const provider = await startDevProvider({ clients: [createDevClient([`http://127.0.0.1:${port}/auth/mubarokah/callback`], { clientSecret: REAL_SECRET })] })
  t.teardown(() => provider.close())
  const app = await startApp({ provider, port, plugin: { production: true, clientSecret: REAL_SECRET, loginCookie: { secure: 'auto' } } })
  t.teardown(() => app.close())
  const options = app.logs.events('insecure_setting').map((entry) => entry.option)
  t.same(options.sort(), ['loginCookie.secure', 'tokenStore'])
  t.equal(app.logs.events('trust_proxy_unset').length, 1)
})

test('every auth response is no-store and no-referrer', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const requests: Array<[string, { method?: string, headers?: Record<string, string> }]> = [
    ['/auth/mubarokah/login', {}],
    ['/auth/mubarokah/callback', {}],
    ['/auth/mubarokah/callback?state=x', JSON_ACCEPT as never],
    ['/auth/mubarokah/me', { headers: JSON_ACCEPT }],
    ['/auth/mubarokah/me/details', { headers: JSON_ACCEPT }],
    ['/auth/mubarokah/logout', {}],
    ['/auth/mubarokah/logout', { method: 'POST', headers: { ...JSON_ACCEPT, origin: 'https://evil.example' } }],
    ['/auth/mubarokah/logout', { method: 'POST', headers: JSON_ACCEPT }]
  ]
  for (const [path, options] of requests) {
    const response = await browser.request(`${app.url}${path}`, options)
    t.match(response.headers.get('cache-control'), /(^|, )no-store$/, `${options.method ?? 'GET'} ${path} (${response.status})`)
    t.equal(response.headers.get('referrer-policy'), 'no-referrer', `${options.method ?? 'GET'} ${path} (${response.status})`)
  }
})

test('repeated or oversized login parameters are rejected', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()
  const repeated = await browser.request(`${app.url}/auth/mubarokah/login?returnTo=/a&returnTo=/b`, { headers: JSON_ACCEPT })
  t.equal(repeated.status, 400)
  t.equal(JSON.parse(repeated.text).code, 'FST_MUBAROKAH_REQUEST_INVALID')
  const oversized = await browser.request(`${app.url}/auth/mubarokah/login?returnTo=/${'a'.repeat(3000)}`, { headers: JSON_ACCEPT })
  t.equal(oversized.status, 400)
  t.equal(provider.stats.authorizeRequests, 0)
})

test('tampered and undecodable session cookies are no session and are cleared', async (t) => {
  const { app } = await startFixture(t)
  const values = ['garbage', 'abc.def', '%E0%A4%A', '"quoted"', 'x'.repeat(3000), 'a.b.c.d', '']
  for (const value of values) {
    const browser = new Browser()
    browser.setCookie(app.url, 'sessionId', value)
    const response = await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
    t.equal(response.status, 401, `cookie ${JSON.stringify(value.slice(0, 20))}`)
    if (value !== '') t.match(response.headers.getSetCookie().join('\n'), /sessionId=;/, 'cleared')
  }
})

test('anonymous requests create no session records', async (t) => {
  const sessions = new MemorySessionStore()
  t.teardown(() => sessions.close())
  const { app } = await startFixture(t, {
    sessionStore: sessions,
    register: (instance) => {
      instance.get('/public', { preHandler: instance.mubarokah.optionalUser }, async () => ({ ok: true }))
    }
  })
  const browser = new Browser()
  for (let index = 0; index < 20; index += 1) {
    await browser.request(`${app.url}/public`)
    await browser.request(`${app.url}/dashboard`)
    await browser.request(`${app.url}/auth/mubarokah/login`)
    await browser.request(`${app.url}/auth/mubarokah/me`, { headers: JSON_ACCEPT })
  }
  t.equal(browser.cookie(app.url, 'sessionId'), undefined, 'no session cookie was ever set')
  t.equal(sessions.size, 0, 'no session record')

  await loginAs(browser, app.url, 'budi')
  t.equal(sessions.size, 1, 'a login creates exactly one')
})

test('login starts and callbacks are rate limited per address and per browser', async (t) => {
  const { app, provider } = await startFixture(t, { plugin: { rateLimit: { loginsPerMinute: 3, callbacksPerMinute: 2 } } })
  const browser = new Browser()
  const statuses: number[] = []
  for (let index = 0; index < 4; index += 1) statuses.push((await browser.request(`${app.url}/auth/mubarokah/login`, { headers: JSON_ACCEPT })).status)
  t.same(statuses, [302, 302, 302, 429])
  const limited = await browser.request(`${app.url}/auth/mubarokah/login`, { headers: JSON_ACCEPT })
  t.equal(JSON.parse(limited.text).code, 'FST_MUBAROKAH_RATE_LIMITED')
  const retryAfter = Number(limited.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)

  const callbacks: number[] = []
  for (let index = 0; index < 3; index += 1) callbacks.push((await browser.request(`${app.url}/auth/mubarokah/callback?state=s${index}&code=c`, { headers: JSON_ACCEPT })).status)
  t.same(callbacks, [400, 400, 429], 'code exchanges are capped before any provider call')
  t.equal(provider.stats.tokenRequests.authorization_code, 0)
})

test('the recommended redaction hides tokens and cookies a host app logs', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'info', redact: [...REDACT_PATHS], stream: new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(chunk.toString()); done() } }) } })
  app.get('/', async (request) => {
    request.log.info({ req: { headers: request.headers }, tokens: { accessToken: 'SECRET-ACCESS', refreshToken: 'SECRET-REFRESH' }, body: { client_secret: 'SECRET-CLIENT' } }, 'careless host log')
    return 'ok'
  })
  await app.inject({ url: '/', headers: { cookie: 'sessionId=SECRET-COOKIE', authorization: 'Bearer SECRET-BEARER' } })
  await app.close()
  const text = lines.join('')
  t.match(text, /careless host log/)
  for (const secret of ['SECRET-ACCESS', 'SECRET-REFRESH', 'SECRET-CLIENT', 'SECRET-COOKIE', 'SECRET-BEARER']) t.notOk(text.includes(secret), secret)
})
