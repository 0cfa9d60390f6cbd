import { test, type Test } from 'tap'
import {
  InsufficientScopeError,
  ProviderRateLimitedError,
  ProviderRejectedError,
  ProviderResponseError,
  ProviderUnavailableError,
  retryAfterOf,
  TokenTypeError,
  UnapprovedScopeError
} from '../src/errors.js'
import { isDefinitiveRejection, MubarokahOAuthClient } from '../src/oauth/client.js'
import { providerDetails } from '../src/oauth/http.js'
import { freePort } from './helpers/redis.js'
import { sendJson, startRawServer, type RawServer } from './helpers/raw-server.js'

function clientFor (server: { url: string }, overrides: Partial<ConstructorParameters<typeof MubarokahOAuthClient>[0]> = {}): MubarokahOAuthClient {
  return new MubarokahOAuthClient({
    clientId: 'client id',
    clientSecret: 'secret&=+',
    redirectUri: 'http://127.0.0.1:3000/auth/mubarokah/callback',
    baseUrl: server.url,
    clientAuthentication: 'body',
    defaultTokenLifetimeSeconds: 3600,
    fetch: globalThis.fetch,
    timeoutMs: 500,
    sizeLimit: 4096,
    ...overrides
  })
}

const TOKEN = { token_type: 'Bearer', expires_in: 3600, access_token: 'access-1', refresh_token: 'refresh-1', scope: 'view-user' }

async function serve (t: Test, handler: Parameters<typeof startRawServer>[0]): Promise<RawServer> {
  const server = await startRawServer(handler)
  t.teardown(() => server.close())
  return server
}

test('authorization URL carries PKCE S256, state and scopes', async (t) => {
  const client = clientFor({ url: 'https://accounts.example' })
  const url = new URL(client.authorizationUrl({ state: 's', codeChallenge: 'c', scopes: ['view-user', 'detail-user'], prompt: 'consent', params: { state: 'ignored', ui_locales: 'id' } }))
  t.equal(url.origin + url.pathname, 'https://accounts.example/oauth/authorize')
  t.equal(url.searchParams.get('response_type'), 'code')
  t.equal(url.searchParams.get('client_id'), 'client id')
  t.equal(url.searchParams.get('redirect_uri'), 'http://127.0.0.1:3000/auth/mubarokah/callback')
  t.equal(url.searchParams.get('scope'), 'view-user detail-user')
  t.equal(url.searchParams.get('state'), 's', 'extra params cannot replace state')
  t.equal(url.searchParams.get('code_challenge'), 'c')
  t.equal(url.searchParams.get('code_challenge_method'), 'S256')
  t.equal(url.searchParams.get('prompt'), 'consent')
  t.equal(url.searchParams.get('ui_locales'), 'id')
})

test('token request sends credentials in the body and accepts JSON', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 200, TOKEN))
  const tokens = await clientFor(server).exchangeCode('the-code', 'the-verifier', ['view-user'])
  const [request] = server.requests
  const form = new URLSearchParams(request?.body)
  t.equal(request?.headers.accept, 'application/json')
  t.equal(request?.headers['content-type'], 'application/x-www-form-urlencoded')
  t.equal(request?.headers.authorization, undefined, 'no Basic header with body authentication')
  t.equal(form.get('grant_type'), 'authorization_code')
  t.equal(form.get('code'), 'the-code')
  t.equal(form.get('code_verifier'), 'the-verifier')
  t.equal(form.get('client_id'), 'client id')
  t.equal(form.get('client_secret'), 'secret&=+')
  t.equal(tokens.accessToken, 'access-1')
  t.equal(tokens.refreshToken, 'refresh-1')
  t.equal(tokens.expiresIn, 3600)
})

test('token request with HTTP Basic sends no secret in the body', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 200, TOKEN))
  await clientFor(server, { clientAuthentication: 'basic' }).refresh('refresh-1', ['view-user'])
  const [request] = server.requests
  const form = new URLSearchParams(request?.body)
  t.equal(request?.headers.authorization, `Basic ${Buffer.from('client+id:secret%26%3D%2B').toString('base64')}`, 'RFC 6749 §2.3.1 form-encodes both parts')
  t.equal(form.get('client_secret'), null)
  t.equal(form.get('client_id'), null)
  t.equal(form.get('grant_type'), 'refresh_token')
})

test('token response variants are normalised', async (t) => {
  const cases: Array<{ body: Record<string, unknown>, expiresIn: number, defaulted: boolean }> = [
    { body: { expires_in: '3600' }, expiresIn: 3600, defaulted: false },
    { body: { expires_in: undefined }, expiresIn: 3600, defaulted: true },
    { body: { expires_in: null }, expiresIn: 3600, defaulted: true },
    { body: { expires_in: 'abc' }, expiresIn: 3600, defaulted: true },
    { body: { expires_in: -5 }, expiresIn: 3600, defaulted: true },
    { body: { expires_in: 1e12 }, expiresIn: 3600, defaulted: true },
    { body: { expires_in: 120, token_type: 'bearer' }, expiresIn: 120, defaulted: false },
    { body: { expires_in: 120, token_type: 'BEARER' }, expiresIn: 120, defaulted: false },
    { body: { expires_in: 120, token_type: undefined }, expiresIn: 120, defaulted: false }
  ]
  for (const { body, expiresIn, defaulted } of cases) {
    const server = await serve(t, (_request, response) => sendJson(response, 200, { ...TOKEN, ...body }))
    const tokens = await clientFor(server).exchangeCode('c', 'v', ['view-user'])
    t.equal(tokens.expiresIn, expiresIn, JSON.stringify(body))
    t.equal(tokens.expiresInDefaulted, defaulted, JSON.stringify(body))
    t.ok(Number.isFinite(tokens.expiresIn))
  }
})

test('token response without scope uses the requested scopes', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 200, { ...TOKEN, scope: undefined }))
  const tokens = await clientFor(server).exchangeCode('c', 'v', ['view-user', 'detail-user'])
  t.same(tokens.scopes, ['view-user', 'detail-user'])
})

test('unsupported token type is rejected', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 200, { ...TOKEN, token_type: 'mac' }))
  await t.rejects(clientFor(server).exchangeCode('c', 'v', []), TokenTypeError)
})

test('token endpoint errors are typed', async (t) => {
  const revoked = { error: 'invalid_request', error_description: 'The refresh token is invalid.', hint: 'Token has been revoked', message: 'The refresh token is invalid.' }
  const responses: Array<{ status: number, body: unknown, expected: unknown, definitive: boolean }> = [
    { status: 400, body: { error: 'invalid_grant', error_description: 'x' }, expected: ProviderRejectedError, definitive: true },
    { status: 401, body: revoked, expected: ProviderRejectedError, definitive: true },
    { status: 401, body: { error: 'invalid_client' }, expected: ProviderRejectedError, definitive: false },
    { status: 200, body: { error: 'bad_verification_code' }, expected: ProviderRejectedError, definitive: true },
    { status: 200, body: { token_type: 'Bearer' }, expected: ProviderResponseError, definitive: false },
    { status: 404, body: { message: 'Not Found' }, expected: ProviderResponseError, definitive: false },
    { status: 500, body: { message: 'Server Error' }, expected: ProviderUnavailableError, definitive: false },
    { status: 503, body: 'maintenance', expected: ProviderUnavailableError, definitive: false }
  ]
  for (const { status, body, expected, definitive } of responses) {
    const server = await serve(t, (_request, response) => sendJson(response, status, body))
    const error = await clientFor(server).refresh('r', []).catch((caught: unknown) => caught)
    t.type(error, expected as never, `HTTP ${status} ${JSON.stringify(body)}`)
    t.equal(isDefinitiveRejection(error), definitive, `definitive for HTTP ${status} ${JSON.stringify(body)}`)
  }
})

test('429 carries Retry-After', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 429, { message: 'Too Many Attempts.' }, { 'retry-after': '17' }))
  const error = await clientFor(server).refresh('r', []).catch((caught: unknown) => caught)
  t.type(error, ProviderRateLimitedError)
  t.equal(retryAfterOf(error), 17)
})

test('HTML where JSON was expected is an invalid response', async (t) => {
  const server = await serve(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=UTF-8' })
    response.end('<html><body>We are down for maintenance. access_token=abcdefghijklmnopqrstuvwxyz012345</body></html>')
  })
  const error = await clientFor(server).exchangeCode('c', 'v', []).catch((caught: unknown) => caught)
  t.type(error, ProviderResponseError)
  t.match((error as Error).message, /expected JSON but got "text\/html"/)
  const details = providerDetails(error)
  t.equal(details?.status, 200)
  t.equal(details?.contentType, 'text/html; charset=utf-8')
  t.match(details?.excerpt, /maintenance/)
  t.notMatch(details?.excerpt, /abcdefghijklmnopqrstuvwxyz012345/, 'token-like text is redacted in the excerpt')
  t.notOk(Object.keys(error as object).includes('excerpt'), 'details are not enumerable')
})

test('502 proxy page is provider unavailable', async (t) => {
  const server = await serve(t, (_request, response) => {
    response.writeHead(502, { 'content-type': 'text/html' })
    response.end('<html><body><h1>502 Bad Gateway</h1></body></html>')
  })
  await t.rejects(clientFor(server).fetchUser('a'), ProviderUnavailableError)
})

test('malformed JSON is an invalid response', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 200, '{"access_token": "abc", "expires_'))
  await t.rejects(clientFor(server).exchangeCode('c', 'v', []), ProviderResponseError)
})

test('redirects are not followed', async (t) => {
  const server = await serve(t, (request, response) => {
    if (request.url === '/login') return sendJson(response, 200, { id: 1 })
    response.writeHead(302, { location: '/login' })
    response.end()
  })
  await t.rejects(clientFor(server).fetchUser('a'), ProviderResponseError)
  t.equal(server.requests.length, 1, 'the redirect target was never requested')
})

test('a response over the size limit is rejected', async (t) => {
  const big = JSON.stringify({ ...TOKEN, padding: 'x'.repeat(10_000) })
  const declared = await serve(t, (_request, response) => sendJson(response, 200, big))
  await t.rejects(clientFor(declared).exchangeCode('c', 'v', []), { message: /larger than 4096 bytes/ })

  const chunked = await serve(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    for (let index = 0; index < 10; index += 1) response.write('x'.repeat(1000))
    response.end()
  })
  await t.rejects(clientFor(chunked).exchangeCode('c', 'v', []), { message: /larger than 4096 bytes/ })
})

test('no answer times out as provider unavailable', async (t) => {
  const server = await serve(t, () => {})
  const started = Date.now()
  await t.rejects(clientFor(server, { timeoutMs: 300 }).exchangeCode('c', 'v', []), ProviderUnavailableError)
  t.ok(Date.now() - started < 2000, 'bounded by the timeout')
})

test('a slow body times out', async (t) => {
  const server = await serve(t, (_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' })
    response.write('{"access_token":')
    // The rest never comes.
  })
  await t.rejects(clientFor(server, { timeoutMs: 300 }).exchangeCode('c', 'v', []), ProviderUnavailableError)
})

test('a dropped connection is provider unavailable', async (t) => {
  const server = await serve(t, (_request, response) => { response.socket?.destroy() })
  await t.rejects(clientFor(server).exchangeCode('c', 'v', []), ProviderUnavailableError)
})

test('connection refused is provider unavailable', async (t) => {
  const port = await freePort()
  await t.rejects(clientFor({ url: `http://127.0.0.1:${port}` }).exchangeCode('c', 'v', []), ProviderUnavailableError)
})

test('user id becomes a string and missing fields null', async (t) => {
  const server = await serve(t, (request, response) => {
    sendJson(response, 200, request.url === '/api/user' ? { id: 1001, name: 'Budi', email: null } : { id: '1002', name: 'Siti', phone_number: '0812' })
  })
  const client = clientFor(server)
  t.same(await client.fetchUser('a'), { id: '1001', name: 'Budi', email: null, username: null, profile_picture: null, gender: null })
  t.equal(server.requests[0]?.headers.authorization, 'Bearer a')
  t.equal(server.requests[0]?.headers.accept, 'application/json')
})

test('invalid user responses are rejected', async (t) => {
  for (const body of [{ name: 'no id' }, { id: -1 }, { id: 1.5 }, { id: 'x y' }, { id: 1, email: 5 }, [], 'text']) {
    const server = await serve(t, (_request, response) => sendJson(response, 200, JSON.stringify(body)))
    await t.rejects(clientFor(server).fetchUser('a'), ProviderResponseError, JSON.stringify(body))
  }
})

test('details 403 kinds stay distinguishable', async (t) => {
  const server = await serve(t, (request, response) => {
    const error = request.headers.authorization === 'Bearer narrow' ? 'insufficient_scope' : 'unapproved_scope'
    sendJson(response, 403, { error, message: 'x' })
  })
  const client = clientFor(server)
  await t.rejects(client.fetchDetails('narrow'), InsufficientScopeError)
  await t.rejects(client.fetchDetails('other'), UnapprovedScopeError)
})

test('details normalise the birth date', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 200, { bio: null, date_of_birth: '1990-05-17T00:00:00.000000Z' }))
  t.same(await clientFor(server).fetchDetails('a'), { bio: null, phone_number: null, place_of_birth: null, date_of_birth: '1990-05-17', address: null })
})

test('401 from the user endpoint is a token rejection', async (t) => {
  const server = await serve(t, (_request, response) => sendJson(response, 401, { message: 'Unauthenticated.' }))
  const error = await clientFor(server).fetchUser('a').catch((caught: unknown) => caught)
  t.type(error, ProviderRejectedError)
  t.equal((error as { statusCode: number }).statusCode, 401)
})
