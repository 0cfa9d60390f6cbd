import type { FastifyInstance, FastifyReply } from 'fastify'
import { authenticateClient } from '../client-auth.js'
import type { ProviderContext } from '../context.js'
import { createFaultGate, grantTypeOf } from '../fault-gate.js'
import { exchangeAuthorizationCode, exchangeRefreshToken, issueClientCredentialsToken, SUPPORTED_GRANT_TYPES } from '../grants.js'
import { passportErrorBody, tokenError, type TokenEndpointResponse } from '../oauth-errors.js'
import { RequestParameters } from '../parameters.js'

const TOKEN_PATH = '/oauth/token'
const MAX_BODY_BYTES = 16 * 1024

/**
 * Registers `POST /oauth/token`. It accepts `application/x-www-form-urlencoded` bodies only
 * (RFC 6749 §4.1.3), so this scope replaces Fastify's parsers and responds to every other body
 * with 400 `invalid_request`.
 */
export async function tokenRoutes (app: FastifyInstance, context: ProviderContext): Promise<void> {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_request, body, done) => {
    done(null, new RequestParameters(String(body)))
  })
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_BODY_BYTES }, (_request, _body, done) => {
    done(null, null)
  })

  app.setErrorHandler((error: { statusCode?: number }, _request, reply) => {
    // Body parser errors (too large, bad length) are client errors, so they keep Passport's shape.
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return sendTokenResponse(reply, { status: 400, body: passportErrorBody('invalid_request', 'The request body could not be read') })
    }
    return reply.code(500).header('cache-control', 'no-store').send({ message: 'Server Error' })
  })

  app.post(TOKEN_PATH, { preHandler: createFaultGate(context, 'token') }, async (request, reply) => {
    context.ledger.deleteExpired()
    const response = handleTokenRequest(context, request.body, request.headers.authorization)

    if (grantTypeOf(request.body) === 'refresh_token') {
      if (response.status === 200) {
        context.stats.refreshSuccesses += 1
      } else {
        context.stats.refreshRejections += 1
      }
    }
    return sendTokenResponse(reply, response)
  })
}

function handleTokenRequest (context: ProviderContext, body: unknown, authorization: string | undefined): TokenEndpointResponse {
  if (!(body instanceof RequestParameters)) {
    return tokenError(400, 'invalid_request', 'Send the parameters as application/x-www-form-urlencoded')
  }
  const repeated = body.firstRepeated
  if (repeated !== undefined) return tokenError(400, 'invalid_request', `\`${repeated}\` is repeated`)

  const grantType = body.get('grant_type')
  if (grantType === undefined || !SUPPORTED_GRANT_TYPES.includes(grantType)) {
    return tokenError(400, 'unsupported_grant_type', 'Set `grant_type` to authorization_code, refresh_token or client_credentials')
  }

  const authentication = authenticateClient(context, body, authorization)
  if ('rejection' in authentication) return authentication.rejection

  switch (grantType) {
    case 'authorization_code':
      return exchangeAuthorizationCode(context, authentication.client, body)
    case 'refresh_token':
      return exchangeRefreshToken(context, authentication.client, body)
    default:
      return issueClientCredentialsToken(context, authentication.client, body)
  }
}

function sendTokenResponse (reply: FastifyReply, response: TokenEndpointResponse): FastifyReply {
  // RFC 6749 §5.1: token responses must not be cached.
  reply.code(response.status).header('cache-control', 'no-store').header('pragma', 'no-cache')
  for (const [name, value] of Object.entries(response.headers ?? {})) {
    reply.header(name, value)
  }
  return reply.send(response.body)
}
