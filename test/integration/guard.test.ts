import { test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { loginAs, startFixture } from '../helpers/app.js'

const JSON_ACCEPT = { accept: 'application/json' }

test('requireUser redirects browsers to login with returnTo', async (t) => {
  const { app } = await startFixture(t)
  const response = await new Browser().request(`${app.url}/dashboard?tab=2`)
  t.equal(response.status, 302)
  t.equal(response.location, `${app.url}/auth/mubarokah/login?returnTo=%2Fdashboard%3Ftab%3D2`)
  t.equal(response.headers.get('cache-control'), 'no-store')
})

test('requireUser answers API clients with 401 and WWW-Authenticate', async (t) => {
  const { app } = await startFixture(t)
  const response = await new Browser().request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(response.status, 401)
  t.match(response.headers.get('www-authenticate'), /^Cookie realm="Mubarokah ID", form-action="\/auth\/mubarokah\/login"/)
  const body = JSON.parse(response.text) as Record<string, unknown>
  t.equal(body.code, 'FST_MUBAROKAH_UNAUTHENTICATED')
  t.equal(body.error, 'Unauthorized')
})

test('a browser comes back to the page it asked for', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  const first = await browser.navigate(`${app.url}/dashboard`)
  const login = first[first.length - 1]
  t.equal(login?.status, 200, 'the provider login page')

  const after = await loginAs(browser, app.url, 'budi', { query: `returnTo=${encodeURIComponent('/dashboard')}` })
  t.equal(after.final.url, `${app.url}/dashboard`)
  t.same(JSON.parse(after.final.text), { name: 'Budi Santoso' })
})

test('optionalUser lets anonymous requests through', async (t) => {
  const { app } = await startFixture(t, {
    register: (instance) => {
      instance.get('/home', { preHandler: instance.mubarokah.optionalUser }, async (request) => ({ user: request.mubarokah?.user.username ?? null }))
    }
  })
  const browser = new Browser()
  t.same(JSON.parse((await browser.request(`${app.url}/home`)).text), { user: null })
  await loginAs(browser, app.url, 'siti')
  t.same(JSON.parse((await browser.request(`${app.url}/home`)).text), { user: 'siti' })
})

test('guarded responses are private and not stored', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const response = await browser.request(`${app.url}/dashboard`)
  t.equal(response.status, 200)
  t.equal(response.headers.get('cache-control'), 'private, no-store', 'Back after logout cannot show it from the cache')
})

test('requireScopes sends browsers to login for the missing scope', async (t) => {
  const { app, provider } = await startFixture(t, {
    register: (instance) => {
      instance.get('/profile', { preHandler: instance.mubarokah.requireScopes('detail-user') }, async () => ({ ok: true }))
    }
  })
  const anonymous = await new Browser().request(`${app.url}/profile`)
  t.equal(anonymous.location, `${app.url}/auth/mubarokah/login?returnTo=%2Fprofile&scope=detail-user`, 'anonymous: login with the scope')

  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const missing = await browser.request(`${app.url}/profile`)
  t.equal(missing.location, `${app.url}/auth/mubarokah/login?returnTo=%2Fprofile&scope=detail-user`, 'logged in without the scope: login again asking for it')
  const granted = await browser.navigate(missing.location as string)
  const final = granted[granted.length - 1]
  t.equal(final?.status, 200, 'the consent page')
  const approved = await browser.submitForm(final as NonNullable<typeof final>, {}, { name: 'decision', value: 'approve' })
  t.equal(approved[approved.length - 1]?.url, `${app.url}/profile`)
  t.equal(approved[approved.length - 1]?.status, 200, 'back on the page with the scope')
  t.equal(provider.stats.tokenRequests.authorization_code, 2)
})

test('requireScopes does not loop when the scope was refused', async (t) => {
  const { app, provider } = await startFixture(t, {
    register: (instance) => {
      instance.get('/profile', { preHandler: instance.mubarokah.requireScopes('detail-user') }, async () => ({ ok: true }))
    }
  })
  // The provider grants only view-user although detail-user was asked for.
  provider.faults.set('token', { kind: 'json', status: 200, body: { token_type: 'Bearer', expires_in: 3600, access_token: 'granted-without-details', refresh_token: 'r', scope: 'view-user' }, grant: 'authorization_code' })
  provider.faults.set('user', { kind: 'json', status: 200, body: { id: 1001, name: 'Budi Santoso' } })
  const browser = new Browser()
  const login = await loginAs(browser, app.url, 'budi', { query: 'scope=detail-user&returnTo=%2Fprofile' })
  t.equal(login.final.status, 403, 'a page, not another redirect')
  t.match(login.final.text, /Izin tambahan diperlukan/)
})

test('requireScopes answers 403 without the scope', async (t) => {
  const { app } = await startFixture(t, {
    register: (instance) => {
      instance.get('/profile', { preHandler: instance.mubarokah.requireScopes('detail-user') }, async () => ({ ok: true }))
    }
  })
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const denied = await browser.request(`${app.url}/profile`, { headers: JSON_ACCEPT })
  t.equal(denied.status, 403)
  t.equal(JSON.parse(denied.text).code, 'FST_MUBAROKAH_SCOPE_REQUIRED')

  await loginAs(browser, app.url, 'budi', { query: 'scope=detail-user' })
  const allowed = await browser.request(`${app.url}/profile`, { headers: JSON_ACCEPT })
  t.equal(allowed.status, 200)
})

test('me/details merges details over the user', async (t) => {
  const { app, provider } = await startFixture(t, { plugin: { scopes: ['view-user', 'detail-user'] } })
  const browser = new Browser()
  await loginAs(browser, app.url, 'siti')
  const response = await browser.request(`${app.url}/auth/mubarokah/me/details`, { headers: JSON_ACCEPT })
  t.equal(response.status, 200)
  const { user } = JSON.parse(response.text) as { user: Record<string, unknown> }
  t.equal(user.id, '1002')
  t.equal(user.email, null, 'a WhatsApp sign-up has no email')
  t.ok('bio' in user && 'date_of_birth' in user && 'address' in user)
  t.equal(provider.stats.detailsRequests, 1)
})

test('me/details keeps the two 403 cases apart', async (t) => {
  const narrow = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, narrow.app.url, 'budi')
  const insufficient = await browser.request(`${narrow.app.url}/auth/mubarokah/me/details`, { headers: JSON_ACCEPT })
  t.equal(insufficient.status, 403)
  t.equal(JSON.parse(insufficient.text).code, 'FST_MUBAROKAH_INSUFFICIENT_SCOPE')

  const unapproved = await startFixture(t, { plugin: { scopes: ['view-user', 'detail-user'] }, providerOptions: {} })
  unapproved.provider.faults.set('details', { kind: 'json', status: 403, body: { error: 'unapproved_scope', message: 'The detail-user scope has not been approved for this application.' } })
  const other = new Browser({ acceptLanguage: 'id' })
  await loginAs(other, unapproved.app.url, 'budi')
  const page = await other.request(`${unapproved.app.url}/auth/mubarokah/me/details`)
  t.equal(page.status, 403)
  t.match(page.text, /Detail profil belum tersedia/)
})

test('me answers the user without a provider call', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const before = provider.stats.userRequests
  const response = await browser.request(`${app.url}/auth/mubarokah/me`, { headers: JSON_ACCEPT })
  t.equal(response.status, 200)
  t.equal(provider.stats.userRequests, before)
  t.match(response.headers.get('cache-control'), /(^|, )no-store$/)
})

test('a tampered session cookie is no session', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const cookie = browser.cookie(app.url, 'sessionId') as string
  browser.setCookie(app.url, 'sessionId', `${cookie.slice(0, -2)}xx`)
  const response = await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(response.status, 401)
})
