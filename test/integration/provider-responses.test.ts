import { test } from 'tap'
import type { DevProviderFault } from '../../src/dev-provider/index.js'
import { Browser } from '../helpers/browser.js'
import { loginAs, startFixture } from '../helpers/app.js'

const JSON_ACCEPT = { accept: 'application/json' }

test('token response variants still log in', async (t) => {
  const variants: Array<[string, DevProviderFault]> = [
    ['expires_in "3600"', { kind: 'expires-in', value: '3600' }],
    ['expires_in missing', { kind: 'expires-in', value: 'omit' }],
    ['expires_in null', { kind: 'expires-in', value: null }],
    ['expires_in "abc"', { kind: 'expires-in', value: 'abc' }],
    ['expires_in -5', { kind: 'expires-in', value: -5 }],
    ['expires_in 1e12', { kind: 'expires-in', value: 1e12 }],
    ['token_type bearer', { kind: 'token-type', value: 'bearer' }],
    ['token_type BEARER', { kind: 'token-type', value: 'BEARER' }],
    ['token_type missing', { kind: 'token-type', value: 'omit' }],
    ['scope missing', { kind: 'omit-scope' }],
    ['user id as string', { kind: 'string-id' }]
  ]
  const { app, provider } = await startFixture(t, { plugin: { defaultTokenLifetimeSeconds: 1800 } })
  for (const [name, fault] of variants) {
    provider.faults.clear()
    provider.faults.set(fault.kind === 'string-id' ? 'user' : 'token', fault)
    const browser = new Browser()
    const login = await loginAs(browser, app.url, 'budi', { returnTo: '/auth/mubarokah/me' })
    t.equal(login.final.status, 200, name)
    const me = JSON.parse((await browser.request(`${app.url}/auth/mubarokah/me`, { headers: JSON_ACCEPT })).text) as { expiresAt: number, user: { id: string }, scopes: string[] }
    t.ok(Number.isFinite(me.expiresAt) && me.expiresAt > Date.now(), `${name}: finite expiry`)
    t.equal(me.user.id, '1001', `${name}: id is a string`)
    t.same(me.scopes, ['view-user'], `${name}: scopes`)
    if (name.startsWith('expires_in') && name !== 'expires_in "3600"') {
      t.ok(Math.abs(me.expiresAt - Date.now() - 1800_000) < 10_000, `${name}: the default lifetime`)
    }
    const token = JSON.parse((await browser.request(`${app.url}/token`, { headers: JSON_ACCEPT })).text) as { accessToken: string }
    t.ok(provider.isAccessTokenActive(token.accessToken), `${name}: the Bearer header works at the provider`)
  }
  t.equal(app.logs.events('expires_in_defaulted').length, 5, 'one warning per defaulted lifetime')
})

test('unsupported token type fails the login with 502', async (t) => {
  const { app, provider } = await startFixture(t)
  provider.faults.set('token', { kind: 'token-type', value: 'mac' })
  const login = await loginAs(new Browser(), app.url, 'budi')
  t.equal(login.final.status, 502)
  t.same(await app.app.mubarokah.tokens.listUser('1001'), [])
})

const CALLBACK_FAILURES: Array<[string, DevProviderFault, number, string]> = [
  ['200 HTML maintenance page', { kind: 'html', status: 200 }, 502, 'FST_MUBAROKAH_PROVIDER_RESPONSE_INVALID'],
  ['502 proxy page', { kind: 'html', status: 502 }, 502, 'FST_MUBAROKAH_PROVIDER_UNAVAILABLE'],
  ['200 bad_verification_code', { kind: 'json', status: 200, body: { error: 'bad_verification_code' } }, 400, 'FST_MUBAROKAH_PROVIDER_REJECTED'],
  ['200 without access_token', { kind: 'json', status: 200, body: { token_type: 'Bearer', expires_in: 3600 } }, 502, 'FST_MUBAROKAH_PROVIDER_RESPONSE_INVALID'],
  ['malformed JSON', { kind: 'malformed-json' }, 502, 'FST_MUBAROKAH_PROVIDER_RESPONSE_INVALID'],
  ['429', { kind: 'rate-limit', retryAfterSeconds: 30 }, 503, 'FST_MUBAROKAH_PROVIDER_RATE_LIMITED']
]

for (const [name, fault, status, code] of CALLBACK_FAILURES) {
  test(`token endpoint ${name} at the callback`, async (t) => {
    const { app, provider } = await startFixture(t)
    provider.faults.set('token', fault)
    const page = await loginAs(new Browser(), app.url, 'budi')
    t.equal(page.final.status, status, 'page status')
    t.match(page.final.headers.get('content-type'), /text\/html/)
    t.notMatch(page.final.text, /SyntaxError|at Object|<html><body>We/, 'no raw error or provider body')
    t.same(await app.app.mubarokah.tokens.listUser('1001'), [], 'nothing stored')

    const logged = app.logs.events('auth_error').find((entry) => entry.code === code)
    t.ok(logged, `logged with ${code}`)
    if (fault.kind === 'html' || fault.kind === 'malformed-json') {
      t.equal(typeof logged?.providerStatus, 'number', 'log has the status')
      t.equal(typeof logged?.providerContentType, 'string', 'log has the content type')
      t.equal(typeof logged?.providerExcerpt, 'string', 'log has an excerpt')
    }
  })
}

test('user endpoint failures at the callback store nothing', async (t) => {
  const failures: Array<[DevProviderFault, number]> = [
    [{ kind: 'html', status: 200 }, 502],
    [{ kind: 'status', status: 500 }, 502],
    [{ kind: 'json', status: 200, body: { name: 'no id' } }, 502],
    [{ kind: 'malformed-json' }, 502]
  ]
  const { app, provider } = await startFixture(t)
  for (const [fault, status] of failures) {
    provider.faults.clear()
    provider.faults.set('user', fault)
    const login = await loginAs(new Browser(), app.url, 'budi')
    t.equal(login.final.status, status, JSON.stringify(fault))
  }
  t.same(await app.app.mubarokah.tokens.listUser('1001'), [])
})

test('an API client gets the same failures as JSON', async (t) => {
  const { app, provider } = await startFixture(t)
  provider.faults.set('token', { kind: 'html', status: 200 })
  const browser = new Browser()
  const started = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true })
  const response = await browser.request(started.callbackUrl as string, { headers: JSON_ACCEPT })
  t.equal(response.status, 502)
  const body = JSON.parse(response.text) as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['code', 'error', 'errorId', 'message', 'statusCode'])
  t.equal(body.code, 'FST_MUBAROKAH_PROVIDER_RESPONSE_INVALID')
  t.notMatch(body.message, /html|maintenance/i, 'no provider details in the message')
  const logged = app.logs.events('auth_error').find((entry) => entry.errorId === body.errorId)
  t.ok(logged, 'the error id is in the log line')
})
