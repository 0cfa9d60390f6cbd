import type { ProviderContext } from './context.js'
import { TOKEN_SHAPER_KINDS, type FaultOfKind } from './faults.js'
import { REVOKED_REFRESH_TOKEN, tokenError, type TokenEndpointResponse } from './oauth-errors.js'
import type { DevProviderClient } from './options.js'
import { findUnknownScope, splitSpaceDelimited, type RequestParameters } from './parameters.js'
import { isCodeVerifier, verifyCodeVerifier } from './pkce.js'
import type { AccessTokenRecord, RefreshTokenRecord } from './token-ledger.js'

export const SUPPORTED_GRANT_TYPES: readonly string[] = ['authorization_code', 'refresh_token', 'client_credentials']

type TokenShaper = FaultOfKind<typeof TOKEN_SHAPER_KINDS[number]>

/** Exchanges an authorization code for tokens (RFC 6749 §4.1.3, PKCE by RFC 7636 §4.5). */
export function exchangeAuthorizationCode (
  context: ProviderContext,
  client: Readonly<DevProviderClient>,
  parameters: RequestParameters
): TokenEndpointResponse {
  const code = parameters.get('code')
  const redirectUri = parameters.get('redirect_uri')
  const codeVerifier = parameters.get('code_verifier')
  if (code === undefined) return tokenError(400, 'invalid_request', '`code` is missing')
  if (redirectUri === undefined) return tokenError(400, 'invalid_request', '`redirect_uri` is missing')
  if (codeVerifier === undefined) return tokenError(400, 'invalid_request', '`code_verifier` is missing')
  if (!isCodeVerifier(codeVerifier)) {
    return tokenError(400, 'invalid_request', '`code_verifier` must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_" and "~" (RFC 7636)')
  }

  const record = context.ledger.findCode(code)
  if (record === undefined) return tokenError(400, 'invalid_grant', 'Authorization code is unknown')
  if (record.used) {
    // RFC 6749 §4.1.2: a code used twice revokes the tokens already issued from it.
    context.ledger.revokeFamily(record.familyId)
    return tokenError(400, 'invalid_grant', 'Authorization code has already been used, so the tokens issued from it are revoked')
  }
  if (context.ledger.isExpired(record)) return tokenError(400, 'invalid_grant', 'Authorization code has expired')
  if (record.clientId !== client.clientId) return tokenError(400, 'invalid_grant', 'Authorization code was issued to another client')
  if (record.redirectUri !== redirectUri) {
    return tokenError(400, 'invalid_grant', '`redirect_uri` differs from the one in the authorization request')
  }
  if (!verifyCodeVerifier(codeVerifier, record.codeChallenge)) {
    return tokenError(400, 'invalid_grant', 'Failed to verify `code_verifier`')
  }

  record.used = true
  const shapers = context.faults.take('token', 'authorization_code', TOKEN_SHAPER_KINDS)
  const issued = context.ledger.issueUserTokens(record, !omitsRefreshToken(shapers))
  return tokenSuccess(context, issued.accessToken, issued.refreshToken, shapers)
}

/**
 * Exchanges a refresh token for new tokens (RFC 6749 §6). The old refresh token and its access
 * token are revoked, and a later use of the old refresh token gets Passport's 401 "revoked" body.
 */
export function exchangeRefreshToken (
  context: ProviderContext,
  client: Readonly<DevProviderClient>,
  parameters: RequestParameters
): TokenEndpointResponse {
  const token = parameters.get('refresh_token')
  if (token === undefined) return tokenError(400, 'invalid_request', '`refresh_token` is missing')

  const record = context.ledger.findRefreshToken(token)
  if (record === undefined) return tokenError(400, 'invalid_grant', 'Refresh token is unknown')
  if (record.revoked) return REVOKED_REFRESH_TOKEN
  if (context.ledger.isExpired(record)) return tokenError(400, 'invalid_grant', 'Refresh token has expired')
  if (record.clientId !== client.clientId) return tokenError(400, 'invalid_grant', 'Refresh token was issued to another client')

  const scopes = narrowScope(record, parameters.get('scope'))
  if (typeof scopes === 'string') return tokenError(400, 'invalid_scope', scopes)

  const shapers = context.faults.take('token', 'refresh_token', TOKEN_SHAPER_KINDS)
  const issued = context.ledger.refresh(record, scopes, !omitsRefreshToken(shapers))
  return tokenSuccess(context, issued.accessToken, issued.refreshToken, shapers)
}

/** Issues an access token for the client itself, without a user or a refresh token (RFC 6749 §4.4). */
export function issueClientCredentialsToken (
  context: ProviderContext,
  client: Readonly<DevProviderClient>,
  parameters: RequestParameters
): TokenEndpointResponse {
  const scopes = splitSpaceDelimited(parameters.get('scope'))
  const unknownScope = findUnknownScope(scopes)
  if (unknownScope !== undefined) return tokenError(400, 'invalid_scope', `Scope \`${unknownScope}\` is unknown`)

  const shapers = context.faults.take('token', 'client_credentials', TOKEN_SHAPER_KINDS)
  const accessToken = context.ledger.issueClientToken(client.clientId, scopes)
  return tokenSuccess(context, accessToken, null, shapers)
}

/**
 * Returns the scopes for the refreshed access token, or a hint for `invalid_scope`. Without a
 * `scope` parameter the original scopes are kept, and a narrower one must be a subset of them.
 */
function narrowScope (record: RefreshTokenRecord, scope: string | undefined): readonly string[] | string {
  if (scope === undefined) return record.scopes
  const requested = splitSpaceDelimited(scope)
  const unknownScope = findUnknownScope(requested)
  if (unknownScope !== undefined) return `Scope \`${unknownScope}\` is unknown`
  const widened = requested.find((name) => !record.scopes.includes(name))
  if (widened !== undefined) return `Scope \`${widened}\` was not granted originally`
  return requested
}

function omitsRefreshToken (shapers: readonly TokenShaper[]): boolean {
  return shapers.some((shaper) => shaper.kind === 'omit-refresh-token')
}

function tokenSuccess (
  context: ProviderContext,
  accessToken: AccessTokenRecord,
  refreshToken: RefreshTokenRecord | null,
  shapers: readonly TokenShaper[]
): TokenEndpointResponse {
  const body: Record<string, unknown> = {
    token_type: 'Bearer',
    expires_in: context.options.accessTokenTtlMs / 1000,
    access_token: accessToken.token
  }
  if (refreshToken !== null) body.refresh_token = refreshToken.token
  body.scope = accessToken.scopes.join(' ')

  for (const shaper of shapers) {
    applyShaper(body, shaper)
  }
  return { status: 200, body }
}

function applyShaper (body: Record<string, unknown>, shaper: TokenShaper): void {
  switch (shaper.kind) {
    case 'expires-in':
      if (shaper.value === 'omit') {
        delete body.expires_in
      } else {
        body.expires_in = shaper.value
      }
      return
    case 'token-type':
      if (shaper.value === 'omit') {
        delete body.token_type
      } else {
        body.token_type = shaper.value
      }
      return
    case 'omit-refresh-token':
      delete body.refresh_token
      return
    case 'omit-scope':
      delete body.scope
  }
}
