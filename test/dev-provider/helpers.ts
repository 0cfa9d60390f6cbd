import { createHash, randomBytes } from 'node:crypto'
import type { Test } from 'tap'
import {
  DEFAULT_DEV_CLIENT,
  SESSION_COOKIE_NAME,
  startDevProvider,
  type DevProvider,
  type DevProviderOptions
} from '../../src/dev-provider/index.js'

export const CLIENT_ID = DEFAULT_DEV_CLIENT.clientId
export const CLIENT_SECRET = DEFAULT_DEV_CLIENT.clientSecret
export const REDIRECT_URI = 'http://127.0.0.1:3000/auth/mubarokah/callback'

/** Starts a provider on a random loopback port and closes it when the test ends. */
export async function startProvider (t: Pick<Test, 'teardown'>, options: DevProviderOptions = {}): Promise<DevProvider> {
  const provider = await startDevProvider(options)
  t.teardown(() => provider.close())
  return provider
}

export interface PkcePair {
  readonly codeVerifier: string
  readonly codeChallenge: string
}

export function createPkcePair (): PkcePair {
  const codeVerifier = randomBytes(32).toString('base64url')
  const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url')
  return { codeVerifier, codeChallenge }
}

/** Builds an authorize URL with valid defaults. `overrides` replaces parameters, and `null` removes one. */
export function authorizeUrl (provider: DevProvider, overrides: Record<string, string | null> = {}, codeChallenge = createPkcePair().codeChallenge): string {
  const parameters: Record<string, string | null> = {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'view-user detail-user',
    state: 'state-123',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    ...overrides
  }
  const url = new URL('/oauth/authorize', provider.baseUrl)
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== null) url.searchParams.set(name, value)
  }
  return url.href
}

/** The provider session cookie of one simulated browser. */
export class Browser {
  sessionId: string | undefined

  /** Sends a request like a browser that does not follow redirects, storing the session cookie. */
  async fetch (url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.sessionId !== undefined) headers.set('cookie', `${SESSION_COOKIE_NAME}=${this.sessionId}`)
    const response = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const cookie of response.headers.getSetCookie()) {
      const match = new RegExp(`^${SESSION_COOKIE_NAME}=([^;]*)`).exec(cookie)
      if (match !== null) this.sessionId = match[1]
    }
    return response
  }

  async postForm (url: string, fields: Record<string, string>): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString()
    })
  }
}

/** Returns the `name` to `value` map of the hidden inputs of a page. */
export function hiddenFields (html: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] ?? ''] = (match[2] ?? '').replace(/&amp;/g, '&')
  }
  return fields
}

/** Opens the authorize URL and signs in, returning the response that follows the login (consent page or redirect). */
export async function signIn (provider: DevProvider, browser: Browser, url: string, username = 'budi', password = 'demo'): Promise<Response> {
  const loginPage = await browser.fetch(url)
  const fields = hiddenFields(await loginPage.text())
  const login = await browser.postForm(`${provider.baseUrl}/login`, { ...fields, username, password })
  const location = login.headers.get('location')
  if (login.status !== 303 || location === null) throw new Error(`login answered ${login.status}`)
  return browser.fetch(new URL(location, provider.baseUrl).href)
}

/** Submits the consent page with the given decision. */
export async function decide (provider: DevProvider, browser: Browser, consentPage: Response, decision: 'approve' | 'deny'): Promise<Response> {
  const fields = hiddenFields(await consentPage.text())
  return browser.postForm(`${provider.baseUrl}/oauth/authorize`, { ...fields, decision })
}

export interface AuthorizationResult {
  readonly code: string
  readonly codeVerifier: string
  readonly browser: Browser
}

/** Runs the browser part of the code flow (authorize, login, approve) and returns the code. */
export async function authorize (provider: DevProvider, options: { scope?: string, username?: string, browser?: Browser } = {}): Promise<AuthorizationResult> {
  const pkce = createPkcePair()
  const browser = options.browser ?? new Browser()
  const url = authorizeUrl(provider, { scope: options.scope ?? 'view-user detail-user' }, pkce.codeChallenge)
  const consent = await signIn(provider, browser, url, options.username)
  const redirect = await decide(provider, browser, consent, 'approve')
  const code = new URL(redirect.headers.get('location') ?? '').searchParams.get('code')
  if (code === null) throw new Error(`approval answered ${redirect.status} without a code`)
  return { code, codeVerifier: pkce.codeVerifier, browser }
}

/** Posts a form to the token endpoint. `basic` sends the client credentials by HTTP Basic. */
export async function postToken (provider: DevProvider, fields: Record<string, string>, basic?: { id: string, secret: string }): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json'
  }
  if (basic !== undefined) {
    const credentials = `${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`
  }
  return fetch(`${provider.baseUrl}/oauth/token`, { method: 'POST', headers, body: new URLSearchParams(fields).toString() })
}

export function codeGrantFields (authorization: AuthorizationResult): Record<string, string> {
  return {
    grant_type: 'authorization_code',
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uri: REDIRECT_URI,
    code: authorization.code,
    code_verifier: authorization.codeVerifier
  }
}

export function refreshFields (refreshToken: string, extra: Record<string, string> = {}): Record<string, string> {
  return { grant_type: 'refresh_token', client_id: CLIENT_ID, client_secret: CLIENT_SECRET, refresh_token: refreshToken, ...extra }
}

export interface TokenBody {
  readonly token_type: string
  readonly expires_in: number
  readonly access_token: string
  readonly refresh_token: string
  readonly scope: string
}

/** Runs the whole code flow and returns the token response body. */
export async function obtainTokens (provider: DevProvider, options: { scope?: string, username?: string } = {}): Promise<TokenBody> {
  const authorization = await authorize(provider, options)
  const response = await postToken(provider, codeGrantFields(authorization))
  if (response.status !== 200) throw new Error(`code exchange answered ${response.status}`)
  return await response.json() as TokenBody
}

/** Calls a bearer-protected API path with `Accept: application/json`. */
export async function callApi (provider: DevProvider, path: string, accessToken: string): Promise<Response> {
  return fetch(`${provider.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    redirect: 'manual'
  })
}
