import fastifyCookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { ProviderContext } from './context.js'
import { RequestParameters } from './parameters.js'
import { apiRoutes } from './routes/api.js'
import { authorizeRoutes } from './routes/authorize.js'
import { avatarRoutes } from './routes/avatars.js'
import { devRoutes } from './routes/dev.js'
import { loginRoutes } from './routes/login.js'
import { tokenRoutes } from './routes/token.js'

const MAX_BODY_BYTES = 64 * 1024

/** Builds the provider's Fastify app without listening, so tests can also `inject` requests. */
export async function buildProviderApp (context: ProviderContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: withPathOnlyRequestLogs(context.options.logger),
    bodyLimit: MAX_BODY_BYTES,
    // Closing the provider must end hanging requests (the `hang` fault) instead of waiting for them.
    forceCloseConnections: true,
    // HEAD requests would otherwise create authorization requests and count in the stats.
    exposeHeadRoutes: false
  })

  await app.register(fastifyCookie)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, new RequestParameters(String(body)))
  })

  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ message: 'Not Found' }))
  app.setErrorHandler(async (error: { statusCode?: number, message?: string }, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    return reply.code(status).send({ message: status === 500 ? 'Server Error' : error.message })
  })

  for (const registerRoutes of [authorizeRoutes, loginRoutes, tokenRoutes, apiRoutes, avatarRoutes, devRoutes]) {
    // One encapsulated scope per module, so that the token endpoint's body parsers stay its own.
    await app.register(async (scope) => {
      await registerRoutes(scope, context)
    })
  }
  return app
}

/**
 * Adds a request serializer that logs the path without the query string, because authorization
 * requests and the consent page carry `state`, `code_challenge` and `auth_token` there.
 */
function withPathOnlyRequestLogs (logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false
  const options = logger === true ? {} : logger
  return {
    ...options,
    serializers: {
      ...options.serializers,
      req: (request: { method?: string, url?: string }) => ({
        method: request.method,
        path: request.url?.split('?')[0]
      })
    }
  }
}
