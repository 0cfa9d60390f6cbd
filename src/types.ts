/// <reference types="@fastify/cookie" />
/// <reference types="@fastify/session" />
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { MubarokahOAuthClient } from './oauth/client.js'
import type { MubarokahDetailsFields, MubarokahProfile } from './oauth/normalize.js'
import type { GrantManager } from './tokens/grants.js'

/**
 * The user on `request.mubarokah.user`: the normalised `/api/user` profile. Host apps add
 * fields with declaration merging and fill them in the `enrichUser` option:
 *
 * ```ts
 * declare module 'fastify-mubarokah-id' {
 *   interface MubarokahUser { role: 'admin' | 'member' }
 * }
 * ```
 */
export interface MubarokahUser extends MubarokahProfile {}

/** `/api/user/details` merged over the user, as `GET me/details` returns it. */
export interface MubarokahDetails extends Omit<MubarokahUser, 'phone_number'>, MubarokahDetailsFields {}

/** The session data of a logged-in browser. No token is ever kept in the session. */
export interface SessionLink {
  readonly grantId: string
  readonly userId: string
  /** When the session was last saved on purpose, epoch milliseconds; drives sliding expiry. */
  readonly renewedAt: number
}

/** The current login, on `request.mubarokah` once a guard has run. */
export interface MubarokahRequestContext {
  readonly user: MubarokahUser
  readonly userId: string
  readonly grantId: string
  readonly scopes: readonly string[]
  /** Access token expiry, epoch milliseconds. */
  readonly expiresAt: number
  /** A valid access token, refreshed first if it is inside the refresh window. */
  accessToken(): Promise<string>
  /** Fetches `/api/user/details` merged over the user; retries once after a refresh if the token was rejected. */
  details(): Promise<MubarokahDetails>
  /** Tells whether every scope in `scopes` was granted. */
  hasScopes(...scopes: string[]): boolean
}

export interface LogoutOptions {
  /** End every session of this user, on every device. Default false. */
  everywhere?: boolean
  /** Also end the Mubarokah ID session in every app (`/api/logout-sso`). Default false. */
  sso?: boolean
}

/** `fastify.mubarokah`. */
export interface MubarokahDecorator {
  /** The OAuth client for provider calls. */
  readonly oauth: MubarokahOAuthClient
  /** The grant store: read, end and list grants, and get a fresh access token for a user. */
  readonly tokens: GrantManager
  /** preHandler: 302 to login for browsers, 401 JSON for API clients, when no user is logged in. */
  readonly requireUser: preHandlerAsyncHookHandler
  /** preHandler: fills `request.mubarokah` when a user is logged in, and lets the request through either way. */
  readonly optionalUser: preHandlerAsyncHookHandler
  /** preHandler: like `requireUser`, and 403 unless every scope was granted. */
  requireScopes(...scopes: string[]): preHandlerAsyncHookHandler
  /** A valid access token for the login a guard resolved on this request, refreshed first if needed. Throws 401 when there is none. */
  accessToken(request: FastifyRequest): Promise<string>
  /** Ends the current login: its grant, the session and the session cookie. Returns the number of grants ended. */
  logout(request: FastifyRequest, reply: FastifyReply, options?: LogoutOptions): Promise<number>
  /** Ends every login of a user, e.g. after an account is blocked. Returns the number of grants ended. */
  logoutUser(userId: string): Promise<number>
  /** A valid access token of one of the user's logins for background jobs, or null when there is none. */
  accessTokenForUser(userId: string): Promise<string | null>
}

declare module 'fastify' {
  interface FastifyInstance {
    mubarokah: MubarokahDecorator
  }
  interface FastifyRequest {
    mubarokah: MubarokahRequestContext | null
  }
  /** The session data of @fastify/session. */
  interface Session {
    mubarokah?: SessionLink
  }
}
