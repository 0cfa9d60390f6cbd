import { test } from 'tap'
import {
  authorize,
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

const INVALID_GRANT_DESCRIPTION = 'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.'

const REVOKED_REFRESH_TOKEN_BODY = {
  error: 'invalid_request',
  error_description: 'The refresh token is invalid.',
  hint: 'Token has been revoked',
  message: 'The refresh token is invalid.'
}

const INVALID_CLIENT_BODY = {
  error: 'invalid_client',
  error_description: 'Client authentication failed',
  message: 'Client authentication failed'
}

interface ErrorBody {
  error: string
  error_description: string
  hint?: string
  message: string
}

test('wrong code_verifier is invalid_grant', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)

  const response = await postToken(provider, { ...codeGrantFields(authorization), code_verifier: 'x'.repeat(43) })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_grant')
  t.equal(body.error_description, INVALID_GRANT_DESCRIPTION)
  t.equal(body.message, INVALID_GRANT_DESCRIPTION)
  t.equal(body.hint, 'Failed to verify `code_verifier`')
})

test('wrong verifier leaves code usable', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)

  await postToken(provider, { ...codeGrantFields(authorization), code_verifier: 'x'.repeat(43) })
  const response = await postToken(provider, codeGrantFields(authorization))

  t.equal(response.status, 200)
})

test('short code_verifier is invalid_request', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)

  const response = await postToken(provider, { ...codeGrantFields(authorization), code_verifier: 'short' })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_request')
})

test('missing code_verifier is invalid_request', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)
  const { code_verifier: _omitted, ...fields } = codeGrantFields(authorization)

  const response = await postToken(provider, fields)
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_request')
  t.equal(body.hint, '`code_verifier` is missing')
})

test('code is single use and reuse revokes tokens', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)
  const first = await postToken(provider, codeGrantFields(authorization))
  const tokens = await first.json() as TokenBody
  t.equal(first.status, 200)
  t.ok(provider.isAccessTokenActive(tokens.access_token))

  const second = await postToken(provider, codeGrantFields(authorization))
  const body = await second.json() as ErrorBody

  t.equal(second.status, 400)
  t.equal(body.error, 'invalid_grant')
  t.equal(body.hint, 'Authorization code has already been used, so the tokens issued from it are revoked')
  t.notOk(provider.isAccessTokenActive(tokens.access_token), 'access token revoked')
  t.equal(provider.activeRefreshTokenCount(1001), 0, 'refresh token revoked')
})

test('code expires after codeTtlSeconds', async (t) => {
  let now = Date.now()
  const provider = await startProvider(t, { codeTtlSeconds: 600, now: () => now })
  const authorization = await authorize(provider)

  now += 600_000
  const response = await postToken(provider, codeGrantFields(authorization))
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_grant')
  t.equal(body.hint, 'Authorization code has expired')
})

test('code works just before expiry', async (t) => {
  let now = Date.now()
  const provider = await startProvider(t, { codeTtlSeconds: 600, now: () => now })
  const authorization = await authorize(provider)

  now += 599_000
  const response = await postToken(provider, codeGrantFields(authorization))

  t.equal(response.status, 200)
})

test('unknown code is invalid_grant', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)

  const response = await postToken(provider, { ...codeGrantFields(authorization), code: 'not-a-code' })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_grant')
})

test('token redirect_uri must match authorize', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)

  const response = await postToken(provider, {
    ...codeGrantFields(authorization),
    redirect_uri: 'http://localhost:3000/auth/mubarokah/callback'
  })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_grant')
  t.equal(body.hint, '`redirect_uri` differs from the one in the authorization request')
})

test('code of another client is invalid_grant', async (t) => {
  const provider = await startProvider(t, {
    clients: [
      { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [REDIRECT_URI] },
      { clientId: 'other', clientSecret: 'other-secret', redirectUris: [REDIRECT_URI] }
    ]
  })
  const authorization = await authorize(provider)

  const response = await postToken(provider, { ...codeGrantFields(authorization), client_id: 'other', client_secret: 'other-secret' })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_grant')
  t.equal(body.hint, 'Authorization code was issued to another client')
})

test('refresh rotates both tokens', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)

  const response = await postToken(provider, refreshFields(tokens.refresh_token))
  const refreshed = await response.json() as TokenBody

  t.equal(response.status, 200)
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.not(refreshed.access_token, tokens.access_token)
  t.not(refreshed.refresh_token, tokens.refresh_token)
  t.equal(refreshed.scope, 'view-user detail-user')
  t.notOk(provider.isAccessTokenActive(tokens.access_token), 'old access token revoked')
  t.ok(provider.isAccessTokenActive(refreshed.access_token))
  t.equal(provider.activeRefreshTokenCount(1001), 1)
  t.equal(provider.stats.refreshSuccesses, 1)
})

test('reused refresh token gets revoked body', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)
  const first = await postToken(provider, refreshFields(tokens.refresh_token))
  t.equal(first.status, 200)

  for (let attempt = 1; attempt <= 2; attempt += 1) {
    const reuse = await postToken(provider, refreshFields(tokens.refresh_token))
    t.equal(reuse.status, 401, `attempt ${attempt}`)
    t.equal(await reuse.text(), JSON.stringify(REVOKED_REFRESH_TOKEN_BODY), `attempt ${attempt}`)
  }
  t.equal(provider.stats.refreshRejections, 2)
})

test('unknown refresh token is invalid_grant', async (t) => {
  const provider = await startProvider(t)

  const response = await postToken(provider, refreshFields('no-such-token'))
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_grant')
  t.equal(body.error_description, INVALID_GRANT_DESCRIPTION)
  t.equal(body.hint, 'Refresh token is unknown')
})

test('expired refresh token is invalid_grant', async (t) => {
  let now = Date.now()
  const provider = await startProvider(t, { refreshTokenTtlSeconds: 60, now: () => now })
  const tokens = await obtainTokens(provider)

  now += 60_000
  const response = await postToken(provider, refreshFields(tokens.refresh_token))
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_grant')
})

test('refresh narrows scope', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider)

  const narrowed = await postToken(provider, refreshFields(tokens.refresh_token, { scope: 'view-user' }))
  const narrowedBody = await narrowed.json() as TokenBody
  t.equal(narrowed.status, 200)
  t.equal(narrowedBody.scope, 'view-user')
  t.equal((await callApi(provider, '/api/user/details', narrowedBody.access_token)).status, 403)

  // RFC 6749 §6: the new refresh token keeps the original scope.
  const restored = await postToken(provider, refreshFields(narrowedBody.refresh_token))
  t.equal((await restored.json() as TokenBody).scope, 'view-user detail-user')
})

test('refresh cannot widen scope', async (t) => {
  const provider = await startProvider(t)
  const tokens = await obtainTokens(provider, { scope: 'view-user' })

  const response = await postToken(provider, refreshFields(tokens.refresh_token, { scope: 'view-user detail-user' }))
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_scope')
  t.equal(body.hint, 'Scope `detail-user` was not granted originally')
  t.equal(provider.activeRefreshTokenCount(1001), 1, 'the refresh token is not consumed')
})

test('basic authentication exchanges code', async (t) => {
  const provider = await startProvider(t)
  const authorization = await authorize(provider)
  const { client_secret: _secret, ...fields } = codeGrantFields(authorization)

  const response = await postToken(provider, fields, { id: CLIENT_ID, secret: CLIENT_SECRET })

  t.equal(response.status, 200)
})

test('basic authentication decodes form encoding', async (t) => {
  const provider = await startProvider(t, {
    clients: [{ clientId: 'app id', clientSecret: 'p@ss:word+/=', redirectUris: [REDIRECT_URI] }]
  })

  const response = await postToken(provider, { grant_type: 'client_credentials' }, { id: 'app id', secret: 'p@ss:word+/=' })

  t.equal(response.status, 200)
})

test('basic authentication with wrong secret', async (t) => {
  const provider = await startProvider(t)

  const response = await postToken(provider, { grant_type: 'client_credentials' }, { id: CLIENT_ID, secret: 'wrong' })

  t.equal(response.status, 401)
  t.equal(await response.text(), JSON.stringify(INVALID_CLIENT_BODY))
  t.equal(response.headers.get('www-authenticate'), 'Basic realm="OAuth"')
})

test('body credentials with wrong secret', async (t) => {
  const provider = await startProvider(t)

  const response = await postToken(provider, { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'wrong' })

  t.equal(response.status, 401)
  t.equal(await response.text(), JSON.stringify(INVALID_CLIENT_BODY))
  t.equal(response.headers.get('www-authenticate'), null)
})

test('both authentication methods are rejected', async (t) => {
  const provider = await startProvider(t)

  const response = await postToken(
    provider,
    { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    { id: CLIENT_ID, secret: CLIENT_SECRET }
  )
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_request')
})

test('client_credentials has no user', async (t) => {
  const provider = await startProvider(t)

  const response = await postToken(provider, { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, scope: 'view-user' })
  const body = await response.json() as Record<string, unknown>
  t.equal(response.status, 200)
  t.same(Object.keys(body), ['token_type', 'expires_in', 'access_token', 'scope'])

  const user = await callApi(provider, '/api/user', String(body.access_token))
  t.equal(user.status, 401)
  t.equal(provider.stats.tokenRequests.client_credentials, 1)
})

test('json body is invalid_request', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })
  })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_request')
  t.equal(body.hint, 'Send the parameters as application/x-www-form-urlencoded')
})

test('empty body is invalid_request', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/oauth/token`, { method: 'POST' })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_request')
})

test('unknown grant_type is unsupported', async (t) => {
  const provider = await startProvider(t)

  const response = await postToken(provider, { grant_type: 'password', client_id: CLIENT_ID, client_secret: CLIENT_SECRET })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'unsupported_grant_type')
  t.equal(provider.stats.tokenRequests.other, 1)
})

test('repeated form parameter is invalid_request', async (t) => {
  const provider = await startProvider(t)

  const response = await fetch(`${provider.baseUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=client_credentials&client_id=${CLIENT_ID}&client_secret=${CLIENT_SECRET}&client_secret=x`
  })
  const body = await response.json() as ErrorBody

  t.equal(response.status, 400)
  t.equal(body.error, 'invalid_request')
  t.equal(body.hint, '`client_secret` is repeated')
})

test('generateToken plants token values', async (t) => {
  let counter = 0
  const provider = await startProvider(t, {
    generateToken: (kind) => {
      counter += 1
      return `planted-${kind}-${counter}-${'x'.repeat(40)}`
    }
  })

  const tokens = await obtainTokens(provider)

  t.match(tokens.access_token, /^planted-access_token-/)
  t.match(tokens.refresh_token, /^planted-refresh_token-/)
})
