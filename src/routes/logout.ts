import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { MethodNotAllowedError, OriginRejectedError } from '../errors.js'
import { endSession, sessionLinkOf } from '../guard.js'
import { providerDetails } from '../oauth/http.js'
import { sendError, wantsHtml } from '../http/respond.js'
import { markLoggedOut } from '../http/login-cookie.js'
import { safeReturnTo } from '../http/return-to.js'
import type { Runtime } from '../runtime.js'
import type { LogoutOptions } from '../types.js'
import { errorResponses, isFlagSet, LogoutBodySchema, LogoutResponseSchema } from './schemas.js'

/**
 * `POST logout`: ends the grant and the server-side session and clears the cookie. A replayed
 * old session cookie then finds nothing. Logging out without a login succeeds too.
 */
export const logoutRoute: FastifyPluginAsyncTypebox<{ runtime: Runtime }> = async (instance, { runtime }) => {
  instance.post('/logout', {
    schema: {
      body: LogoutBodySchema,
      response: { 200: LogoutResponseSchema, 303: { type: 'null' }, ...errorResponses(400, 403, 413, 415, 503) }
    }
  }, async (request, reply) => {
    assertSameOrigin(runtime, request)
    const body = request.body ?? {}
    const sso = isFlagSet(body.sso)
    if (sso && !runtime.options.allowSsoLogout) request.log.warn({ event: 'sso_logout_not_allowed' }, 'logout asked for SSO logout but allowSsoLogout is off; logged out locally only')
    const endedGrants = await logout(runtime, request, reply, {
      everywhere: isFlagSet(body.everywhere),
      sso: sso && runtime.options.allowSsoLogout
    })
    if (wantsHtml(request)) return await reply.redirect(safeReturnTo(body.returnTo, runtime.options.defaultReturnTo), 303)
    return { loggedOut: true as const, endedGrants }
  })

  // A link or an image cannot log anyone out: logout changes state, so only POST is accepted.
  instance.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH'],
    url: '/logout',
    handler: async (request, reply) => {
      reply.header('allow', 'POST')
      return await sendError(request, reply, new MethodNotAllowedError(), runtime.errorSettings)
    }
  })
}

/**
 * Rejects cross-site logout: an `Origin` other than this app's (or a trusted one), or, when a
 * browser sends no Origin, `Sec-Fetch-Site: cross-site`. Clients that send neither are not browsers.
 */
function assertSameOrigin (runtime: Runtime, request: FastifyRequest): void {
  const origin = request.headers.origin
  if (origin !== undefined) {
    const own = `${request.protocol}://${request.host}`
    if (origin === own || runtime.options.trustedOrigins.includes(origin)) return
    request.log.warn({ event: 'logout_origin_rejected' }, 'cross-site logout rejected')
    throw new OriginRejectedError()
  }
  if (request.headers['sec-fetch-site'] === 'cross-site') {
    request.log.warn({ event: 'logout_origin_rejected' }, 'cross-site logout rejected')
    throw new OriginRejectedError()
  }
}

/** Ends the current login (or every login of the user) and the session. Returns the number of grants ended. */
export async function logout (runtime: Runtime, request: FastifyRequest, reply: FastifyReply, options: LogoutOptions = {}): Promise<number> {
  const link = sessionLinkOf(request)
  let endedGrants = 0
  if (link !== null) {
    if (options.sso === true) await logoutAtProvider(runtime, request, link.grantId)
    endedGrants = options.everywhere === true
      ? await runtime.grants.endUser(link.userId)
      : Number(await runtime.grants.end(link.grantId))
  }
  await endSession(runtime, request, reply)
  if (link !== null) markLoggedOut(runtime, request, reply)
  request.log.info({
    event: 'logout',
    userId: link?.userId,
    grantId: link?.grantId,
    everywhere: options.everywhere === true,
    sso: options.sso === true,
    endedGrants
  }, 'logged out')
  return endedGrants
}

/** Calls `/api/logout-sso`. A failure there is logged and the local logout goes on. */
async function logoutAtProvider (runtime: Runtime, request: FastifyRequest, grantId: string): Promise<void> {
  const grant = await runtime.grants.load(grantId)
  if (grant === null) return
  try {
    await runtime.client.logoutSso(grant.accessToken())
  } catch (error) {
    request.log.warn({
      event: 'sso_logout_failed',
      grantId,
      code: (error as { code?: string }).code,
      status: providerDetails(error)?.status
    }, 'SSO logout at the provider failed; logged out locally')
  }
}
