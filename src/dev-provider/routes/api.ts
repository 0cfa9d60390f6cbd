import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { userById, type ProviderContext } from '../context.js'
import { createFaultGate } from '../fault-gate.js'
import type { DevProviderEndpoint } from '../faults.js'
import type { DevProviderUser } from '../options.js'
import { LOGIN_PATH } from '../pages.js'
import type { AccessTokenRecord } from '../token-ledger.js'

/** An authenticated API request: the user and the bearer token that stands for them. */
interface BearerIdentity {
  readonly user: Readonly<DevProviderUser>
  readonly accessToken: AccessTokenRecord
}

/** Registers the resource endpoints: `/api/user`, `/api/user/details` and `/api/logout-sso`. */
export async function apiRoutes (app: FastifyInstance, context: ProviderContext): Promise<void> {
  app.get('/api/user', { preHandler: createFaultGate(context, 'user') }, async (request, reply) => {
    const identity = authenticate(context, request, reply, 'view-user')
    if (identity === undefined) return reply

    const { user } = identity
    return reply.send({
      id: userIdFor(context, 'user', user),
      name: user.name,
      email: user.email,
      username: user.username,
      profile_picture: resolveProfilePicture(context, user.profile_picture),
      gender: user.gender
    })
  })

  app.get('/api/user/details', { preHandler: createFaultGate(context, 'details') }, async (request, reply) => {
    const identity = authenticate(context, request, reply, 'detail-user')
    if (identity === undefined) return reply

    const client = context.options.clients.get(identity.accessToken.clientId)
    if (client?.detailsApproved !== true) {
      return reply.code(403).send({
        error: 'unapproved_scope',
        message: 'The detail-user scope has not been approved for this application.'
      })
    }
    const { user } = identity
    return reply.send({ id: userIdFor(context, 'details', user), name: user.name, ...user.details })
  })

  app.get('/api/logout-sso', { preHandler: createFaultGate(context, 'logout') }, async (request, reply) => {
    const identity = authenticate(context, request, reply, undefined)
    if (identity === undefined) return reply

    // Single sign-out: this token and its refresh token, and every browser session of the user.
    context.ledger.revokeAccessToken(identity.accessToken)
    context.sessions.deleteForUser(identity.user.id)
    return reply.send({ message: 'Logged out' })
  })
}

/**
 * Resolves the bearer token of an API request, as Passport's `auth:api` guard and scope middleware
 * do. On failure it sends the response itself and returns undefined: 401 JSON or a redirect to
 * the login page when the token is missing or dead, 403 when it lacks `requiredScope`.
 */
function authenticate (
  context: ProviderContext,
  request: FastifyRequest,
  reply: FastifyReply,
  requiredScope: string | undefined
): BearerIdentity | undefined {
  const token = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
  const accessToken = token === undefined ? undefined : context.ledger.findAccessToken(token)
  const active = accessToken !== undefined && context.ledger.isAccessTokenActive(accessToken.token)

  // client_credentials tokens have no user, so the user guard rejects them like a dead token.
  if (!active || accessToken.userId === null) {
    sendUnauthenticated(context, request, reply)
    return undefined
  }
  if (requiredScope !== undefined && !accessToken.scopes.includes(requiredScope)) {
    reply.code(403).send({ error: 'insufficient_scope', message: 'Invalid scope(s) provided.' })
    return undefined
  }
  return { user: userById(context, accessToken.userId), accessToken }
}

/**
 * Sends Laravel's response to an unauthenticated request: JSON when the client accepts JSON,
 * else a redirect to the HTML login page.
 */
function sendUnauthenticated (context: ProviderContext, request: FastifyRequest, reply: FastifyReply): void {
  const acceptsJson = (request.headers.accept ?? '').toLowerCase().includes('application/json')
  if (acceptsJson) {
    reply.code(401).send({ message: 'Unauthenticated.' })
    return
  }
  reply.redirect(`${context.baseUrl}${LOGIN_PATH}`, 302)
}

function userIdFor (context: ProviderContext, endpoint: DevProviderEndpoint, user: Readonly<DevProviderUser>): number | string {
  const [stringId] = context.faults.take(endpoint, undefined, ['string-id'])
  return stringId === undefined ? user.id : String(user.id)
}

function resolveProfilePicture (context: ProviderContext, profilePicture: string | null): string | null {
  if (profilePicture === null || !profilePicture.startsWith('/')) return profilePicture
  return `${context.baseUrl}${profilePicture}`
}
