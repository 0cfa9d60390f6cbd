import {
  InsufficientScopeError,
  ProviderRejectedError,
  ProviderResponseError,
  UnapprovedScopeError
} from '../errors.js'
import { attachDetails, providerDetails, requestProvider, type HttpSettings, type ProviderResponse } from './http.js'
import {
  normalizeDetails,
  normalizeTokenResponse,
  normalizeUser,
  oauthErrorOf,
  type MubarokahDetailsFields,
  type MubarokahProfile,
  type TokenSet
} from './normalize.js'

export interface OAuthClientSettings extends HttpSettings {
  readonly clientId: string
  readonly clientSecret: string
  readonly redirectUri: string
  readonly baseUrl: string
  readonly clientAuthentication: 'body' | 'basic'
  readonly defaultTokenLifetimeSeconds: number
}

export interface AuthorizationUrlInput {
  readonly state: string
  readonly codeChallenge: string
  readonly scopes: readonly string[]
  readonly prompt?: 'consent' | 'login'
  /** Extra query parameters; they cannot replace the ones the client sets. */
  readonly params?: Readonly<Record<string, string>>
}

/**
 * The OAuth 2.0 client for Mubarokah ID (Laravel Passport): authorization code with PKCE S256,
 * refresh with rotation, client credentials, and the user endpoints. Stateless: storage and
 * single-flight refresh live elsewhere.
 */
export class MubarokahOAuthClient {
  readonly #settings: OAuthClientSettings

  constructor (settings: OAuthClientSettings) {
    this.#settings = settings
  }

  /** Builds the URL of `GET /oauth/authorize` (RFC 6749 §4.1.1, RFC 7636 §4.3). */
  authorizationUrl (input: AuthorizationUrlInput): string {
    const url = new URL(`${this.#settings.baseUrl}/oauth/authorize`)
    for (const [name, value] of Object.entries(input.params ?? {})) url.searchParams.set(name, value)
    url.searchParams.set('response_type', 'code')
    url.searchParams.set('client_id', this.#settings.clientId)
    url.searchParams.set('redirect_uri', this.#settings.redirectUri)
    url.searchParams.set('scope', input.scopes.join(' '))
    url.searchParams.set('state', input.state)
    url.searchParams.set('code_challenge', input.codeChallenge)
    url.searchParams.set('code_challenge_method', 'S256')
    if (input.prompt !== undefined) url.searchParams.set('prompt', input.prompt)
    return url.toString()
  }

  /** Exchanges an authorization code (RFC 6749 §4.1.3) with its PKCE verifier. */
  async exchangeCode (code: string, codeVerifier: string, requestedScopes: readonly string[]): Promise<TokenSet> {
    return await this.#tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.#settings.redirectUri,
      code_verifier: codeVerifier
    }, requestedScopes)
  }

  /**
   * Uses a refresh token (RFC 6749 §6). Passport refresh tokens are single use: the caller must
   * store the returned refresh token, or keep the old one only when none came back.
   */
  async refresh (refreshToken: string, currentScopes: readonly string[], narrowerScopes?: readonly string[]): Promise<TokenSet> {
    const form: Record<string, string> = { grant_type: 'refresh_token', refresh_token: refreshToken }
    if (narrowerScopes !== undefined) form.scope = narrowerScopes.join(' ')
    return await this.#tokenRequest(form, narrowerScopes ?? currentScopes)
  }

  /** Gets an app-only token (RFC 6749 §4.4); it carries no user and no refresh token. */
  async clientCredentials (scopes: readonly string[] = []): Promise<TokenSet> {
    const form: Record<string, string> = { grant_type: 'client_credentials' }
    if (scopes.length > 0) form.scope = scopes.join(' ')
    return await this.#tokenRequest(form, scopes)
  }

  /** Fetches `GET /api/user` (scope `view-user`). */
  async fetchUser (accessToken: string): Promise<MubarokahProfile> {
    const response = await this.#apiRequest('/api/user', accessToken)
    return normalizeUser(response.body)
  }

  /** Fetches `GET /api/user/details` (scope `detail-user`, approved by the provider's admin). */
  async fetchDetails (accessToken: string): Promise<MubarokahDetailsFields> {
    const response = await this.#apiRequest('/api/user/details', accessToken)
    return normalizeDetails(response.body)
  }

  /** Calls `GET /api/logout-sso`: revokes this access token and ends the Mubarokah ID session in every app. */
  async logoutSso (accessToken: string): Promise<void> {
    await this.#apiRequest('/api/logout-sso', accessToken)
  }

  async #tokenRequest (fields: Record<string, string>, requestedScopes: readonly string[]): Promise<TokenSet> {
    const form = new URLSearchParams(fields)
    const headers: Record<string, string> = {}
    if (this.#settings.clientAuthentication === 'basic') {
      // RFC 6749 §2.3.1: both parts are form-encoded before Base64.
      const credentials = `${formEncode(this.#settings.clientId)}:${formEncode(this.#settings.clientSecret)}`
      headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`
    } else {
      form.set('client_id', this.#settings.clientId)
      form.set('client_secret', this.#settings.clientSecret)
    }

    const response = await requestProvider(this.#settings, {
      method: 'POST',
      url: `${this.#settings.baseUrl}/oauth/token`,
      headers,
      form
    })
    if (response.status === 400 || response.status === 401) throw tokenRejection(response)
    if (response.status !== 200 && response.status !== 201) throw unexpectedStatus(response, 'token endpoint')
    return normalizeTokenResponse(response.body, response.status, requestedScopes, this.#settings.defaultTokenLifetimeSeconds)
  }

  async #apiRequest (path: string, accessToken: string): Promise<ProviderResponse> {
    const response = await requestProvider(this.#settings, {
      method: 'GET',
      url: `${this.#settings.baseUrl}${path}`,
      headers: { authorization: `Bearer ${accessToken}` }
    })
    if (response.status === 200) return response

    const rejection = oauthErrorOf(response.body)
    const facts = { status: response.status, contentType: response.contentType, oauthError: rejection?.error }
    if (response.status === 401) throw attachDetails(new ProviderRejectedError('invalid_token', 401), facts)
    if (response.status === 403) {
      if (rejection?.error === 'insufficient_scope') throw attachDetails(new InsufficientScopeError(), facts)
      if (rejection?.error === 'unapproved_scope') throw attachDetails(new UnapprovedScopeError(), facts)
      const error = new ProviderRejectedError(rejection?.error ?? 'forbidden', 403)
      error.statusCode = 403
      throw attachDetails(error, facts)
    }
    throw unexpectedStatus(response, path)
  }
}

function formEncode (value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}

function tokenRejection (response: ProviderResponse): Error {
  const rejection = oauthErrorOf(response.body)
  const oauthError = rejection?.error ?? 'invalid_request'
  return attachDetails(new ProviderRejectedError(oauthError, response.status), {
    status: response.status,
    contentType: response.contentType,
    oauthError
  })
}

function unexpectedStatus (response: ProviderResponse, endpoint: string): Error {
  return attachDetails(new ProviderResponseError(`unexpected HTTP ${response.status} from ${endpoint}`), {
    status: response.status,
    contentType: response.contentType,
    oauthError: oauthErrorOf(response.body)?.error
  })
}

/** Tells whether a failed refresh ends the grant (a definitive OAuth rejection) rather than being transient. */
export function isDefinitiveRejection (error: unknown): boolean {
  if (!(error instanceof ProviderRejectedError)) return false
  // invalid_client is our own misconfiguration; logging every user out for it would lose their grants.
  return providerDetails(error)?.oauthError !== 'invalid_client'
}
