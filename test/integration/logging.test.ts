import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { CLIENT_SECRET, loginAs, startFixture, TEST_ENCRYPTION_KEY, TEST_SESSION_SECRET } from '../helpers/app.js'

/** Records every form field and bearer token the plugin sends to the provider. */
function recordingFetch (secrets: Set<string>): typeof fetch {
  return async (input, init) => {
    const body = init?.body
    if (typeof body === 'string') {
      for (const [name, value] of new URLSearchParams(body)) if (name !== 'grant_type' && name !== 'client_id' && name !== 'redirect_uri' && name !== 'scope') secrets.add(value)
    }
    const authorization = new Headers(init?.headers).get('authorization')
    if (authorization !== null) secrets.add(authorization.replace(/^(Bearer|Basic) /, ''))
    const response = await fetch(input, init)
    return response
  }
}

test('logs of login, refresh and logout carry no secret', async (t) => {
  const secrets = new Set<string>([CLIENT_SECRET, TEST_ENCRYPTION_KEY, TEST_SESSION_SECRET])
  const { app, provider } = await startFixture(t, {
    logLevel: 'debug',
    plugin: { fetch: recordingFetch(secrets), httpTimeoutMs: 1000 },
    providerOptions: { accessTokenTtlSeconds: 2 }
  })
  const browser = new Browser()

  const login = await loginAs(browser, app.url, 'budi', { stopBeforeCallback: true, returnTo: '/dashboard' })
  const callback = new URL(login.callbackUrl as string)
  secrets.add(callback.searchParams.get('code') as string)
  secrets.add(callback.searchParams.get('state') as string)
  secrets.add(browser.cookie(app.url, 'mubarokah_login') as string)
  await browser.navigate(callback.toString())
  secrets.add(browser.cookie(app.url, 'sessionId') as string)
  secrets.add((browser.cookie(app.url, 'sessionId') as string).split('.')[0] as string)

  const first = JSON.parse((await browser.request(`${app.url}/token`, { headers: { accept: 'application/json' } })).text) as { accessToken: string }
  secrets.add(first.accessToken)
  await sleep(1100)
  const second = JSON.parse((await browser.request(`${app.url}/token`, { headers: { accept: 'application/json' } })).text) as { accessToken: string }
  secrets.add(second.accessToken)
  t.equal(provider.stats.refreshSuccesses, 1, 'a refresh happened')

  await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: { accept: 'application/json' } })

  const text = app.logs.text
  t.ok(app.logs.events('login_succeeded').length === 1 && app.logs.events('refresh_succeeded').length === 1 && app.logs.events('logout').length === 1, 'the flow was logged')
  t.ok(app.logs.entries().some((entry) => entry.level === 20), 'debug lines were written')
  t.ok(secrets.size >= 12, `collected ${secrets.size} secrets to look for`)
  for (const secret of secrets) {
    t.ok(secret.length >= 8, 'a real secret')
    t.notOk(text.includes(secret), `log has no ${secret.slice(0, 4)}… (${secret.length} chars)`)
  }
})

test('the callback query string never reaches the request log', async (t) => {
  const { app } = await startFixture(t, { logLevel: 'debug' })
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')

  const requestLines = app.logs.entries().filter((entry) => typeof entry.req === 'object' && entry.req !== null)
  const callbackLines = requestLines.filter((entry) => String((entry.req as { url: string }).url).includes('/callback'))
  t.ok(callbackLines.length >= 1, 'the callback request was logged')
  for (const entry of callbackLines) t.equal((entry.req as { url: string }).url, '/auth/mubarokah/callback')
  t.notOk(app.logs.text.includes('code='), 'no code parameter anywhere')
  t.notOk(app.logs.text.includes('state='), 'no state parameter anywhere')
})
