import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  approveAuthorization,
  continueAuthorization,
  findBrowserSession,
  redirectWithError,
  sendPendingExpired
} from '../authorization-flow.js'
import type { PendingAuthorization } from '../authorization-requests.js'
import type { ProviderContext } from '../context.js'
import { createFaultGate } from '../fault-gate.js'
import { sendHtml } from '../html.js'
import { errorPage, loginPage } from '../pages.js'
import { RequestParameters } from '../parameters.js'
import { safeEqual } from '../random.js'
import { validateAuthorizationRequest } from '../validate-authorization.js'

/**
 * Registers the authorization endpoint (`GET /oauth/authorize`), the consent page shown after
 * login (`GET /oauth/authorize/consent`) and the consent decision (`POST /oauth/authorize`).
 */
export async function authorizeRoutes (app: FastifyInstance, context: ProviderContext): Promise<void> {
  app.get('/oauth/authorize', { preHandler: createFaultGate(context, 'authorize') }, async (request, reply) => {
    context.ledger.deleteExpired()
    return handleAuthorize(context, request, reply)
  })

  app.get('/oauth/authorize/consent', async (request, reply) => {
    const pending = context.pendingAuthorizations.find(RequestParameters.fromUrl(request.url).get('auth_token'))
    if (pending === undefined) return sendPendingExpired(reply)
    if (!isSignedInFor(context, request, pending)) return sendWrongSession(reply)
    return continueAuthorization(context, reply, pending)
  })

  app.post('/oauth/authorize', async (request, reply) => handleDecision(context, request, reply))
}

function handleAuthorize (context: ProviderContext, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const validation = validateAuthorizationRequest(RequestParameters.fromUrl(request.url), context.options.clients)
  if (validation.kind === 'error-page') return sendHtml(reply, validation.status, errorPage(validation.title, validation.message))
  if (validation.kind === 'error-redirect') {
    return redirectWithError(reply, validation.redirectUri, validation.error, validation.hint, validation.state)
  }

  const authorization = validation.request
  const session = findBrowserSession(context, request)
  const mustSignIn = session === undefined || authorization.prompt.has('login')
  if (mustSignIn && authorization.prompt.has('none')) {
    return redirectWithError(reply, authorization.redirectUri, 'login_required', undefined, authorization.state)
  }
  if (mustSignIn) {
    const pending = context.pendingAuthorizations.create(authorization, null)
    return sendHtml(reply, 200, loginPage({
      authToken: pending.authToken,
      clientId: pending.clientId,
      showDemoAccounts: context.options.demoUsers
    }))
  }

  return continueAuthorization(context, reply, context.pendingAuthorizations.create(authorization, session.userId))
}

/**
 * Handles the consent form. The decision counts only from the browser session that signed in for
 * this request and with the request's CSRF value. Laravel responds to a CSRF mismatch with 419.
 */
function handleDecision (context: ProviderContext, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const form = request.body
  if (!(form instanceof RequestParameters) || form.firstRepeated !== undefined) {
    return sendHtml(reply, 400, errorPage('Invalid request', 'The consent form was not submitted as expected.'))
  }

  const pending = context.pendingAuthorizations.find(form.get('auth_token'))
  if (pending === undefined) return sendPendingExpired(reply)
  if (!isSignedInFor(context, request, pending)) return sendWrongSession(reply)
  if (!safeEqual(form.get('_token') ?? '', pending.csrfToken)) {
    return sendHtml(reply, 419, errorPage('Page expired', 'The consent form is out of date. Go back to the application and sign in again.'))
  }

  const decision = form.get('decision')
  if (decision === 'approve' && pending.userId !== null) return approveAuthorization(context, reply, pending, pending.userId)
  if (decision === 'deny') {
    context.pendingAuthorizations.delete(pending.authToken)
    return redirectWithError(reply, pending.redirectUri, 'access_denied', undefined, pending.state)
  }
  return sendHtml(reply, 400, errorPage('Invalid request', 'Choose Authorize or Cancel.'))
}

function isSignedInFor (context: ProviderContext, request: FastifyRequest, pending: PendingAuthorization): boolean {
  const session = findBrowserSession(context, request)
  return session !== undefined && pending.userId !== null && session.userId === pending.userId
}

function sendWrongSession (reply: FastifyReply): FastifyReply {
  return sendHtml(reply, 403, errorPage(
    'Signed in as someone else',
    'This authorization request belongs to another sign-in. Go back to the application and sign in again.'
  ))
}
