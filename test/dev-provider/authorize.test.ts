import { test } from 'tap'
import { SESSION_COOKIE_NAME } from '../../src/dev-provider/index.js'
import {
  authorize,
  authorizeUrl,
  Browser,
  codeGrantFields,
  createPkcePair,
  decide,
  hiddenFields,
  postToken,
  REDIRECT_URI,
  signIn,
  startProvider
} from './helpers.js'

test('authorize shows login page without session', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(authorizeUrl(provider))
  const html = await response.text()

  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/html/)
  t.match(html, /<form method="post" action="\/login">/)
  t.match(html, /name="username"/)
  t.match(html, /name="password" type="password"/)
  t.match(html, /<button type="submit">Sign in<\/button>/)
  t.ok(hiddenFields(html).auth_token, 'the pending request travels in a hidden field')
})

test('full code flow issues tokens', async (t) => {
  const provider = await startProvider(t)
  const pkce = createPkcePair()
  const browser = new Browser()

  const loginPage = await browser.fetch(authorizeUrl(provider, { state: 'abc/+= xyz' }, pkce.codeChallenge))
  const login = await browser.postForm(`${provider.baseUrl}/login`, { ...hiddenFields(await loginPage.text()), username: 'budi', password: 'demo' })
  t.equal(login.status, 303)
  t.ok(browser.sessionId, 'login sets the session cookie')
  const setCookie = login.headers.getSetCookie().find((cookie) => cookie.startsWith(`${SESSION_COOKIE_NAME}=`)) ?? ''
  t.match(setCookie, /; HttpOnly/)
  t.match(setCookie, /; SameSite=Lax/)
  t.match(setCookie, /; Path=\//)

  const consent = await browser.fetch(new URL(login.headers.get('location') ?? '', provider.baseUrl).href)
  const consentHtml = await consent.text()
  t.equal(consent.status, 200)
  t.match(consentHtml, /<button type="submit" name="decision" value="approve">/)
  t.match(consentHtml, /<button type="submit" name="decision" value="deny"/)
  t.match(consentHtml, /dev-client/)
  t.match(consentHtml, /view-user/)
  t.match(consentHtml, /detail-user/)

  const approval = await browser.postForm(`${provider.baseUrl}/oauth/authorize`, { ...hiddenFields(consentHtml), decision: 'approve' })
  t.equal(approval.status, 302)
  const location = new URL(approval.headers.get('location') ?? '')
  t.equal(`${location.origin}${location.pathname}`, REDIRECT_URI)
  t.equal(location.searchParams.get('state'), 'abc/+= xyz')
  const code = location.searchParams.get('code') ?? ''
  t.ok(code.length >= 40, 'code is long and opaque')

  const token = await postToken(provider, codeGrantFields({ code, codeVerifier: pkce.codeVerifier, browser }))
  const body = await token.json() as Record<string, unknown>
  t.equal(token.status, 200)
  t.equal(token.headers.get('cache-control'), 'no-store')
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 3600)
  t.equal(body.scope, 'view-user detail-user')
  t.ok(typeof body.access_token === 'string' && body.access_token.length >= 40)
  t.ok(typeof body.refresh_token === 'string' && body.refresh_token.length >= 40)
  t.same(Object.keys(body), ['token_type', 'expires_in', 'access_token', 'refresh_token', 'scope'])
})

test('deny redirects with access_denied', async (t) => {
  const provider = await startProvider(t)
  const browser = new Browser()
  const consent = await signIn(provider, browser, authorizeUrl(provider, { state: 'keep me' }))

  const denial = await decide(provider, browser, consent, 'deny')

  t.equal(denial.status, 302)
  t.equal(
    denial.headers.get('location'),
    `${REDIRECT_URI}?error=access_denied&error_description=The+resource+owner+or+authorization+server+denied+the+request.&state=keep+me`
  )
})

test('wrong password shows login again', async (t) => {
  const provider = await startProvider(t)
  const browser = new Browser()
  const loginPage = await browser.fetch(authorizeUrl(provider))
  const fields = hiddenFields(await loginPage.text())

  const login = await browser.postForm(`${provider.baseUrl}/login`, { ...fields, username: 'budi', password: 'wrong' })
  const html = await login.text()

  t.equal(login.status, 422)
  t.match(html, /The username or password is incorrect\./)
  t.equal(hiddenFields(html).auth_token, fields.auth_token, 'the pending request survives')
  t.equal(browser.sessionId, undefined)
})

test('unknown client shows page without redirect', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(authorizeUrl(provider, { client_id: 'nobody' }), { redirect: 'manual' })

  t.equal(response.status, 401)
  t.equal(response.headers.get('location'), null)
  t.match(await response.text(), /no client is registered with client_id &quot;nobody&quot;/)
})

test('redirect_uri mismatch shows page without redirect', async (t) => {
  const provider = await startProvider(t)
  const cases = [
    `${REDIRECT_URI}/`,
    'http://127.0.0.1:3000/auth/mubarokah/callback?x=1',
    'http://127.0.0.1:3000/AUTH/mubarokah/callback',
    'https://evil.example/callback'
  ]

  for (const redirectUri of cases) {
    const response = await fetch(authorizeUrl(provider, { redirect_uri: redirectUri }), { redirect: 'manual' })
    t.equal(response.status, 401, redirectUri)
    t.equal(response.headers.get('location'), null, redirectUri)
    t.match(await response.text(), /is not registered for client/, redirectUri)
  }
})

test('missing redirect_uri shows page', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(authorizeUrl(provider, { redirect_uri: null }), { redirect: 'manual' })

  t.equal(response.status, 400)
  t.equal(response.headers.get('location'), null)
})

/** Fetches an authorize URL and returns the error parameters of the redirect. */
async function redirectError (url: string): Promise<Record<string, string>> {
  const response = await fetch(url, { redirect: 'manual' })
  const location = new URL(response.headers.get('location') ?? 'http://missing/')
  return { status: String(response.status), target: `${location.origin}${location.pathname}`, ...Object.fromEntries(location.searchParams) }
}

test('plain code_challenge_method is rejected', async (t) => {
  const provider = await startProvider(t)

  const error = await redirectError(authorizeUrl(provider, { code_challenge_method: 'plain' }))

  t.equal(error.status, '302')
  t.equal(error.target, REDIRECT_URI)
  t.equal(error.error, 'invalid_request')
  t.match(error.hint, /S256/)
  t.equal(error.state, 'state-123')
  t.ok(error.error_description)
})

test('invalid authorize parameters redirect with error', async (t) => {
  const provider = await startProvider(t)
  const cases: Array<[string, Record<string, string | null>, string]> = [
    ['missing code_challenge', { code_challenge: null }, 'invalid_request'],
    ['missing code_challenge_method', { code_challenge_method: null }, 'invalid_request'],
    ['short code_challenge', { code_challenge: 'abc' }, 'invalid_request'],
    ['missing state', { state: null }, 'invalid_request'],
    ['unknown scope', { scope: 'view-user email' }, 'invalid_scope'],
    ['token response_type', { response_type: 'token' }, 'unsupported_response_type'],
    ['missing response_type', { response_type: null }, 'invalid_request'],
    ['unknown prompt', { prompt: 'select_account' }, 'invalid_request']
  ]

  for (const [name, overrides, expected] of cases) {
    const error = await redirectError(authorizeUrl(provider, overrides))
    t.equal(error.status, '302', name)
    t.equal(error.target, REDIRECT_URI, name)
    t.equal(error.error, expected, name)
    t.equal(error.state, overrides.state === null ? undefined : 'state-123', name)
  }
})

test('repeated parameter redirects with invalid_request', async (t) => {
  const provider = await startProvider(t)

  const error = await redirectError(`${authorizeUrl(provider)}&scope=view-user`)

  t.equal(error.error, 'invalid_request')
  t.equal(error.hint, '`scope` is repeated')
})

test('consent is remembered per scope set', async (t) => {
  const provider = await startProvider(t)
  const { browser } = await authorize(provider, { scope: 'view-user' })

  const again = await browser.fetch(authorizeUrl(provider, { scope: 'view-user' }))
  t.equal(again.status, 302)
  t.ok(new URL(again.headers.get('location') ?? '').searchParams.get('code'), 'same scopes skip the consent page')

  const wider = await browser.fetch(authorizeUrl(provider, { scope: 'view-user detail-user' }))
  t.equal(wider.status, 200)
  t.match(await wider.text(), /name="decision" value="approve"/)
})

test('prompt=consent forces consent page', async (t) => {
  const provider = await startProvider(t)
  const { browser } = await authorize(provider, { scope: 'view-user' })

  const response = await browser.fetch(authorizeUrl(provider, { scope: 'view-user', prompt: 'consent' }))

  t.equal(response.status, 200)
  t.match(await response.text(), /name="decision" value="approve"/)
})

test('prompt=login forces login page', async (t) => {
  const provider = await startProvider(t)
  const { browser } = await authorize(provider, { scope: 'view-user' })
  const firstSession = browser.sessionId

  const response = await browser.fetch(authorizeUrl(provider, { scope: 'view-user', prompt: 'login' }))
  const html = await response.text()
  t.equal(response.status, 200)
  t.match(html, /name="password"/)

  const login = await browser.postForm(`${provider.baseUrl}/login`, { ...hiddenFields(html), username: 'budi', password: 'demo' })
  const afterLogin = await browser.fetch(new URL(login.headers.get('location') ?? '', provider.baseUrl).href)
  t.equal(afterLogin.status, 302, 'remembered consent applies after the forced login')
  t.not(browser.sessionId, firstSession, 'login issues a new session id')
})

test('prompt=none without session returns login_required', async (t) => {
  const provider = await startProvider(t)

  const error = await redirectError(authorizeUrl(provider, { prompt: 'none' }))

  t.equal(error.error, 'login_required')
  t.equal(error.state, 'state-123')
})

test('consent decision needs CSRF value', async (t) => {
  const provider = await startProvider(t)
  const browser = new Browser()
  const consent = await signIn(provider, browser, authorizeUrl(provider))
  const fields = hiddenFields(await consent.text())

  const response = await browser.postForm(`${provider.baseUrl}/oauth/authorize`, { ...fields, _token: 'forged', decision: 'approve' })

  t.equal(response.status, 419)
  t.equal(response.headers.get('location'), null)
})

test('consent decision needs the signed-in browser', async (t) => {
  const provider = await startProvider(t)
  const consent = await signIn(provider, new Browser(), authorizeUrl(provider))
  const fields = hiddenFields(await consent.text())

  const response = await new Browser().postForm(`${provider.baseUrl}/oauth/authorize`, { ...fields, decision: 'approve' })

  t.equal(response.status, 403)
  t.equal(response.headers.get('location'), null)
})

test('consent decision is single use', async (t) => {
  const provider = await startProvider(t)
  const browser = new Browser()
  const consent = await signIn(provider, browser, authorizeUrl(provider))
  const fields = hiddenFields(await consent.text())

  const first = await browser.postForm(`${provider.baseUrl}/oauth/authorize`, { ...fields, decision: 'approve' })
  const second = await browser.postForm(`${provider.baseUrl}/oauth/authorize`, { ...fields, decision: 'approve' })

  t.equal(first.status, 302)
  t.equal(second.status, 400)
})

test('pages send protective headers', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(authorizeUrl(provider))

  t.equal(response.headers.get('x-frame-options'), 'DENY')
  t.match(response.headers.get('content-security-policy'), /frame-ancestors 'none'/)
  t.equal(response.headers.get('cache-control'), 'no-store')
})

test('login page escapes reflected username', async (t) => {
  const provider = await startProvider(t)

  const response = await new Browser().postForm(`${provider.baseUrl}/login`, { username: '"><script>x</script>', password: 'no' })
  const html = await response.text()

  t.equal(response.status, 422)
  t.notMatch(html, /<script>x<\/script>/)
  t.match(html, /&quot;&gt;&lt;script&gt;/)
})

test('standalone login signs in', async (t) => {
  const provider = await startProvider(t)
  const browser = new Browser()

  const page = await browser.fetch(`${provider.baseUrl}/login`)
  t.equal(page.status, 200)
  t.match(await page.text(), /name="username"/)

  const login = await browser.postForm(`${provider.baseUrl}/login`, { username: 'siti', password: 'demo' })
  t.equal(login.status, 200)
  t.match(await login.text(), /Signed in as Siti Aminah/)
  t.equal(provider.activeSessionCount(1002), 1)
})
