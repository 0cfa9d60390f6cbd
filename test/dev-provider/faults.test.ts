import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { DevProviderFaultError, startDevProvider, type DevProviderFault } from '../../src/dev-provider/index.js'
import {
  authorize,
  authorizeUrl,
  callApi,
  CLIENT_ID,
  CLIENT_SECRET,
  codeGrantFields,
  obtainTokens,
  postToken,
  refreshFields,
  startProvider,
  type TokenBody
} from './helpers.js'

const CLIENT_CREDENTIALS = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }

test('latency delays the response', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'latency', ms: 200 })

  const started = performance.now()
  const response = await postToken(provider, CLIENT_CREDENTIALS)

  t.equal(response.status, 200)
  t.ok(performance.now() - started >= 190, 'answered after the delay')
})

test('latency drops request on disconnect', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  provider.faults.set('token', { kind: 'latency', ms: 400, times: 1 })

  await t.rejects(
    postTokenWithTimeout(provider.baseUrl, refreshFields(tokens.refresh_token), 100),
    { name: 'TimeoutError' }
  )
  await sleep(500)

  t.equal(provider.stats.tokenRequests.refresh_token, 1, 'the request arrived')
  t.equal(provider.stats.refreshSuccesses, 0, 'but was never processed')
  t.equal(provider.stats.activeRefreshes, 0)
  t.ok(provider.isAccessTokenActive(tokens.access_token), 'tokens did not rotate')
  t.equal((await postToken(provider, refreshFields(tokens.refresh_token))).status, 200)
})

test('status fault sends json body', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'status', status: 503 })

  const response = await postToken(provider, CLIENT_CREDENTIALS)

  t.equal(response.status, 503)
  t.match(response.headers.get('content-type'), /^application\/json/)
  t.same(await response.json(), { message: 'Service Unavailable' })
})

test('status fault sends html body', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('user', { kind: 'status', status: 500, body: 'html' })
  const tokens = await obtainTokens(provider)

  const response = await callApi(provider, '/api/user', tokens.access_token)

  t.equal(response.status, 500)
  t.match(response.headers.get('content-type'), /^text\/html/)
  t.match(await response.text(), /<title>500 \| Error<\/title>/)
})

test('html fault sends maintenance page', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'html', status: 200 })

  const response = await postToken(provider, CLIENT_CREDENTIALS)

  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/html/)
  t.match(await response.text(), /Sedang dalam perbaikan/)
})

test('html fault sends proxy page', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'html', status: 502 })

  const response = await postToken(provider, CLIENT_CREDENTIALS)

  t.equal(response.status, 502)
  t.match(await response.text(), /<center><h1>502 Bad Gateway<\/h1><\/center>/)
})

test('rate-limit fault sends Retry-After', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('details', { kind: 'rate-limit', retryAfterSeconds: 30 })
  const tokens = await obtainTokens(provider)

  const response = await callApi(provider, '/api/user/details', tokens.access_token)

  t.equal(response.status, 429)
  t.equal(response.headers.get('retry-after'), '30')
  t.same(await response.json(), { message: 'Too Many Attempts.' })
})

test('malformed-json fault truncates body', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'malformed-json' })

  const response = await postToken(provider, CLIENT_CREDENTIALS)
  const text = await response.text()

  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^application\/json/)
  t.throws(() => JSON.parse(text), SyntaxError)
})

test('drop fault closes connection', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'drop' })

  await t.rejects(postToken(provider, CLIENT_CREDENTIALS), TypeError)
  t.equal(provider.stats.tokenRequests.client_credentials, 1)
})

test('hang fault never answers', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('logout', { kind: 'hang' })

  await t.rejects(
    fetch(`${provider.baseUrl}/api/logout-sso`, { signal: AbortSignal.timeout(200) }),
    { name: 'TimeoutError' }
  )
})

test('close ends hanging requests', async (t) => {
  const provider = await startDevProvider()
  provider.faults.set('token', { kind: 'hang' })
  const pending = postToken(provider, CLIENT_CREDENTIALS)
  await sleep(50)

  await provider.close()

  await t.rejects(pending, TypeError)
})

test('json fault sends given body', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'json', status: 200, body: { error: 'bad_verification_code' } })

  const response = await postToken(provider, CLIENT_CREDENTIALS)

  t.equal(response.status, 200)
  t.equal(await response.text(), '{"error":"bad_verification_code"}')
})

test('expires-in fault shapes token response', async (t) => {
  const provider = await startProvider(t)
  const cases: Array<[unknown, unknown]> = [['3600', '3600'], [null, null], ['abc', 'abc'], [-5, -5], [1e12, 1e12], ['omit', undefined]]

  for (const [value, expected] of cases) {
    provider.faults.set('token', { kind: 'expires-in', value })
    const body = await (await postToken(provider, CLIENT_CREDENTIALS)).json() as Record<string, unknown>
    t.equal(body.expires_in, expected, JSON.stringify(value))
    t.equal('expires_in' in body, value !== 'omit', JSON.stringify(value))
  }
})

test('token-type fault shapes token response', async (t) => {
  const provider = await startProvider(t)

  provider.faults.set('token', { kind: 'token-type', value: 'bearer' })
  const lowerCase = await (await postToken(provider, CLIENT_CREDENTIALS)).json() as Record<string, unknown>
  provider.faults.set('token', { kind: 'token-type', value: 'omit' })
  const omitted = await (await postToken(provider, CLIENT_CREDENTIALS)).json() as Record<string, unknown>

  t.equal(lowerCase.token_type, 'bearer')
  t.notOk('token_type' in omitted)
})

test('omit-refresh-token keeps old refresh token', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  provider.faults.set('token', { kind: 'omit-refresh-token', grant: 'refresh_token', times: 1 })

  const first = await (await postToken(provider, refreshFields(tokens.refresh_token))).json() as Record<string, unknown>
  t.notOk('refresh_token' in first)
  t.notOk(provider.isAccessTokenActive(tokens.access_token), 'old access token revoked')

  const second = await postToken(provider, refreshFields(tokens.refresh_token))
  t.equal(second.status, 200, 'a provider that sent no new refresh token keeps the old one valid')
})

test('omit-scope fault drops scope', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'omit-scope' })

  const body = await (await postToken(provider, CLIENT_CREDENTIALS)).json() as Record<string, unknown>

  t.notOk('scope' in body)
  t.equal(body.token_type, 'Bearer')
})

test('shapers skip error responses', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'omit-scope', times: 1 })

  await postToken(provider, { ...CLIENT_CREDENTIALS, client_secret: 'wrong' })
  const body = await (await postToken(provider, CLIENT_CREDENTIALS)).json() as Record<string, unknown>

  t.notOk('scope' in body, 'the shaper waited for a successful response')
  t.same(provider.faults.list('token'), [])
})

test('string-id fault sends id as string', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  provider.faults.set('user', { kind: 'string-id' })
  provider.faults.set('details', { kind: 'string-id' })

  const user = await (await callApi(provider, '/api/user', tokens.access_token)).json() as Record<string, unknown>
  const details = await (await callApi(provider, '/api/user/details', tokens.access_token)).json() as Record<string, unknown>

  t.equal(user.id, '1001')
  t.equal(details.id, '1001')
})

test('times clears fault after use', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'status', status: 502, times: 2 })

  const statuses = []
  for (let attempt = 0; attempt < 3; attempt += 1) {
    statuses.push((await postToken(provider, CLIENT_CREDENTIALS)).status)
  }

  t.same(statuses, [502, 502, 200])
  t.same(provider.faults.list('token'), [])
})

test('list shows remaining times', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'status', status: 500, times: 3 })

  await postToken(provider, CLIENT_CREDENTIALS)

  t.same(provider.faults.list('token'), [{ kind: 'status', status: 500, times: 2 }])
})

test('grant limits token fault', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'status', status: 500, grant: 'refresh_token' })
  const authorization = await authorize(provider)

  const exchange = await postToken(provider, codeGrantFields(authorization))
  const tokens = await exchange.json() as TokenBody
  const refresh = await postToken(provider, refreshFields(tokens.refresh_token))

  t.equal(exchange.status, 200)
  t.equal(refresh.status, 500)
})

test('faults stack latency and shaper', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'latency', ms: 150 })
  provider.faults.set('token', { kind: 'token-type', value: 'BEARER' })

  const started = performance.now()
  const body = await (await postToken(provider, CLIENT_CREDENTIALS)).json() as Record<string, unknown>

  t.ok(performance.now() - started >= 140, 'delayed')
  t.equal(body.token_type, 'BEARER')
})

test('same kind replaces earlier fault', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'status', status: 500 })
  provider.faults.set('token', { kind: 'status', status: 503 })

  t.same(provider.faults.list('token'), [{ kind: 'status', status: 503 }])
})

test('clear removes faults', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'status', status: 500 })
  provider.faults.set('user', { kind: 'status', status: 500 })

  provider.faults.clear('token')
  t.same(provider.faults.list('token'), [])
  t.equal(provider.faults.list('user').length, 1)

  provider.faults.clear()
  t.same(provider.faults.list('user'), [])
})

test('authorize fault replaces page', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('authorize', { kind: 'html', status: 503, times: 1 })

  const response = await fetch(authorizeUrl(provider))

  t.equal(response.status, 503)
  t.match(await response.text(), /Sedang dalam perbaikan/)
  t.equal(provider.stats.authorizeRequests, 1)
})

test('maxConcurrentRefreshes counts overlapping refreshes', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  provider.faults.set('token', { kind: 'latency', ms: 300, grant: 'refresh_token' })

  const responses = await Promise.all([1, 2, 3].map(async () => postToken(provider, refreshFields(tokens.refresh_token))))

  t.same(responses.map((response) => response.status).sort(), [200, 401, 401])
  t.equal(provider.stats.maxConcurrentRefreshes, 3)
  t.equal(provider.stats.activeRefreshes, 0)
  t.equal(provider.stats.refreshSuccesses, 1)
  t.equal(provider.stats.refreshRejections, 2)
})

test('stats reset keeps active refreshes', async (t) => {
  const provider = await startProvider(t)
  await postToken(provider, CLIENT_CREDENTIALS)

  provider.stats.reset()

  t.same(provider.stats.snapshot(), {
    tokenRequests: { authorization_code: 0, refresh_token: 0, client_credentials: 0, other: 0 },
    refreshSuccesses: 0,
    refreshRejections: 0,
    userRequests: 0,
    detailsRequests: 0,
    logoutRequests: 0,
    authorizeRequests: 0,
    maxConcurrentRefreshes: 0,
    activeRefreshes: 0
  })
})

test('invalid faults are rejected', async (t) => {
  const provider = await startProvider(t)
  const cases: Array<[string, unknown]> = [
    ['unknown kind', { kind: 'explode' }],
    ['status outside 500, 502, 503', { kind: 'status', status: 404 }],
    ['negative latency', { kind: 'latency', ms: -1 }],
    ['zero times', { kind: 'drop', times: 0 }],
    ['extra field', { kind: 'drop', extra: true }]
  ]

  for (const [name, fault] of cases) {
    t.throws(() => provider.faults.set('token', fault as DevProviderFault), DevProviderFaultError, name)
  }
  t.throws(() => provider.faults.set('user', { kind: 'drop', grant: 'refresh_token' }), { message: /"grant" applies to the token endpoint only/ })
  t.throws(() => provider.faults.set('token', { kind: 'string-id' }), { message: /applies to user and details only/ })
  t.throws(() => provider.faults.set('user', { kind: 'omit-scope' }), { message: /applies to token only/ })
})

test('user fault counts request', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  provider.faults.set('user', { kind: 'status', status: 502, times: 1 })

  const faulted = await callApi(provider, '/api/user', tokens.access_token)
  const normal = await callApi(provider, '/api/user', tokens.access_token)

  t.equal(faulted.status, 502)
  t.equal(normal.status, 200)
  t.equal(provider.stats.userRequests, 2)
})

async function postTokenWithTimeout (baseUrl: string, fields: Record<string, string>, timeoutMs: number): Promise<Response> {
  return fetch(`${baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(timeoutMs)
  })
}
