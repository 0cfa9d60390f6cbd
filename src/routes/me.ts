import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Guards } from '../guard.js'
import type { MubarokahRequestContext } from '../types.js'
import { DetailsResponseSchema, errorResponses, MeResponseSchema } from './schemas.js'

/**
 * `GET me`: the logged-in user from the grant (no provider call).
 * `GET me/details`: `/api/user/details` merged over the user; needs the `detail-user` scope.
 */
export const meRoutes: FastifyPluginAsyncTypebox<{ guards: Guards }> = async (instance, { guards }) => {
  instance.get('/me', {
    preHandler: guards.requireUser,
    schema: { response: { 200: MeResponseSchema, ...errorResponses(401, 403, 503) } }
  }, async (request) => {
    const login = request.mubarokah as MubarokahRequestContext
    return { user: login.user, scopes: [...login.scopes], expiresAt: login.expiresAt }
  })

  instance.get('/me/details', {
    preHandler: guards.requireUser,
    schema: { response: { 200: DetailsResponseSchema, ...errorResponses(401, 403, 502, 503) } }
  }, async (request) => {
    const login = request.mubarokah as MubarokahRequestContext
    return { user: await login.details() }
  })
}
