import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import {
  GrantEndedError,
  ProviderRejectedError,
  RefreshUnavailableError,
  ScopeRequiredError,
  UnauthenticatedError,
  withRetryAfter
} from './errors.js'
import { sendError, wantsHtml } from './http/respond.js'
import type { Runtime } from './runtime.js'
import { RecordUnreadableError, type Grant } from './tokens/records.js'
import type { MubarokahDetails, MubarokahRequestContext, MubarokahUser, SessionLink } from './types.js'

/*
 * The guard: session -> grant -> refresh if inside the window -> `request.mubarokah`.
 * In steady state it reads the session and the grant (two store reads), writes nothing and
 * decrypts nothing. Tokens are decrypted only when a handler calls `accessToken()`.
 */

/** The login, as the guard found it. */
class RequestContext implements MubarokahRequestContext {
  readonly #runtime: Runtime
  readonly #request: FastifyRequest
  readonly #reply: FastifyReply
  #grant: Grant
  /** Whether this request already tried a window refresh; a deferred one is not retried in the same request. */
  #refreshTried: boolean

  constructor (runtime: Runtime, request: FastifyRequest, reply: FastifyReply, grant: Grant, refreshTried: boolean) {
    this.#runtime = runtime
    this.#request = request
    this.#reply = reply
    this.#grant = grant
    this.#refreshTried = refreshTried
  }

  get user (): MubarokahUser { return this.#grant.user }
  get userId (): string { return this.#grant.userId }
  get grantId (): string { return this.#grant.grantId }
  get scopes (): readonly string[] { return this.#grant.scopes }
  get expiresAt (): number { return this.#grant.expiresAt }
  /** Scopes the login asked for (internal: the guard uses it to avoid asking again in a loop). */
  get requestedScopes (): readonly string[] { return this.#grant.requestedScopes }

  hasScopes (...scopes: string[]): boolean {
    return scopes.every((scope) => this.#grant.scopes.includes(scope))
  }

  async accessToken (): Promise<string> {
    const mustRefresh = !this.#runtime.grants.isUsable(this.#grant)
    if (mustRefresh || (!this.#refreshTried && this.#runtime.grants.needsRefresh(this.#grant))) {
      this.#refreshTried = true
      this.#grant = await refreshOrThrow(this.#runtime, this.#request, this.#reply, this.#grant, 'window')
    }
    return await readAccessToken(this.#runtime, this.#request, this.#reply, this.#grant)
  }

  async details (): Promise<MubarokahDetails> {
    const details = await this.#withAccessToken((token) => this.#runtime.client.fetchDetails(token))
    // Details win, except that a null phone number does not hide one `/api/user` sent.
    return { ...this.#grant.user, ...details, phone_number: details.phone_number ?? this.#grant.user.phone_number ?? null }
  }

  /**
   * Runs a provider call with the access token. A 401 for a token we believed valid triggers
   * one refresh and one retry; a second 401 ends the grant instead of looping.
   */
  async #withAccessToken<T> (call: (accessToken: string) => Promise<T>): Promise<T> {
    const token = await this.accessToken()
    try {
      return await call(token)
    } catch (error) {
      if (!isTokenRejected(error)) throw error
    }

    this.#grant = await refreshOrThrow(this.#runtime, this.#request, this.#reply, this.#grant, 'rejected')
    try {
      return await call(await readAccessToken(this.#runtime, this.#request, this.#reply, this.#grant))
    } catch (error) {
      if (!isTokenRejected(error)) throw error
      this.#request.log.info({ event: 'token_rejected_after_refresh', grantId: this.#grant.grantId, userId: this.#grant.userId }, 'provider rejected a freshly refreshed token; grant ended')
      await this.#runtime.grants.end(this.#grant.grantId)
      await endSession(this.#runtime, this.#request, this.#reply)
      throw new GrantEndedError()
    }
  }
}

function isTokenRejected (error: unknown): boolean {
  return error instanceof ProviderRejectedError && error.statusCode === 401
}

async function readAccessToken (runtime: Runtime, request: FastifyRequest, reply: FastifyReply, grant: Grant): Promise<string> {
  try {
    return grant.accessToken()
  } catch (error) {
    if (!(error instanceof RecordUnreadableError)) throw error
    request.log.warn({ event: 'grant_unreadable', grantId: grant.grantId, reason: error.message }, 'access token could not be decrypted; treated as logged out')
    await endSession(runtime, request, reply)
    throw new GrantEndedError()
  }
}

async function refreshOrThrow (runtime: Runtime, request: FastifyRequest, reply: FastifyReply, grant: Grant, reason: 'window' | 'rejected'): Promise<Grant> {
  const outcome = await runtime.grants.refresh(grant, reason)
  if (outcome.kind === 'fresh') return outcome.grant
  if (outcome.kind === 'ended') {
    await endSession(runtime, request, reply)
    throw new GrantEndedError()
  }
  // A transient failure never logs the user out: serve with the current token while it lasts.
  if (reason === 'window' && runtime.grants.isUsable(outcome.grant)) return outcome.grant
  throw withRetryAfter(new RefreshUnavailableError(), outcome.retryAfterSeconds)
}

/** Destroys the session in its store and clears its cookie; @fastify/session sends no cookie for a destroyed session. */
export async function endSession (runtime: Runtime, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const session = request.session as FastifyRequest['session'] | null | undefined
  if (session === null || session === undefined || typeof session.destroy !== 'function') return
  const { path, domain } = session.cookie ?? {}
  await session.destroy()
  reply.clearCookie(runtime.options.sessionCookieName, { path: path ?? '/', ...(domain ? { domain } : {}) })
}

/** Reads the session's link to a grant, or null for an anonymous session. */
export function sessionLinkOf (request: FastifyRequest): SessionLink | null {
  const session = request.session as FastifyRequest['session'] | null | undefined
  if (session === null || session === undefined || typeof session.get !== 'function') return null
  const link = session.get('mubarokah')
  if (typeof link !== 'object' || link === null || typeof link.grantId !== 'string' || typeof link.userId !== 'string') return null
  return link
}

/**
 * Resolves the current login, or returns null when there is none. Throws GrantEndedError when
 * the provider ended the grant, RefreshUnavailableError when it is expired and cannot be refreshed now,
 * and StoreUnavailableError when the store cannot be reached.
 */
export async function resolveLogin (runtime: Runtime, request: FastifyRequest, reply: FastifyReply): Promise<RequestContext | null> {
  const link = sessionLinkOf(request)
  if (link === null) {
    noteUnmatchedSessionCookie(runtime, request)
    return null
  }

  let grant = await runtime.grants.load(link.grantId)
  if (grant === null || grant.userId !== link.userId) {
    await endSession(runtime, request, reply)
    return null
  }
  const refreshTried = runtime.grants.needsRefresh(grant)
  if (refreshTried) grant = await refreshOrThrow(runtime, request, reply, grant, 'window')
  if (grant.needsReencryption) grant = await runtime.grants.reencrypt(grant)

  renewSessionIfDue(runtime, request, link)
  return new RequestContext(runtime, request, reply, grant, refreshTried)
}

/**
 * Warns once per plugin instance when a session cookie matched no stored session: it expired, was logged
 * out, or was signed with a secret that is no longer configured (after a key rotation).
 */
function noteUnmatchedSessionCookie (runtime: Runtime, request: FastifyRequest): void {
  if (runtime.warned.has('session_cookie_unmatched')) return
  const cookie = request.cookies?.[runtime.options.sessionCookieName]
  const sessionId = (request.session as { sessionId?: string } | null | undefined)?.sessionId
  if (cookie === undefined || sessionId === undefined || cookie.slice(0, cookie.lastIndexOf('.')).endsWith(sessionId)) return
  runtime.warned.add('session_cookie_unmatched')
  request.log.warn({ event: 'session_cookie_unmatched' }, 'a session cookie matched no session (expired, logged out, or signed with a removed APP_SECRET_KEY); treated as logged out; further cases are not logged')
}

/**
 * Saves the session again once a quarter of its lifetime has passed, or when its cookie was
 * signed with an older secret. Between renewals a request writes nothing (`rolling: false`).
 */
function renewSessionIfDue (runtime: Runtime, request: FastifyRequest, link: SessionLink): void {
  const now = Date.now()
  const due = now - link.renewedAt > (runtime.options.sessionTtlSeconds * 1000) / 4
  const cookie = request.cookies?.[runtime.options.sessionCookieName]
  const signedWithOldSecret = cookie !== undefined && !cookie.endsWith(request.session.encryptedSessionId)
  if (due || signedWithOldSecret) request.session.set('mubarokah', { ...link, renewedAt: now })
}

type Mode = { readonly required: false } | { readonly required: true, readonly scopes: readonly string[] }

function createPreHandler (runtime: Runtime, mode: Mode): preHandlerAsyncHookHandler {
  return async function mubarokahGuard (request, reply) {
    let context: RequestContext | null
    try {
      context = await resolveLogin(runtime, request, reply)
    } catch (error) {
      if (error instanceof GrantEndedError && !mode.required) return
      if (error instanceof GrantEndedError) return await denyAnonymous(runtime, request, reply, error)
      return await sendError(request, reply, error, runtime.errorSettings)
    }
    request.mubarokah = context
    // A page built from a login is private: no shared cache, and Back after logout cannot reuse it.
    if (context !== null) reply.header('cache-control', 'private, no-store')
    if (!mode.required) return
    if (context === null) return await denyAnonymous(runtime, request, reply, new UnauthenticatedError(), mode.scopes)

    const missing = mode.scopes.filter((scope) => !context.scopes.includes(scope))
    if (missing.length === 0) return
    // Ask for the scopes at a new login, unless the last login asked and they were not granted.
    const requestedBefore = missing.every((scope) => context.requestedScopes.includes(scope))
    if (!requestedBefore && isNavigation(request)) return await redirectToLogin(runtime, request, reply, missing)
    return await sendError(request, reply, new ScopeRequiredError(missing.join(' ')), runtime.errorSettings)
  }
}

function isNavigation (request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && wantsHtml(request)
}

/** Browsers navigating are sent to login and come back here; API clients get 401 JSON. */
async function denyAnonymous (runtime: Runtime, request: FastifyRequest, reply: FastifyReply, error: Error, scopes: readonly string[] = []): Promise<FastifyReply> {
  if (!isNavigation(request)) return await sendError(request, reply, error, runtime.errorSettings)
  return await redirectToLogin(runtime, request, reply, scopes)
}

async function redirectToLogin (runtime: Runtime, request: FastifyRequest, reply: FastifyReply, scopes: readonly string[]): Promise<FastifyReply> {
  const query = new URLSearchParams({ returnTo: request.url })
  if (scopes.length > 0) query.set('scope', scopes.join(' '))
  reply.header('cache-control', 'no-store')
  return await reply.redirect(`${runtime.errorSettings.loginPath}?${query.toString()}`, 302)
}

export interface Guards {
  readonly requireUser: preHandlerAsyncHookHandler
  readonly optionalUser: preHandlerAsyncHookHandler
  requireScopes(...scopes: string[]): preHandlerAsyncHookHandler
}

export function createGuards (runtime: Runtime): Guards {
  return {
    requireUser: createPreHandler(runtime, { required: true, scopes: [] }),
    optionalUser: createPreHandler(runtime, { required: false }),
    requireScopes: (...scopes: string[]) => createPreHandler(runtime, { required: true, scopes })
  }
}
