import createError from '@fastify/error'

/*
 * Every error this plugin throws or sends, with one prefix, grouped by area.
 * Caller misuse (options) and provider failures are separate families, so a
 * host app can tell a bug in its own setup from an outage upstream.
 */

// Options: thrown once at registration, before anything is decorated.
export const OptionMissingError = createError<'FST_MUBAROKAH_OPTION_MISSING', [string, string]>(
  'FST_MUBAROKAH_OPTION_MISSING',
  'Option "%s" is missing: %s',
  500
)
export const OptionInvalidError = createError<'FST_MUBAROKAH_OPTION_INVALID', [string, string]>(
  'FST_MUBAROKAH_OPTION_INVALID',
  'Option "%s" is invalid: %s',
  500
)

// Login transaction: the callback could not be matched to a login started by this browser.
export const StateMissingError = createError(
  'FST_MUBAROKAH_STATE_MISSING',
  'The callback has no "state" parameter',
  400
)
export const StateUnknownError = createError(
  'FST_MUBAROKAH_STATE_UNKNOWN',
  'The callback "state" is unknown or its login expired',
  400
)
export const StateMismatchError = createError(
  'FST_MUBAROKAH_STATE_MISMATCH',
  'The callback "state" belongs to a login started by another browser',
  400
)
export const LoginCookieMissingError = createError(
  'FST_MUBAROKAH_LOGIN_COOKIE_MISSING',
  'The callback arrived without the login cookie, so the login cannot be matched to this browser',
  400
)
export const CodeMissingError = createError(
  'FST_MUBAROKAH_CODE_MISSING',
  'The callback has no "code" parameter',
  400
)
export const LoginInProgressError = createError(
  'FST_MUBAROKAH_LOGIN_IN_PROGRESS',
  'This login is still being completed by an earlier request',
  409
)
export const AccessDeniedError = createError(
  'FST_MUBAROKAH_ACCESS_DENIED',
  'The user or the provider denied the authorization request',
  403
)
export const AuthorizationError = createError<'FST_MUBAROKAH_AUTHORIZATION_ERROR', [string]>(
  'FST_MUBAROKAH_AUTHORIZATION_ERROR',
  'The provider returned error "%s" to the callback',
  400
)
export const InsecureTransportError = createError(
  'FST_MUBAROKAH_INSECURE_TRANSPORT',
  'The login cookie must be Secure but the request arrived over HTTP; behind a TLS-terminating proxy set the Fastify option trustProxy',
  500
)

// Provider: the HTTP exchange with Mubarokah ID failed or was refused.
export const ProviderRejectedError = createError<'FST_MUBAROKAH_PROVIDER_REJECTED', [string, number]>(
  'FST_MUBAROKAH_PROVIDER_REJECTED',
  'The provider rejected the request with OAuth error "%s" (HTTP %d)',
  401
)
export const ProviderUnavailableError = createError<'FST_MUBAROKAH_PROVIDER_UNAVAILABLE', [string, { cause: unknown }?]>(
  'FST_MUBAROKAH_PROVIDER_UNAVAILABLE',
  'The provider is unavailable: %s',
  503
)
export const ProviderResponseError = createError<'FST_MUBAROKAH_PROVIDER_RESPONSE_INVALID', [string, { cause: unknown }?]>(
  'FST_MUBAROKAH_PROVIDER_RESPONSE_INVALID',
  'The provider sent an invalid response: %s',
  502
)
export const ProviderRateLimitedError = createError(
  'FST_MUBAROKAH_PROVIDER_RATE_LIMITED',
  'The provider is rate limiting this client',
  503
)
export const InsufficientScopeError = createError(
  'FST_MUBAROKAH_INSUFFICIENT_SCOPE',
  'The access token lacks the scope this provider endpoint needs',
  403
)
export const UnapprovedScopeError = createError(
  'FST_MUBAROKAH_UNAPPROVED_SCOPE',
  'The provider has not approved the detail-user scope for this client',
  403
)
export const TokenTypeError = createError<'FST_MUBAROKAH_TOKEN_TYPE_UNSUPPORTED', [string]>(
  'FST_MUBAROKAH_TOKEN_TYPE_UNSUPPORTED',
  'The provider issued token type "%s"; only Bearer is supported',
  502
)

// Tokens and sessions: the request has no usable grant.
export const UnauthenticatedError = createError(
  'FST_MUBAROKAH_UNAUTHENTICATED',
  'Login required',
  401
)
export const GrantEndedError = createError(
  'FST_MUBAROKAH_GRANT_ENDED',
  'The login has ended at the provider; log in again',
  401
)
export const RefreshUnavailableError = createError(
  'FST_MUBAROKAH_REFRESH_UNAVAILABLE',
  'The access token expired and could not be refreshed now; try again shortly',
  503
)
export const ScopeRequiredError = createError<'FST_MUBAROKAH_SCOPE_REQUIRED', [string]>(
  'FST_MUBAROKAH_SCOPE_REQUIRED',
  'This route needs the scopes: %s',
  403
)

// Store: the token or session store could not be reached in time.
export const StoreUnavailableError = createError<'FST_MUBAROKAH_STORE_UNAVAILABLE', [{ cause: unknown }?]>(
  'FST_MUBAROKAH_STORE_UNAVAILABLE',
  'The session or token store is unavailable; try again shortly',
  503
)

// Request hygiene on the auth routes.
export const RequestInvalidError = createError<'FST_MUBAROKAH_REQUEST_INVALID', [string]>(
  'FST_MUBAROKAH_REQUEST_INVALID',
  'The request is invalid: %s',
  400
)
export const OriginRejectedError = createError(
  'FST_MUBAROKAH_ORIGIN_REJECTED',
  'Cross-site requests cannot log out',
  403
)
export const MethodNotAllowedError = createError(
  'FST_MUBAROKAH_METHOD_NOT_ALLOWED',
  'Logout accepts only POST',
  405
)
export const RateLimitedError = createError(
  'FST_MUBAROKAH_RATE_LIMITED',
  'Too many login attempts; try again later',
  429
)

/** An error code of this plugin. */
export type MubarokahErrorCode = `FST_MUBAROKAH_${string}`

/** Seconds a client should wait, attached to 429 and 503 errors. */
export const retryAfterKey = Symbol('mubarokah.retryAfterSeconds')

/** Attaches a Retry-After value (in whole seconds, at least 1) to an error. */
export function withRetryAfter<E extends Error> (error: E, seconds: number): E {
  Object.defineProperty(error, retryAfterKey, {
    value: Math.max(1, Math.ceil(seconds)),
    enumerable: false
  })
  return error
}

/** Reads the Retry-After seconds attached by `withRetryAfter`, if any. */
export function retryAfterOf (error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const value = (error as Record<symbol, unknown>)[retryAfterKey]
  return typeof value === 'number' ? value : undefined
}

/** Tells whether a value is an error of this plugin. */
export function isMubarokahError (error: unknown): error is Error & { code: MubarokahErrorCode, statusCode: number } {
  return error instanceof Error &&
    typeof (error as unknown as { code?: unknown }).code === 'string' &&
    (error as unknown as { code: string }).code.startsWith('FST_MUBAROKAH_')
}
