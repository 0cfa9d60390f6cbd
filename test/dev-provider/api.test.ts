import { test } from 'tap'
import {
  authorize,
  authorizeUrl,
  callApi,
  CLIENT_ID,
  CLIENT_SECRET,
  codeGrantFields,
  obtainTokens,
  postToken,
  REDIRECT_URI,
  refreshFields,
  startProvider,
  type TokenBody
} from './helpers.js'

const UNAUTHENTICATED_BODY = JSON.stringify({ message: 'Unauthenticated.' })
const INSUFFICIENT_SCOPE_BODY = JSON.stringify({ error: 'insufficient_scope', message: 'Invalid scope(s) provided.' })

test('user endpoint returns profile', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider, { scope: 'view-user' })

  const response = await callApi(provider, '/api/user', tokens.access_token)

  t.equal(response.status, 200)
  t.same(await response.json(), {
    id: 1001,
    name: 'Budi Santoso',
    email: 'budi.santoso@example.com',
    username: 'budi',
    profile_picture: `${provider.baseUrl}/storage/avatars/budi.svg`,
    gender: 'male'
  })
})

test('whatsapp user has null email', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider, { scope: 'view-user', username: 'siti' })

  const response = await callApi(provider, '/api/user', tokens.access_token)
  const body = await response.json() as Record<string, unknown>

  t.equal(body.id, 1002)
  t.equal(body.email, null)
  t.equal(body.profile_picture, null)
})

test('user endpoint without token returns 401 json', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/api/user`, { headers: { accept: 'application/json' } })

  t.equal(response.status, 401)
  t.equal(await response.text(), UNAUTHENTICATED_BODY)
})

test('user endpoint without json accept redirects', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/api/user`, {
    headers: { authorization: 'Bearer not-a-token', accept: 'text/html' },
    redirect: 'manual'
  })

  t.equal(response.status, 302)
  t.equal(response.headers.get('location'), `${provider.baseUrl}/login`)
})

test('login redirect target is html', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/login`)

  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/html/)
})

test('expired access token is unauthenticated', async (t) => {
  let now = Date.now()
  const provider = await startProvider(t, { accessTokenTtlSeconds: 60, now: () => now })
  const tokens = await obtainTokens(provider)

  now += 60_000
  const response = await callApi(provider, '/api/user', tokens.access_token)

  t.equal(response.status, 401)
  t.equal(await response.text(), UNAUTHENTICATED_BODY)
})

test('revoked access token is unauthenticated', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  await postToken(provider, refreshFields(tokens.refresh_token))

  const response = await callApi(provider, '/api/user', tokens.access_token)

  t.equal(response.status, 401)
})

test('user endpoint needs view-user', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider, { scope: 'detail-user' })

  const response = await callApi(provider, '/api/user', tokens.access_token)

  t.equal(response.status, 403)
  t.equal(await response.text(), INSUFFICIENT_SCOPE_BODY)
})

test('details endpoint returns details', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)

  const response = await callApi(provider, '/api/user/details', tokens.access_token)

  t.equal(response.status, 200)
  t.same(await response.json(), {
    id: 1001,
    name: 'Budi Santoso',
    bio: 'Guru ngaji di Yogyakarta, suka bersepeda dan membaca kitab.',
    phone_number: '+6281234567890',
    place_of_birth: 'Yogyakarta',
    date_of_birth: '1990-08-17',
    address: 'Jl. Kaliurang Km 5 No. 12, Sleman, DI Yogyakarta'
  })
})

test('details keep null fields', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider, { username: 'siti' })

  const response = await callApi(provider, '/api/user/details', tokens.access_token)
  const body = await response.json() as Record<string, unknown>

  t.equal(body.bio, null)
  t.equal(body.date_of_birth, null)
  t.equal(body.address, null)
  t.equal(body.place_of_birth, 'Surabaya')
})

test('details without scope is insufficient_scope', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider, { scope: 'view-user' })

  const response = await callApi(provider, '/api/user/details', tokens.access_token)

  t.equal(response.status, 403)
  t.equal(await response.text(), INSUFFICIENT_SCOPE_BODY)
})

test('details for unapproved client is unapproved_scope', async (t) => {
  const provider = await startProvider(t, {
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI], detailsApproved: false }]
  })
  const tokens = await obtainTokens(provider)

  const response = await callApi(provider, '/api/user/details', tokens.access_token)

  t.equal(response.status, 403)
  t.equal(await response.text(), JSON.stringify({
    error: 'unapproved_scope',
    message: 'The detail-user scope has not been approved for this application.'
  }))
})

test('logout-sso revokes token and sessions', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  t.equal(provider.activeSessionCount(1001), 1)

  const response = await callApi(provider, '/api/logout-sso', tokens.access_token)

  t.equal(response.status, 200)
  t.same(await response.json(), { message: 'Logged out' })
  t.notOk(provider.isAccessTokenActive(tokens.access_token))
  t.equal(provider.activeRefreshTokenCount(1001), 0)
  t.equal(provider.activeSessionCount(1001), 0)
  t.equal((await callApi(provider, '/api/user', tokens.access_token)).status, 401)
  t.equal((await postToken(provider, refreshFields(tokens.refresh_token))).status, 401)
})

test('logout-sso ends browser login', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider, { scope: 'view-user' })
  const tokens = await (await postToken(provider, codeGrantFields(authorization))).json() as TokenBody
  const remembered = await authorization.browser.fetch(authorizeUrl(provider, { scope: 'view-user' }))
  t.equal(remembered.status, 302, 'before logout the browser session skips login and consent')

  await callApi(provider, '/api/logout-sso', tokens.access_token)
  const page = await authorization.browser.fetch(authorizeUrl(provider, { scope: 'view-user' }))

  t.equal(page.status, 200)
  t.match(await page.text(), /name="password"/)
})

test('avatar is served locally', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/storage/avatars/budi.svg`)

  t.equal(response.status, 200)
  t.equal(response.headers.get('content-type'), 'image/svg+xml')
  t.match(await response.text(), />BS</)
})

test('unknown route is 404 json', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/api/nothing`)

  t.equal(response.status, 404)
  t.same(await response.json(), { message: 'Not Found' })
})
