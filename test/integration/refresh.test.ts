import { setTimeout as sleep } from 'node:timers/promises'
import { test, type Test } from 'tap'
import { MemoryTokenStore } from '../../src/index.js'
import type { DevProviderFault } from '../../src/dev-provider/index.js'
import { Browser } from '../helpers/browser.js'
import { loginAs, startFixture, type Fixture, type FixtureOptions } from '../helpers/app.js'

/*
 * These tests use 2-second access tokens, so the refresh window (capped at half the lifetime)
 * opens one second after login and the token expires after two.
 */
const TOKEN_SECONDS = 2
const JSON_ACCEPT = { accept: 'application/json' }

interface LoggedIn extends Fixture {
  readonly browser: Browser
  readonly store: MemoryTokenStore
  token(): Promise<{ status: number, accessToken?: string, code?: string, retryAfter: string | null }>
}

async function loggedIn (t: Test, options: FixtureOptions = {}): Promise<LoggedIn> {
  const store = new MemoryTokenStore()
  t.teardown(() => store.close())
  const fixture = await startFixture(t, {
    ...options,
    plugin: { tokenStore: store, httpTimeoutMs: 500, ...options.plugin },
    providerOptions: { accessTokenTtlSeconds: TOKEN_SECONDS, ...options.providerOptions }
  })
  const browser = new Browser()
  const login = await loginAs(browser, fixture.app.url, 'budi', { returnTo: '/dashboard' })
  t.equal(login.final.status, 200, 'logged in')
  return {
    ...fixture,
    browser,
    store,
    async token () {
      const response = await browser.request(`${fixture.app.url}/token`, { headers: JSON_ACCEPT })
      const body = JSON.parse(response.text) as { accessToken?: string, code?: string }
      return { status: response.status, ...body, retryAfter: response.headers.get('retry-after') }
    }
  }
}

async function grantIdOf (fixture: LoggedIn): Promise<string> {
  const [grantId] = await fixture.app.app.mubarokah.tokens.listUser('1001')
  return grantId as string
}

test('refresh inside the window rotates the refresh token', async (t) => {
  const fixture = await loggedIn(t)
  const initial = await fixture.token()
  t.equal(fixture.provider.stats.tokenRequests.refresh_token, 0, 'no refresh outside the window')

  await sleep(1100)
  const refreshed = await fixture.token()
  t.equal(refreshed.status, 200)
  t.not(refreshed.accessToken, initial.accessToken, 'a new access token')
  t.ok(fixture.provider.isAccessTokenActive(refreshed.accessToken as string))
  t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1)

  const again = await fixture.token()
  t.equal(again.accessToken, refreshed.accessToken, 'the second request uses the new token')
  t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1, 'the refresh token was sent once')

  await sleep(1100)
  const third = await fixture.token()
  t.equal(third.status, 200, 'the stored rotated refresh token works')
  t.equal(fixture.provider.stats.refreshSuccesses, 2)
  t.equal(fixture.provider.stats.refreshRejections, 0, 'the revoked refresh token was never reused')
})

test('concurrent requests share one refresh', async (t) => {
  const fixture = await loggedIn(t)
  fixture.provider.faults.set('token', { kind: 'latency', ms: 300, grant: 'refresh_token' })
  await sleep(1100)

  const results = await Promise.all(Array.from({ length: 20 }, async () => await fixture.token()))
  t.same(results.map((result) => result.status), Array(20).fill(200))
  t.equal(new Set(results.map((result) => result.accessToken)).size, 1, 'every request got the same new token')
  t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1, 'exactly one refresh')
  t.equal(fixture.provider.stats.maxConcurrentRefreshes, 1)
})

const REVOKED = { error: 'invalid_request', error_description: 'The refresh token is invalid.', hint: 'Token has been revoked', message: 'The refresh token is invalid.' }

for (const [name, fault] of [
  ['401 revoked', { kind: 'json', status: 401, body: REVOKED, grant: 'refresh_token' }],
  ['400 invalid_grant', { kind: 'json', status: 400, body: { error: 'invalid_grant', error_description: 'The refresh token is invalid.' }, grant: 'refresh_token' }]
] as const) {
  test(`definitive rejection (${name}) ends the grant and session`, async (t) => {
    const fixture = await loggedIn(t)
    fixture.provider.faults.set('token', fault as DevProviderFault)
    await sleep(1100)

    const api = await fixture.token()
    t.equal(api.status, 401)
    t.equal(api.code, 'FST_MUBAROKAH_GRANT_ENDED')
    t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1, 'no retry')
    t.same(await fixture.app.app.mubarokah.tokens.listUser('1001'), [], 'grant deleted')
    t.equal(fixture.browser.cookie(fixture.app.url, 'sessionId'), undefined, 'session cookie cleared')

    const page = await fixture.browser.request(`${fixture.app.url}/dashboard`)
    t.equal(page.status, 302)
    t.equal(page.location, `${fixture.app.url}/auth/mubarokah/login?returnTo=%2Fdashboard`)
    t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1)
  })
}

const TRANSIENT: Array<[string, DevProviderFault]> = [
  ['500', { kind: 'status', status: 500, grant: 'refresh_token' }],
  ['502 HTML page', { kind: 'html', status: 502, grant: 'refresh_token' }],
  ['dropped connection', { kind: 'drop', grant: 'refresh_token' }],
  ['no answer', { kind: 'hang', grant: 'refresh_token' }],
  ['429 with Retry-After', { kind: 'rate-limit', retryAfterSeconds: 1, grant: 'refresh_token' }],
  ['200 HTML maintenance page', { kind: 'html', status: 200, grant: 'refresh_token' }],
  ['malformed JSON', { kind: 'malformed-json', grant: 'refresh_token' }]
]

for (const [name, fault] of TRANSIENT) {
  test(`transient refresh failure (${name}) keeps the user`, async (t) => {
    const fixture = await loggedIn(t)
    const initial = await fixture.token()
    fixture.provider.faults.set('token', fault)
    await sleep(1100)

    const served = await fixture.token()
    t.equal(served.status, 200, 'served while the access token is valid')
    t.equal(served.accessToken, initial.accessToken, 'with the current token')
    t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1)
    const grantId = await grantIdOf(fixture)
    t.ok(grantId, 'grant kept')
    t.equal(await fixture.store.isLocked(`{g:${grantId}}:refresh`), false, 'lock released')

    const backedOff = await fixture.token()
    t.equal(backedOff.status, 200)
    t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1, 'backs off instead of retrying at once')

    await sleep(1000)
    const expired = await fixture.token()
    t.equal(expired.status, 503, 'expired and not refreshable now')
    t.equal(expired.code, 'FST_MUBAROKAH_REFRESH_UNAVAILABLE')
    t.ok(Number(expired.retryAfter) >= 1, 'Retry-After set')
    t.same(await fixture.app.app.mubarokah.tokens.listUser('1001'), [grantId], 'never logged out by an outage')

    fixture.provider.faults.clear()
    await sleep(Number(expired.retryAfter) * 1000)
    const recovered = await fixture.token()
    t.equal(recovered.status, 200, 'recovers once the provider is back')
    t.not(recovered.accessToken, initial.accessToken)
  })
}

test('provider unreachable keeps the user', async (t) => {
  const fixture = await loggedIn(t)
  await sleep(1100)
  await fixture.provider.close()

  const served = await fixture.token()
  t.equal(served.status, 200)
  await sleep(1000)
  const expired = await fixture.token()
  t.equal(expired.status, 503)
  t.equal((await fixture.app.app.mubarokah.tokens.listUser('1001')).length, 1, 'grant kept')
})

test('a 401 from the provider triggers one refresh and one retry', async (t) => {
  // Hour-long tokens, so no refresh happens because of the window.
  const fixture = await loggedIn(t, { plugin: { scopes: ['view-user', 'detail-user'] }, providerOptions: { accessTokenTtlSeconds: 3600 } })
  fixture.provider.faults.set('details', { kind: 'json', status: 401, body: { message: 'Unauthenticated.' }, times: 1 })

  const recovered = await fixture.browser.request(`${fixture.app.url}/auth/mubarokah/me/details`, { headers: JSON_ACCEPT })
  t.equal(recovered.status, 200)
  t.equal(fixture.provider.stats.tokenRequests.refresh_token, 1, 'one refresh')
  t.equal(fixture.provider.stats.detailsRequests, 2, 'one retry')

  fixture.provider.faults.set('details', { kind: 'json', status: 401, body: { message: 'Unauthenticated.' }, times: 5 })
  const ended = await fixture.browser.request(`${fixture.app.url}/auth/mubarokah/me/details`, { headers: JSON_ACCEPT })
  t.equal(ended.status, 401)
  t.equal(JSON.parse(ended.text).code, 'FST_MUBAROKAH_GRANT_ENDED')
  t.equal(fixture.provider.stats.tokenRequests.refresh_token, 2, 'one more refresh, not a loop')
  t.equal(fixture.provider.stats.detailsRequests, 4)
})

test('refresh without a new refresh token keeps the current one', async (t) => {
  const fixture = await loggedIn(t)
  fixture.provider.faults.set('token', { kind: 'omit-refresh-token', grant: 'refresh_token', times: 1 })
  await sleep(1100)
  t.equal((await fixture.token()).status, 200)
  await sleep(1100)
  t.equal((await fixture.token()).status, 200, 'the kept refresh token still works')
  t.equal(fixture.provider.stats.refreshSuccesses, 2)
})

test('logout during an in-flight refresh leaves no tokens', async (t) => {
  const fixture = await loggedIn(t)
  fixture.provider.faults.set('token', { kind: 'latency', ms: 300, grant: 'refresh_token' })
  await sleep(1100)

  const refreshing = fixture.token()
  await sleep(100)
  const logout = await fixture.browser.request(`${fixture.app.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
  t.equal(logout.status, 200)
  const result = await refreshing
  t.equal(result.status, 401, 'the in-flight request ends logged out')
  t.equal(fixture.provider.stats.refreshSuccesses, 1, 'the provider did refresh')
  t.same(await fixture.app.app.mubarokah.tokens.listUser('1001'), [], 'but no tokens were written back')
})
