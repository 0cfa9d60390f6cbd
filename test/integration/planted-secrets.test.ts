import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { createDevClient, startDevProvider, type DevProviderTokenKind } from '../../src/dev-provider/index.js'
import { Browser, type BrowserResponse, type RequestOptions } from '../helpers/browser.js'
import { loginAs, startApp } from '../helpers/app.js'
import { allRedisText, freePort, startRedis } from '../helpers/redis.js'

/*
 * Planted-secret scan: the provider issues codes and tokens that contain a marker, the client
 * secret, session secret and encryption key are planted values, and state, verifier and session
 * ids are captured as they are made. Then login, refresh, logout and every failure path run at
 * debug level, and logs, response bodies, Location headers and Redis are searched for all of them.
 */

const MARKER = 'PLANTEDSECRET'
const CLIENT_SECRET = `${MARKER}-client-secret-0123456789`
const SESSION_SECRET = `${MARKER}-session-secret-0123456789abcdef`
const ENCRYPTION_KEY = 'UExBTlRFRFNFQ1JFVC1lbmNyeXB0aW9uLWtleS0wMTI='
const JSON_ACCEPT = { accept: 'application/json' }

test('planted secrets appear in no log, body, Location or Redis value', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const port = await freePort()
  let counter = 0
  const provider = await startDevProvider({
    clients: [createDevClient([`http://127.0.0.1:${port}/auth/mubarokah/callback`], { clientSecret: CLIENT_SECRET })],
    accessTokenTtlSeconds: 2,
    generateToken: (kind: DevProviderTokenKind) => `${MARKER}-${kind}-${String(counter += 1).padStart(6, '0')}-${Math.random().toString(36).slice(2)}`
  })
  t.teardown(() => provider.close())

  const captured = new Set<string>([CLIENT_SECRET, SESSION_SECRET, ENCRYPTION_KEY])
  const capturingFetch: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') {
      const verifier = new URLSearchParams(init.body).get('code_verifier')
      if (verifier !== null) captured.add(verifier)
    }
    return await fetch(input, init)
  }
  const app = await startApp({
    provider,
    port,
    redisUrl: redis.url,
    logLevel: 'debug',
    sessionSecret: SESSION_SECRET,
    plugin: { clientSecret: CLIENT_SECRET, encryptionKeys: ENCRYPTION_KEY, fetch: capturingFetch, httpTimeoutMs: 300, scopes: ['view-user', 'detail-user'], allowSsoLogout: true }
  })
  t.teardown(() => app.close())

  const responses: BrowserResponse[] = []
  const loginRedirects = new Set<BrowserResponse>()
  async function request (browser: Browser, path: string, options: RequestOptions = {}): Promise<BrowserResponse> {
    const response = await browser.request(`${app.url}${path}`, options)
    responses.push(response)
    return response
  }
  function captureBrowser (browser: Browser): void {
    const cookie = browser.cookie(app.url, 'sessionId')
    if (cookie !== undefined) {
      captured.add(cookie)
      captured.add(cookie.slice(0, cookie.lastIndexOf('.')))
    }
    const binding = browser.cookie(app.url, 'mubarokah_login')
    if (binding !== undefined) captured.add(binding)
  }
  async function fullLogin (browser: Browser, options: Parameters<typeof loginAs>[3] = {}): Promise<void> {
    const login = await loginAs(browser, app.url, 'budi', options)
    for (const response of login.responses) {
      if (!response.url.startsWith(app.url)) continue
      responses.push(response)
      if (response.location?.startsWith(provider.baseUrl) === true) {
        loginRedirects.add(response)
        captured.add(new URL(response.location).searchParams.get('state') as string)
      }
    }
    captureBrowser(browser)
  }

  // Success paths: login, refresh, details, logout, SSO logout.
  const user = new Browser()
  await fullLogin(user, { returnTo: '/dashboard' })
  await request(user, '/dashboard', { headers: JSON_ACCEPT })
  await sleep(1100)
  await request(user, '/dashboard', { headers: JSON_ACCEPT })
  await request(user, '/auth/mubarokah/me/details', { headers: JSON_ACCEPT })
  await request(user, '/auth/mubarokah/me')
  captureBrowser(user)
  const redisWhileLoggedIn = await allRedisText(redis.client())
  await request(user, '/auth/mubarokah/logout', { method: 'POST', form: { sso: '1' }, headers: { origin: app.url } })

  // Callback failures.
  const failing = new Browser()
  await request(failing, '/auth/mubarokah/callback?code=x')
  await request(failing, '/auth/mubarokah/callback?code=x&state=unknown')
  await fullLogin(failing, { decision: 'deny' })
  for (const fault of [{ kind: 'status', status: 500 }, { kind: 'html', status: 200 }, { kind: 'malformed-json' }, { kind: 'hang' }, { kind: 'json', status: 400, body: { error: 'invalid_grant' } }] as const) {
    provider.faults.set('token', { ...fault, grant: 'authorization_code' })
    await fullLogin(new Browser())
    provider.faults.clear()
  }
  provider.faults.set('user', { kind: 'html', status: 500 })
  await fullLogin(new Browser())
  provider.faults.clear()
  const stolen = new Browser()
  const started = await loginAs(stolen, app.url, 'budi', { stopBeforeCallback: true })
  captured.add(new URL(started.callbackUrl as string).searchParams.get('state') as string)
  await request(new Browser(), (started.callbackUrl as string).slice(app.url.length))
  stolen.deleteCookie(app.url, 'mubarokah_login')
  await request(stolen, (started.callbackUrl as string).slice(app.url.length))

  // Refresh failures: transient, then definitive.
  const refreshing = new Browser()
  await fullLogin(refreshing)
  provider.faults.set('token', { kind: 'html', status: 502, grant: 'refresh_token' })
  await sleep(1100)
  await request(refreshing, '/dashboard', { headers: JSON_ACCEPT })
  await sleep(1000)
  await request(refreshing, '/dashboard', { headers: JSON_ACCEPT })
  provider.faults.clear()
  // Wait out the backoff of the two failures above (1 s, then 2 s).
  await sleep(2500)
  provider.faults.set('token', { kind: 'json', status: 401, body: { error: 'invalid_request', hint: 'Token has been revoked' }, grant: 'refresh_token' })
  await request(refreshing, '/dashboard', { headers: JSON_ACCEPT })
  provider.faults.clear()

  // Request hygiene failures and a store outage.
  const other = new Browser()
  await fullLogin(other)
  await request(other, '/auth/mubarokah/logout', { method: 'POST', headers: { origin: 'https://evil.example' } })
  await request(other, '/auth/mubarokah/logout')
  await request(other, '/auth/mubarokah/login?returnTo=/a&returnTo=/b')
  await redis.save()
  await redis.kill()
  await request(other, '/dashboard', { headers: JSON_ACCEPT })
  await request(other, '/auth/mubarokah/login')
  await request(other, '/auth/mubarokah/logout', { method: 'POST', headers: JSON_ACCEPT })
  await redis.restart()
  await sleep(2500)
  await request(other, '/dashboard', { headers: JSON_ACCEPT })
  const redisAtEnd = await allRedisText(redis.client())

  const secrets = [...captured].filter((secret) => secret.length >= 8)
  t.ok(secrets.length >= 15, `${secrets.length} captured secrets, plus the marker`)
  const statuses = new Set(responses.map((response) => response.status))
  for (const status of [200, 302, 400, 401, 403, 405, 502, 503]) t.ok(statuses.has(status), `a ${status} response was scanned`)

  const logs = app.logs.text
  t.ok(app.logs.entries().some((entry) => entry.level === 20), 'debug lines were written')
  const findings: string[] = []
  const scan = (place: string, text: string): void => {
    if (text.includes(MARKER)) findings.push(`${place}: marker`)
    for (const secret of secrets) if (text.includes(secret)) findings.push(`${place}: ${secret.slice(0, 6)}…`)
  }
  scan('logs', logs)
  for (const response of responses) {
    scan(`body of ${response.url.split('?')[0]} (${response.status})`, response.text)
    // The redirect to the provider must carry the state: that is the protocol. Nothing else may.
    if (!loginRedirects.has(response)) scan(`Location of ${response.url.split('?')[0]}`, response.location ?? '')
  }
  scan('redis while logged in', redisWhileLoggedIn)
  scan('redis at the end', redisAtEnd)
  console.log(`# planted-secret scan: ${secrets.length + 1} values, ${responses.length} responses, ${app.logs.lines.length} log lines, ${findings.length} hits`)
  t.same(findings, [], '0 hits')
})
