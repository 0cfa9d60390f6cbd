import { request as httpRequest } from 'node:http'
import { test } from 'tap'
import { MemoryTokenStore } from '../../src/index.js'
import { Browser } from '../helpers/browser.js'
import { loginAs, startFixture } from '../helpers/app.js'

const JSON_ACCEPT = { accept: 'application/json' }

test('login flow ends on returnTo with the user resolved', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()

  const login = await loginAs(browser, app.url, 'budi', { returnTo: '/dashboard' })
  t.equal(login.final.status, 200)
  t.equal(login.final.url, `${app.url}/dashboard`)
  t.same(JSON.parse(login.final.text), { name: 'Budi Santoso' })
  t.equal(provider.stats.tokenRequests.authorization_code, 1)

  const me = await browser.request(`${app.url}/auth/mubarokah/me`, { headers: JSON_ACCEPT })
  t.equal(me.status, 200)
  const body = JSON.parse(me.text) as { user: { id: string, email: string | null }, scopes: string[] }
  t.equal(body.user.id, '1001')
  t.same(body.scopes, ['view-user'])
})

test('login works with HTTP Basic client authentication', async (t) => {
  const { app, provider } = await startFixture(t, { plugin: { clientAuthentication: 'basic' } })
  const login = await loginAs(new Browser(), app.url, 'budi', { returnTo: '/dashboard' })
  t.equal(login.final.status, 200)
  t.equal(provider.stats.tokenRequests.authorization_code, 1)
})

test('login redirects with state, PKCE S256 and scopes', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()

  const first = await browser.request(`${app.url}/auth/mubarokah/login?returnTo=/x`)
  const second = await browser.request(`${app.url}/auth/mubarokah/login`)
  t.equal(first.status, 302)
  const location = new URL(first.location as string)
  t.equal(location.pathname, '/oauth/authorize')
  t.equal(location.searchParams.get('response_type'), 'code')
  t.equal(location.searchParams.get('client_id'), 'dev-client')
  t.equal(location.searchParams.get('redirect_uri'), `${app.url}/auth/mubarokah/callback`)
  t.equal(location.searchParams.get('scope'), 'view-user')
  t.equal(location.searchParams.get('code_challenge_method'), 'S256')
  t.match(location.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
  t.match(location.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/, '256 random bits')
  t.not(location.searchParams.get('state'), new URL(second.location as string).searchParams.get('state'), 'each login has its own state')

  const cookie = first.headers.getSetCookie().find((header) => header.startsWith('mubarokah_login='))
  t.match(cookie, /HttpOnly/)
  t.match(cookie, /SameSite=Lax/)
  t.match(cookie, /Path=\//)
  t.match(cookie, /Max-Age=600/)
  t.equal(first.headers.get('cache-control'), 'no-store')
  t.equal(first.headers.get('referrer-policy'), 'no-referrer')
  t.equal(first.headers.getSetCookie().some((header) => header.startsWith('sessionId=')), false, 'starting a login stores no session')
})

test('login on another host than the redirect URI warns once', async (t) => {
  const { app } = await startFixture(t)
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const request = httpRequest(`${app.url}/auth/mubarokah/login`, { headers: { host: `localhost:${app.port}` } }, (response) => {
        response.resume()
        resolve(response.statusCode)
      })
      request.on('error', reject)
      request.end()
    })
    t.equal(status, 302)
  }
  const warnings = app.logs.events('login_host_mismatch')
  t.equal(warnings.length, 1, 'one warning')
  t.equal(warnings[0]?.host, `localhost:${app.port}`)
  t.equal(warnings[0]?.callbackHost, `127.0.0.1:${app.port}`)
})

test('login passes prompt and extra parameters', async (t) => {
  const { app } = await startFixture(t, { plugin: { prompt: 'consent', authorizationParams: { ui_locales: 'id' }, scopes: ['view-user'] } })
  const browser = new Browser()

  const configured = new URL((await browser.request(`${app.url}/auth/mubarokah/login`)).location as string)
  t.equal(configured.searchParams.get('prompt'), 'consent')
  t.equal(configured.searchParams.get('ui_locales'), 'id')

  const perLogin = new URL((await browser.request(`${app.url}/auth/mubarokah/login?prompt=login&scope=detail-user%20admin`)).location as string)
  t.equal(perLogin.searchParams.get('prompt'), 'login')
  t.equal(perLogin.searchParams.get('scope'), 'view-user detail-user', 'unknown scopes are dropped')
})

test('callback without state is 400 STATE_MISSING', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()
  await browser.request(`${app.url}/auth/mubarokah/login`)

  const api = await browser.request(`${app.url}/auth/mubarokah/callback?code=abc`, { headers: JSON_ACCEPT })
  t.equal(api.status, 400)
  const body = JSON.parse(api.text) as Record<string, unknown>
  t.equal(body.code, 'FST_MUBAROKAH_STATE_MISSING')
  t.equal(body.statusCode, 400)
  t.match(body.errorId, /^[0-9a-f]{12}$/)
  t.equal(provider.stats.tokenRequests.authorization_code, 0)

  const page = await browser.request(`${app.url}/auth/mubarokah/callback?code=abc`)
  t.equal(page.status, 400)
  t.match(page.headers.get('content-type'), /text\/html/)
  t.match(page.text, /<html lang="id">/)
  t.match(page.text, /state tidak ada/)
})

test('callback with unknown state is 400 STATE_UNKNOWN', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()
  await browser.request(`${app.url}/auth/mubarokah/login`)

  const response = await browser.request(`${app.url}/auth/mubarokah/callback?code=abc&state=unknown-state`, { headers: JSON_ACCEPT })
  t.equal(response.status, 400)
  t.equal(JSON.parse(response.text).code, 'FST_MUBAROKAH_STATE_UNKNOWN')
  t.equal(provider.stats.tokenRequests.authorization_code, 0)
})

test('callback without the login cookie asks to start again', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser({ acceptLanguage: 'en-US,en;q=0.9' })
  const login = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true })
  browser.deleteCookie(app.url, 'mubarokah_login')

  const response = await browser.request(login.callbackUrl as string)
  t.equal(response.status, 400)
  t.match(response.text, /Login expired/)
  t.match(response.text, /start the login again/)
  t.equal(provider.stats.tokenRequests.authorization_code, 0, 'no token request')
})

test('callback under another path prefix receives the login cookie', async (t) => {
  const { app, provider } = await startFixture(t, {
    plugin: { prefix: '/login/x' },
    providerRedirectPath: '/api/auth/callback'
  })
  const browser = new Browser()

  const login = await loginAs(browser, app.url, 'siti', { loginPath: '/login/x/login', callbackPath: '/api/auth/callback', returnTo: '/dashboard' })
  t.equal(login.final.url, `${app.url}/dashboard`)
  t.equal(login.final.status, 200)
  t.equal(provider.stats.tokenRequests.authorization_code, 1)
})

test('state is bound to the browser that started the login', async (t) => {
  const { app, provider } = await startFixture(t)
  const victim = new Browser()
  const other = new Browser()
  const started = await loginAs(victim, app.url, 'budi', { stopBeforeCallback: true, returnTo: '/dashboard' })
  await other.request(`${app.url}/auth/mubarokah/login`)

  const stolen = await other.request(started.callbackUrl as string, { headers: JSON_ACCEPT })
  t.equal(stolen.status, 400)
  t.equal(JSON.parse(stolen.text).code, 'FST_MUBAROKAH_STATE_MISMATCH')
  t.equal(provider.stats.tokenRequests.authorization_code, 0, 'no token request for the other browser')

  const own = await victim.navigate(started.callbackUrl as string)
  t.equal(own[0]?.status, 302, 'the transaction was left untouched')
  t.equal(own[own.length - 1]?.url, `${app.url}/dashboard`)
  t.equal(provider.stats.tokenRequests.authorization_code, 1)
})

test('access denied at the provider is a friendly page', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser({ acceptLanguage: 'en' })

  const login = await loginAs(browser, app.url, 'budi', { decision: 'deny' })
  t.equal(login.final.status, 403)
  t.match(login.final.text, /Login cancelled/)
  t.notMatch(login.final.text, /at Object\.|node_modules/, 'no stack trace')
  t.equal(provider.stats.tokenRequests.authorization_code, 0)

  const dashboard = await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(dashboard.status, 401, 'not logged in')
})

test('provider server error at the code exchange is 502 and stores nothing', async (t) => {
  const { app, provider } = await startFixture(t)
  provider.faults.set('token', { kind: 'status', status: 500 })
  const browser = new Browser()

  const login = await loginAs(browser, app.url, 'budi')
  t.equal(login.final.status, 502)
  t.match(login.final.text, /tidak dapat dihubungi/)
  t.same(await app.app.mubarokah.tokens.listUser('1001'), [], 'no grant stored')
  t.equal(browser.cookie(app.url, 'sessionId'), undefined, 'no session cookie')
})

test('provider unreachable at the code exchange is 503', async (t) => {
  const { app, provider } = await startFixture(t, { plugin: { httpTimeoutMs: 300 } })
  provider.faults.set('token', { kind: 'hang' })
  const login = await loginAs(new Browser({ acceptLanguage: 'en' }), app.url, 'budi')
  t.equal(login.final.status, 503)
  t.ok(Number(login.final.headers.get('retry-after')) >= 1, 'Retry-After set')
  t.match(login.final.text, /Mubarokah ID is unreachable/)
  t.same(await app.app.mubarokah.tokens.listUser('1001'), [])
})

test('session id is regenerated at login', async (t) => {
  const { app } = await startFixture(t)
  const attacker = new Browser()
  await loginAs(attacker, app.url, 'siti')
  const planted = attacker.cookie(app.url, 'sessionId') as string
  t.ok(planted)

  const victim = new Browser()
  victim.setCookie(app.url, 'sessionId', planted)
  const login = await loginAs(victim, app.url, 'budi', { returnTo: '/dashboard' })
  t.same(JSON.parse(login.final.text), { name: 'Budi Santoso' })
  t.not(victim.cookie(app.url, 'sessionId'), planted, 'a new session id was issued')

  const replay = new Browser()
  replay.setCookie(app.url, 'sessionId', planted)
  const response = await replay.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(response.status, 401, 'the planted id stopped working')
  t.same(await app.app.mubarokah.tokens.listUser('1002'), [], 'the planted session and its grant are gone')
})

test('double callback exchanges the code once and logs in', async (t) => {
  const { app, provider } = await startFixture(t, { providerOptions: {} })
  provider.faults.set('token', { kind: 'latency', ms: 150 })
  const browser = new Browser()
  const started = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true, returnTo: '/dashboard' })

  const first = browser.request(started.callbackUrl as string)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const second = browser.request(started.callbackUrl as string)
  const [firstResponse, secondResponse] = await Promise.all([first, second])

  t.equal(provider.stats.tokenRequests.authorization_code, 1, 'exactly one code exchange')
  t.equal(firstResponse.status, 302)
  t.equal(firstResponse.location, `${app.url}/dashboard`)
  t.equal(secondResponse.status, 302, 'the second ends on the app, not on an error')
  t.equal(secondResponse.location, `${app.url}/dashboard`)
  t.equal((await app.app.mubarokah.tokens.listUser('1001')).length, 1, 'one grant')

  const dashboard = await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(dashboard.status, 200, 'logged in with whichever cookie the browser kept')
})

test('returnTo only allows same-origin paths', async (t) => {
  const { app } = await startFixture(t)
  const cases: Array<[string, string]> = [
    ['https://evil.example/', '/'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['/ok\r\nSet-Cookie:x=1', '/'],
    ['/settings?tab=1', '/settings?tab=1']
  ]
  for (const [returnTo, expected] of cases) {
    const browser = new Browser()
    const login = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true, returnTo })
    const callback = await browser.request(`${login.callbackUrl as string}&returnTo=https%3A%2F%2Fevil.example%2F`)
    t.equal(callback.status, 302, JSON.stringify(returnTo))
    t.equal(callback.headers.get('location'), expected, `${JSON.stringify(returnTo)} ends on ${expected}`)
  }
})

test('several tabs can log in at once', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()
  const tabA = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true, returnTo: '/a' })
  const tabB = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true, returnTo: '/b' })
  t.not(tabA.callbackUrl, tabB.callbackUrl)

  const finishB = await browser.request(tabB.callbackUrl as string)
  const finishA = await browser.request(tabA.callbackUrl as string)
  t.equal(finishB.location, `${app.url}/b`)
  t.equal(finishA.location, `${app.url}/a`)
  t.equal(provider.stats.tokenRequests.authorization_code, 2)
  t.equal((await app.app.mubarokah.tokens.listUser('1001')).length, 1, 'the second login in one browser replaced the first grant')
})

test('pending logins are capped per browser', async (t) => {
  const { app } = await startFixture(t, { plugin: { maxPendingLogins: 2 } })
  const browser = new Browser()
  const first = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true })
  await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true })
  const third = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true, returnTo: '/third' })

  const dropped = await browser.request(first.callbackUrl as string, { headers: JSON_ACCEPT })
  t.equal(dropped.status, 400)
  t.equal(JSON.parse(dropped.text).code, 'FST_MUBAROKAH_STATE_UNKNOWN', 'the oldest login was dropped')
  const kept = await browser.request(third.callbackUrl as string)
  t.equal(kept.location, `${app.url}/third`)
})

test('login transactions expire', async (t) => {
  let now = Date.now()
  const store = new MemoryTokenStore({ now: () => now })
  t.teardown(() => store.close())
  const { app, provider } = await startFixture(t, { plugin: { tokenStore: store, loginTimeoutSeconds: 600 } })
  const browser = new Browser()
  const started = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true })

  now += 601_000
  const response = await browser.request(started.callbackUrl as string, { headers: JSON_ACCEPT })
  t.equal(response.status, 400)
  t.equal(JSON.parse(response.text).code, 'FST_MUBAROKAH_STATE_UNKNOWN')
  t.equal(provider.stats.tokenRequests.authorization_code, 0)
})

test('repeated or oversized callback parameters are rejected', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()
  const started = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true })
  const url = new URL(started.callbackUrl as string)

  const repeated = await browser.request(`${url.toString()}&state=second`, { headers: JSON_ACCEPT })
  t.equal(repeated.status, 400)
  t.equal(JSON.parse(repeated.text).code, 'FST_MUBAROKAH_REQUEST_INVALID')

  const oversized = await browser.request(`${url.origin}${url.pathname}?state=${url.searchParams.get('state') as string}&code=${'x'.repeat(5000)}`, { headers: JSON_ACCEPT })
  t.equal(oversized.status, 400)
  t.equal(provider.stats.tokenRequests.authorization_code, 0)

  const completed = await browser.request(url.toString())
  t.equal(completed.status, 302, 'the rejected requests did not consume the login')
})
