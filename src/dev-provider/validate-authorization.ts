import type { AuthorizationRequest, PromptValue } from './authorization-requests.js'
import type { OAuthErrorCode } from './oauth-errors.js'
import type { DevProviderClient } from './options.js'
import { findUnknownScope, splitSpaceDelimited, type RequestParameters } from './parameters.js'
import { isS256CodeChallenge } from './pkce.js'

/**
 * Result of validating an authorize request. Errors about the client or the redirect URI are
 * shown as a page, because redirecting to an unverified URI would make the provider an open
 * redirector (RFC 6749 §4.1.2.1). Other errors go back to the client on the redirect URI.
 */
export type AuthorizationValidation =
  | { readonly kind: 'valid', readonly request: AuthorizationRequest }
  | { readonly kind: 'error-page', readonly status: 400 | 401, readonly title: string, readonly message: string }
  | {
    readonly kind: 'error-redirect'
    readonly redirectUri: string
    readonly error: OAuthErrorCode
    readonly hint: string
    readonly state: string | undefined
  }

const PROMPT_VALUES: readonly string[] = ['none', 'login', 'consent']

export function validateAuthorizationRequest (
  parameters: RequestParameters,
  clients: ReadonlyMap<string, Readonly<DevProviderClient>>
): AuthorizationValidation {
  const clientId = parameters.get('client_id')
  const redirectUri = parameters.get('redirect_uri')
  if (parameters.isRepeated('client_id') || parameters.isRepeated('redirect_uri')) {
    return pageError(400, 'Invalid request', '`client_id` and `redirect_uri` must each be sent once.')
  }
  if (clientId === undefined) return pageError(400, 'Invalid request', 'The `client_id` parameter is missing.')
  const client = clients.get(clientId)
  if (client === undefined) {
    return pageError(401, 'Unknown application', `Client authentication failed: no client is registered with client_id "${clientId}".`)
  }
  if (redirectUri === undefined) return pageError(400, 'Invalid request', 'The `redirect_uri` parameter is missing.')
  if (!client.redirectUris.includes(redirectUri)) {
    return pageError(401, 'Invalid redirect URI', `The redirect_uri "${redirectUri}" is not registered for client "${clientId}". It must match a registered URI exactly.`)
  }

  const state = parameters.isRepeated('state') ? undefined : parameters.get('state')
  const problem = findRedirectableProblem(parameters)
  if (problem !== undefined) return { kind: 'error-redirect', redirectUri, state, ...problem }

  return {
    kind: 'valid',
    request: {
      clientId,
      redirectUri,
      scopes: splitSpaceDelimited(parameters.get('scope')),
      state: parameters.get('state') ?? '',
      codeChallenge: parameters.get('code_challenge') ?? '',
      prompt: new Set(splitSpaceDelimited(parameters.get('prompt')) as PromptValue[])
    }
  }
}

function pageError (status: 400 | 401, title: string, message: string): AuthorizationValidation {
  return { kind: 'error-page', status, title, message }
}

/** Returns the first problem of a request whose client and redirect URI are valid. */
function findRedirectableProblem (parameters: RequestParameters): { error: OAuthErrorCode, hint: string } | undefined {
  const repeated = parameters.firstRepeated
  if (repeated !== undefined) return { error: 'invalid_request', hint: `\`${repeated}\` is repeated` }

  const responseType = parameters.get('response_type')
  if (responseType === undefined) return { error: 'invalid_request', hint: '`response_type` is missing' }
  if (responseType !== 'code') return { error: 'unsupported_response_type', hint: 'Only `response_type=code` is supported' }

  if (!parameters.has('state')) return { error: 'invalid_request', hint: '`state` is missing' }

  const unknownScope = findUnknownScope(splitSpaceDelimited(parameters.get('scope')))
  if (unknownScope !== undefined) return { error: 'invalid_scope', hint: `Scope \`${unknownScope}\` is unknown` }

  return findPkceProblem(parameters) ?? findPromptProblem(parameters.get('prompt'))
}

// PKCE is required for every client, and only with S256, because `plain` exposes the verifier.
function findPkceProblem (parameters: RequestParameters): { error: OAuthErrorCode, hint: string } | undefined {
  const codeChallenge = parameters.get('code_challenge')
  const method = parameters.get('code_challenge_method')
  if (codeChallenge === undefined) return { error: 'invalid_request', hint: '`code_challenge` is missing' }
  if (method === undefined) return { error: 'invalid_request', hint: '`code_challenge_method` is missing, send S256' }
  if (method !== 'S256') return { error: 'invalid_request', hint: `\`code_challenge_method\` "${method}" is not allowed, send S256` }
  if (!isS256CodeChallenge(codeChallenge)) {
    return { error: 'invalid_request', hint: '`code_challenge` must be 43 base64url characters, the SHA-256 digest of the verifier' }
  }
  return undefined
}

function findPromptProblem (prompt: string | undefined): { error: OAuthErrorCode, hint: string } | undefined {
  const values = splitSpaceDelimited(prompt)
  const unknown = values.find((value) => !PROMPT_VALUES.includes(value))
  if (unknown !== undefined) return { error: 'invalid_request', hint: `\`prompt\` value "${unknown}" is unknown` }
  if (values.includes('none') && values.length > 1) {
    return { error: 'invalid_request', hint: '`prompt=none` cannot be combined with other values' }
  }
  return undefined
}
