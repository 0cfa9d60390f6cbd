import type { FastifyReply, FastifyRequest } from 'fastify'
import type { PendingAuthorization } from './authorization-requests.js'
import { userById, type ProviderContext } from './context.js'
import { sendHtml } from './html.js'
import { describeError, type OAuthErrorCode } from './oauth-errors.js'
import { consentPage, errorPage } from './pages.js'
import { SESSION_COOKIE_NAME, type BrowserSession } from './sessions.js'

/**
 * Moves a signed-in user's authorization request on: straight back to the client with a code when
 * the user already approved this client and scope set, else to the consent page. `prompt=consent`
 * always shows the consent page, and `prompt=none` returns `consent_required` instead.
 */
export function continueAuthorization (context: ProviderContext, reply: FastifyReply, pending: PendingAuthorization): FastifyReply {
  const userId = pending.userId
  if (userId === null) throw new Error('continueAuthorization needs a pending authorization with a signed-in user')
  const consented = context.consents.has(userId, pending.clientId, pending.scopes)

  if (consented && !pending.prompt.has('consent')) return approveAuthorization(context, reply, pending, userId)
  if (pending.prompt.has('none')) {
    context.pendingAuthorizations.delete(pending.authToken)
    return redirectWithError(reply, pending.redirectUri, 'consent_required', undefined, pending.state)
  }

  return sendHtml(reply, 200, consentPage({
    clientId: pending.clientId,
    user: userById(context, userId),
    scopes: pending.scopes,
    authToken: pending.authToken,
    csrfToken: pending.csrfToken
  }))
}

/** Issues an authorization code and redirects to the client with `code` and `state` (RFC 6749 §4.1.2). */
export function approveAuthorization (
  context: ProviderContext,
  reply: FastifyReply,
  pending: PendingAuthorization,
  userId: number
): FastifyReply {
  context.pendingAuthorizations.delete(pending.authToken)
  context.consents.remember(userId, pending.clientId, pending.scopes)
  const { code } = context.ledger.issueCode({
    clientId: pending.clientId,
    userId,
    scopes: pending.scopes,
    redirectUri: pending.redirectUri,
    codeChallenge: pending.codeChallenge
  })
  return redirectToClient(reply, pending.redirectUri, [['code', code], ['state', pending.state]])
}

/** Redirects to the client with an OAuth error (RFC 6749 §4.1.2.1). Passport sends no hint for `access_denied`. */
export function redirectWithError (
  reply: FastifyReply,
  redirectUri: string,
  error: OAuthErrorCode,
  hint: string | undefined,
  state: string | undefined
): FastifyReply {
  const parameters: Array<[string, string]> = [['error', error], ['error_description', describeError(error)]]
  if (hint !== undefined) parameters.push(['hint', hint])
  if (state !== undefined) parameters.push(['state', state])
  return redirectToClient(reply, redirectUri, parameters)
}

function redirectToClient (reply: FastifyReply, redirectUri: string, parameters: ReadonlyArray<[string, string]>): FastifyReply {
  const location = new URL(redirectUri)
  for (const [name, value] of parameters) {
    location.searchParams.append(name, value)
  }
  return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(location.href, 302)
}

/** Returns the live provider session of the browser, if its session cookie names one. */
export function findBrowserSession (context: ProviderContext, request: FastifyRequest): BrowserSession | undefined {
  return context.sessions.find(request.cookies[SESSION_COOKIE_NAME])
}

/** Starts a new provider session for the browser, ending the one its cookie named (no session fixation). */
export function startBrowserSession (context: ProviderContext, request: FastifyRequest, reply: FastifyReply, userId: number): BrowserSession {
  const previousId = request.cookies[SESSION_COOKIE_NAME]
  if (previousId !== undefined) context.sessions.delete(previousId)

  const session = context.sessions.create(userId)
  reply.setCookie(SESSION_COOKIE_NAME, session.id, { path: '/', httpOnly: true, sameSite: 'lax' })
  return session
}

export function sendPendingExpired (reply: FastifyReply): FastifyReply {
  return sendHtml(reply, 400, errorPage(
    'Authorization request expired',
    'This authorization request is unknown or has expired. Go back to the application and sign in again.'
  ))
}
