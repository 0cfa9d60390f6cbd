import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { assertCookiesCanBeSet, bindingForLogin, enforceRateLimit, setLoginCookie } from '../http/login-cookie.js'
import { safeReturnTo } from '../http/return-to.js'
import { codeChallengeOf, createCodeVerifier, hashValue, randomToken } from '../oauth/pkce.js'
import { KNOWN_SCOPES } from '../options.js'
import type { Runtime } from '../runtime.js'
import { encodeTransaction } from '../tokens/records.js'
import { errorResponses, LoginQuerySchema } from './schemas.js'

/**
 * `GET login`: stores a login transaction keyed by a fresh `state` (256 bits), bound to this
 * browser by the login cookie, and redirects to the provider with PKCE S256 (RFC 7636).
 * Several tabs may log in at once; each has its own state.
 */
export const loginRoute: FastifyPluginAsyncTypebox<{ runtime: Runtime }> = async (instance, { runtime }) => {
  instance.get('/login', {
    schema: {
      querystring: LoginQuerySchema,
      response: { 302: { type: 'null' }, ...errorResponses(400, 429, 500, 503) }
    }
  }, async (request, reply) => {
    assertCookiesCanBeSet(runtime, request)
    const binding = bindingForLogin(runtime, request)
    const bindingHash = hashValue(binding)
    await enforceRateLimit(runtime, request, 'login', bindingHash)

    const state = randomToken(32)
    const codeVerifier = createCodeVerifier()
    const scopes = requestedScopes(runtime.options.scopes, request.query.scope)
    const transaction = {
      codeVerifier,
      returnTo: safeReturnTo(request.query.returnTo, runtime.options.defaultReturnTo),
      scopes,
      createdAt: Date.now()
    }
    // The store keys the transaction by the state's hash, so a store dump does not reveal live states.
    await runtime.store.createTransaction(
      hashValue(state),
      { bindingHash, data: encodeTransaction(runtime.keys, transaction) },
      runtime.options.loginTimeoutSeconds * 1000,
      runtime.options.maxPendingLogins
    )

    setLoginCookie(runtime, request, reply, binding)
    request.log.debug({ event: 'login_started', scopes }, 'login started')
    const location = runtime.client.authorizationUrl({
      state,
      codeChallenge: codeChallengeOf(codeVerifier),
      scopes,
      prompt: request.query.prompt ?? runtime.options.prompt,
      params: runtime.options.authorizationParams
    })
    return await reply.redirect(location, 302)
  })
}

/** Returns the configured scopes plus the known scopes this login requests (e.g. `detail-user` for a profile page). */
function requestedScopes (configured: readonly string[], extra: string | undefined): string[] {
  const known = new Set<string>(KNOWN_SCOPES)
  const asked = (extra ?? '').split(' ').filter((scope) => known.has(scope))
  return [...new Set([...configured, ...asked])]
}
