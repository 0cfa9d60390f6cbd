import type { FastifyReply, FastifyRequest } from 'fastify'
import { InsecureTransportError, LoginCookieMissingError, RateLimitedError, withRetryAfter } from '../errors.js'
import { hashValue, randomToken } from '../oauth/pkce.js'
import type { Runtime } from '../runtime.js'

/*
 * The login cookie binds a login transaction to the browser that started it. It holds 256
 * random bits; the store keeps only their SHA-256. Path is `/` so that it reaches a callback
 * that lives outside the plugin's prefix.
 */

const BINDING_PATTERN = /^[A-Za-z0-9_-]{43}$/

/** Tells whether the login cookie gets the `Secure` attribute on this request. */
function isSecureCookie (runtime: Runtime, request: FastifyRequest): boolean {
  const secure = runtime.options.loginCookie.secure
  return secure === 'auto' ? request.protocol === 'https' : secure
}

/**
 * Rejects a login that could not finish: a Secure cookie on a plain-HTTP request is dropped by
 * the browser, and the callback would then fail as "state unknown" in a loop. Behind a
 * TLS-terminating proxy, `request.protocol` is `https` only when Fastify's `trustProxy` trusts
 * the proxy, so a forged `X-Forwarded-Proto` from anyone else changes nothing here.
 */
export function assertCookiesCanBeSet (runtime: Runtime, request: FastifyRequest): void {
  if (request.protocol === 'https') return
  const sessionCookieSecure = (request.session as { cookie?: { secure?: unknown } } | undefined)?.cookie?.secure === true
  if (runtime.options.loginCookie.secure !== true && !sessionCookieSecure) return

  request.log.error({
    event: 'login_insecure_transport',
    forwardedProtoHeader: request.headers['x-forwarded-proto'] !== undefined,
    loginCookieSecure: runtime.options.loginCookie.secure === true,
    sessionCookieSecure
  }, 'login refused: a Secure cookie cannot be set on a plain-HTTP request; behind a TLS-terminating proxy set the Fastify option trustProxy, or serve the app over HTTPS')
  throw new InsecureTransportError()
}

/** Returns the browser's binding value: the existing cookie if well-formed, else a new one. */
export function bindingForLogin (runtime: Runtime, request: FastifyRequest): string {
  const existing = request.cookies[runtime.options.loginCookie.name]
  return existing !== undefined && BINDING_PATTERN.test(existing) ? existing : randomToken(32)
}

/** The hash of the binding the callback request carries. Throws when the cookie is missing. */
export function bindingHashOfCallback (runtime: Runtime, request: FastifyRequest): string {
  const binding = request.cookies[runtime.options.loginCookie.name]
  if (binding === undefined || !BINDING_PATTERN.test(binding)) throw new LoginCookieMissingError()
  return hashValue(binding)
}

export function setLoginCookie (runtime: Runtime, request: FastifyRequest, reply: FastifyReply, binding: string): void {
  const cookie = runtime.options.loginCookie
  reply.setCookie(cookie.name, binding, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecureCookie(runtime, request),
    maxAge: runtime.options.loginTimeoutSeconds,
    ...(cookie.domain === undefined ? {} : { domain: cookie.domain })
  })
}

/** Name of the cookie that marks a browser as logged out, for `promptLoginAfterLogout`. */
export function loggedOutCookieName (runtime: Runtime): string {
  return `${runtime.options.loginCookie.name}_out`
}

/** Marks this browser as logged out, so its next login makes the provider request the password again. */
export function markLoggedOut (runtime: Runtime, request: FastifyRequest, reply: FastifyReply): void {
  if (!runtime.options.promptLoginAfterLogout) return
  reply.setCookie(loggedOutCookieName(runtime), '1', {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecureCookie(runtime, request),
    maxAge: runtime.options.sessionTtlSeconds,
    ...(runtime.options.loginCookie.domain === undefined ? {} : { domain: runtime.options.loginCookie.domain })
  })
}

/**
 * Returns `login` when the browser logged out before and no prompt was asked for, and clears the
 * mark: a local logout leaves the Mubarokah ID session alive, which would log the user straight
 * back in without a question.
 */
export function promptAfterLogout (runtime: Runtime, request: FastifyRequest, reply: FastifyReply): 'login' | undefined {
  if (request.cookies[loggedOutCookieName(runtime)] === undefined) return undefined
  reply.clearCookie(loggedOutCookieName(runtime), { path: '/', ...(runtime.options.loginCookie.domain === undefined ? {} : { domain: runtime.options.loginCookie.domain }) })
  return runtime.options.promptLoginAfterLogout ? 'login' : undefined
}

/**
 * Counts one attempt per client address and per browser binding in a one-minute window;
 * throws FST_MUBAROKAH_RATE_LIMITED (429 with Retry-After) beyond the limit.
 */
export async function enforceRateLimit (runtime: Runtime, request: FastifyRequest, kind: 'login' | 'callback', bindingHash: string): Promise<void> {
  const limit = kind === 'login' ? runtime.options.rateLimit.loginsPerMinute : runtime.options.rateLimit.callbacksPerMinute
  const keys = [`rate:${kind}:ip:${hashValue(request.ip)}`, `rate:${kind}:b:${bindingHash}`]
  for (const key of keys) {
    const { count, resetMs } = await runtime.store.hit(key, 60_000)
    if (count > limit) {
      request.log.warn({ event: 'rate_limited', kind, scope: key.includes(':ip:') ? 'address' : 'browser' }, 'login rate limit reached')
      throw withRetryAfter(new RateLimitedError(), resetMs / 1000)
    }
  }
}
