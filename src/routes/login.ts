import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { assertCookiesCanBeSet, bindingForLogin, enforceRateLimit, promptAfterLogout, setLoginCookie } from '../http/login-cookie.js'
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
    warnOnHostMismatch(runtime, request)
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
      prompt: request.query.prompt ?? promptAfterLogout(runtime, request, reply) ?? runtime.options.prompt,
      params: runtime.options.authorizationParams
    })
    return await reply.redirect(location, 302)
  })
}

/**
 * Warns once when a login starts on another host than the redirect URI's: the login cookie is
 * set for this host, so the callback on the other one arrives without it ("login expired").
 */
function warnOnHostMismatch (runtime: Runtime, request: FastifyRequest): void {
  const callbackHost = new URL(runtime.options.redirectUri).host
  if (request.host === callbackHost || runtime.warned.has('login_host_mismatch')) return
  runtime.warned.add('login_host_mismatch')
  request.log.warn({ event: 'login_host_mismatch', host: request.host, callbackHost }, 'login started on another host than redirectUri; the login cookie will not reach the callback, so open the app at the redirect URI\'s host')
}

/** Returns the configured scopes plus the known scopes this login requests (e.g. `detail-user` for a profile page). */
function requestedScopes (configured: readonly string[], extra: string | undefined): string[] {
  const known = new Set<string>(KNOWN_SCOPES)
  const requested = (extra ?? '').split(' ').filter((scope) => known.has(scope))
  return [...new Set([...configured, ...requested])]
}
