import { test } from 'tap'
import { buildProviderApp } from '../../src/dev-provider/app.js'
import { createProviderContext } from '../../src/dev-provider/context.js'
import { resolveOptions } from '../../src/dev-provider/options.js'
import { CLIENT_ID, CLIENT_SECRET, postToken, startProvider } from './helpers.js'

const CLIENT_CREDENTIALS = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }

async function postJson (url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

test('http fault switch arms fault', async (t) => {
  const provider = await startProvider(t)

  const armed = await postJson(`${provider.baseUrl}/_dev/faults`, {
    endpoint: 'token',
    fault: { kind: 'json', status: 200, body: { error: 'bad_verification_code' }, times: 1 }
  })
  const faulted = await postToken(provider, CLIENT_CREDENTIALS)

  t.equal(armed.status, 204)
  t.equal(await faulted.text(), '{"error":"bad_verification_code"}')
  t.equal((await postToken(provider, CLIENT_CREDENTIALS)).status, 200)
})

test('http fault switch lists faults', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('details', { kind: 'rate-limit', retryAfterSeconds: 5 })

  const response = await fetch(`${provider.baseUrl}/_dev/faults`)

  t.equal(response.status, 200)
  t.same(await response.json(), {
    token: [],
    user: [],
    details: [{ kind: 'rate-limit', retryAfterSeconds: 5 }],
    logout: [],
    authorize: []
  })
})

test('http fault switch rejects invalid fault', async (t) => {
  const provider = await startProvider(t)

  const unknownKind = await postJson(`${provider.baseUrl}/_dev/faults`, { endpoint: 'token', fault: { kind: 'explode' } })
  const misplacedGrant = await postJson(`${provider.baseUrl}/_dev/faults`, { endpoint: 'user', fault: { kind: 'drop', grant: 'refresh_token' } })

  t.equal(unknownKind.status, 400)
  t.equal(misplacedGrant.status, 400)
  t.same(await misplacedGrant.json(), { message: 'Fault for endpoint "user" is invalid: "grant" applies to the token endpoint only' })
  t.same(provider.faults.list('user'), [])
})

test('http fault switch needs json', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/_dev/faults`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: JSON.stringify({ endpoint: 'token', fault: { kind: 'drop' } })
  })

  t.equal(response.status, 400)
  t.same(provider.faults.list('token'), [])
})

test('http delete clears one endpoint', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'drop' })
  provider.faults.set('user', { kind: 'drop' })

  const response = await fetch(`${provider.baseUrl}/_dev/faults?endpoint=token`, { method: 'DELETE' })

  t.equal(response.status, 204)
  t.same(provider.faults.list('token'), [])
  t.equal(provider.faults.list('user').length, 1)
})

test('http delete clears all endpoints', async (t) => {
  const provider = await startProvider(t)
  provider.faults.set('token', { kind: 'drop' })
  provider.faults.set('user', { kind: 'drop' })

  const response = await fetch(`${provider.baseUrl}/_dev/faults`, { method: 'DELETE' })

  t.equal(response.status, 204)
  t.same(provider.faults.list('user'), [])
})

test('http stats returns counters', async (t) => {
  const provider = await startProvider(t)
  await postToken(provider, CLIENT_CREDENTIALS)

  const response = await fetch(`${provider.baseUrl}/_dev/stats`)
  const body = await response.json() as { tokenRequests: Record<string, number> }

  t.equal(response.status, 200)
  t.equal(body.tokenRequests.client_credentials, 1)
})

test('http stats reset', async (t) => {
  const provider = await startProvider(t)
  await postToken(provider, CLIENT_CREDENTIALS)

  const response = await fetch(`${provider.baseUrl}/_dev/stats`, { method: 'DELETE' })

  t.equal(response.status, 204)
  t.equal(provider.stats.tokenRequests.client_credentials, 0)
})

test('dev routes reject non-loopback peers', async (t) => {
  // In-process injection: no packet is sent, the peer address is only simulated.
  const app = await buildProviderApp(createProviderContext(resolveOptions({})))
  t.teardown(() => app.close())

  const outside = await app.inject({ method: 'GET', url: '/_dev/stats', remoteAddress: '192.0.2.10' })
  const mapped = await app.inject({ method: 'GET', url: '/_dev/stats', remoteAddress: '::ffff:192.0.2.10' })
  const loopback = await app.inject({ method: 'GET', url: '/_dev/stats', remoteAddress: '127.0.0.1' })

  t.equal(outside.statusCode, 403)
  t.same(outside.json(), { message: 'The /_dev routes accept requests from loopback addresses only.' })
  t.equal(mapped.statusCode, 403)
  t.equal(loopback.statusCode, 200)
})
