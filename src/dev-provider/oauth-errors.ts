/**
 * OAuth error codes and the error bodies Laravel Passport sends: `error`, `error_description`,
 * an optional `hint`, and `message`, which repeats `error_description`.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'access_denied'
  | 'login_required'
  | 'consent_required'

// Passport's exact wording where clients are known to compare it, otherwise a plain description.
const ERROR_DESCRIPTIONS: Readonly<Record<OAuthErrorCode, string>> = {
  invalid_request: 'The request is missing a required parameter, has an invalid or repeated parameter, or is otherwise malformed.',
  invalid_client: 'Client authentication failed',
  invalid_grant: 'The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  invalid_scope: 'The requested scope is invalid or unknown.',
  unsupported_grant_type: 'The grant type is not supported by this authorization server.',
  unsupported_response_type: 'The response type is not supported by this authorization server.',
  access_denied: 'The resource owner or authorization server denied the request.',
  login_required: 'The user is not signed in, and prompt=none forbids showing the login page.',
  consent_required: 'The user has not approved this request, and prompt=none forbids showing the consent page.'
}

// A type alias, not an interface, so that it fits the Record type of a response body.
export type PassportErrorBody = {
  readonly error: OAuthErrorCode
  readonly error_description: string
  readonly hint?: string
  readonly message: string
}

/** A finished token endpoint response: status, JSON body and extra headers. */
export interface TokenEndpointResponse {
  readonly status: number
  readonly body: Readonly<Record<string, unknown>>
  readonly headers?: Readonly<Record<string, string>>
}

export function describeError (error: OAuthErrorCode): string {
  return ERROR_DESCRIPTIONS[error]
}

export function passportErrorBody (error: OAuthErrorCode, hint?: string): PassportErrorBody {
  const description = ERROR_DESCRIPTIONS[error]
  if (hint === undefined) return { error, error_description: description, message: description }
  return { error, error_description: description, hint, message: description }
}

export function tokenError (status: 400 | 401, error: OAuthErrorCode, hint?: string): TokenEndpointResponse {
  return { status, body: passportErrorBody(error, hint) }
}

/** Response to a client whose credentials do not match a registered client. */
export function invalidClient (usedBasicAuthentication: boolean): TokenEndpointResponse {
  // RFC 6749 §5.2: a client that tried HTTP Basic gets a challenge for the same scheme.
  const headers = usedBasicAuthentication ? { 'www-authenticate': 'Basic realm="OAuth"' } : undefined
  return { status: 401, body: passportErrorBody('invalid_client'), headers }
}

/** Response to a refresh token that was already rotated or revoked, exactly as Passport sends it. */
export const REVOKED_REFRESH_TOKEN: TokenEndpointResponse = {
  status: 401,
  body: {
    error: 'invalid_request',
    error_description: 'The refresh token is invalid.',
    hint: 'Token has been revoked',
    message: 'The refresh token is invalid.'
  }
}
