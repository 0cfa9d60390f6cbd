import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { RequestInvalidError } from '../errors.js'
import type { Guards } from '../guard.js'
import { sendError, setNoStore } from '../http/respond.js'
import type { Runtime } from '../runtime.js'
import { callbackRoute } from './callback.js'
import { loginRoute } from './login.js'
import { logoutRoute } from './logout.js'
import { meRoutes } from './me.js'

const FORM_BODY_LIMIT = 4096

/**
 * Request log serializer for the auth routes: the path without its query string, because the
 * callback's query carries `code` and `state`.
 */
export function serializeAuthRequest (request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: request.url.split('?', 1)[0],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

/** Settings shared by every auth route: no caching, coded errors, a bounded form parser. */
function configureAuthScope (instance: FastifyInstance, runtime: Runtime): void {
  instance.addHook('onRequest', async (_request, reply) => {
    setNoStore(reply)
  })

  instance.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error.validation !== undefined || isClientFrameworkError(error)) {
      const invalid = new RequestInvalidError(error.validation === undefined ? error.code : `${error.validationContext ?? 'input'} failed validation`)
      if (isClientFrameworkError(error)) invalid.statusCode = error.statusCode as number
      return await sendError(request, reply, invalid, runtime.errorSettings)
    }
    return await sendError(request, reply, error, runtime.errorSettings)
  })

  if (!instance.hasContentTypeParser('application/x-www-form-urlencoded')) {
    instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)))
    })
  }
}

/** Fastify's own 4xx errors (body too large, unsupported media type, bad JSON): the client's fault, kept as such. */
function isClientFrameworkError (error: FastifyError): boolean {
  return typeof error.code === 'string' && error.code.startsWith('FST_ERR_') &&
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500
}

/** Registers the auth routes: login, logout and me under the prefix, the callback at the redirect URI's path. */
export async function registerRoutes (fastify: FastifyInstance, runtime: Runtime, guards: Guards): Promise<void> {
  // Fastify types serializers as returning strings; pino accepts objects, as Fastify's own `req` serializer returns.
  const logSerializers = { req: serializeAuthRequest as unknown as (value: unknown) => string }

  await fastify.register(async (scope) => {
    configureAuthScope(scope, runtime)
    const typed = scope.withTypeProvider<TypeBoxTypeProvider>()
    await typed.register(loginRoute, { runtime })
    await typed.register(logoutRoute, { runtime })
    await typed.register(meRoutes, { guards })
  }, { prefix: runtime.options.prefix, logSerializers })

  await fastify.register(async (scope) => {
    configureAuthScope(scope, runtime)
    await scope.withTypeProvider<TypeBoxTypeProvider>().register(callbackRoute, { runtime, path: runtime.options.callbackPath })
  }, { logSerializers })
}
