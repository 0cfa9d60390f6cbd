import type { FastifyServerOptions } from 'fastify'
import { DEFAULT_DEV_CLIENT, DEMO_USERS } from './demo.js'
import { DevProviderOptionError } from './errors.js'
import { randomToken } from './random.js'

/** A client application registered at the development provider. */
export interface DevProviderClient {
  clientId: string
  clientSecret: string
  /** Absolute http(s) URLs without a fragment. `redirect_uri` must equal one of them exactly. */
  redirectUris: string[]
  /**
   * Whether the provider's admin approved this client for the `detail-user` scope.
   * Without approval `/api/user/details` returns 403 `unapproved_scope`. Default true.
   */
  detailsApproved?: boolean
}

/** Profile details returned by `/api/user/details`. Every field is nullable, as at Mubarokah ID. */
export interface DevProviderUserDetails {
  bio: string | null
  phone_number: string | null
  place_of_birth: string | null
  /** YYYY-MM-DD */
  date_of_birth: string | null
  address: string | null
}

/** An account that can sign in at the development provider. */
export interface DevProviderUser {
  /** Positive integer, sent as a JSON number. */
  id: number
  username: string
  password: string
  name: string
  /** Null for accounts that signed up with WhatsApp. */
  email: string | null
  /** Absolute URL, or a path starting with `/` that the provider resolves against its `baseUrl`. */
  profile_picture: string | null
  gender: string | null
  details: DevProviderUserDetails
}

/** Kinds of credentials the provider issues, as passed to `generateToken`. */
export type DevProviderTokenKind = 'authorization_code' | 'access_token' | 'refresh_token'

export interface DevProviderOptions {
  /** TCP port on 127.0.0.1. Default 0, a random free port. The host is not configurable. */
  port?: number
  /** Registered clients. Default: `[DEFAULT_DEV_CLIENT]`. */
  clients?: DevProviderClient[]
  /** Accounts that can sign in. Default: `DEMO_USERS` (`budi` and `siti`, password `demo`). */
  users?: DevProviderUser[]
  /** Access token lifetime in seconds, also sent as `expires_in`. Default 3600. */
  accessTokenTtlSeconds?: number
  /** Refresh token lifetime in seconds. Default 2592000 (30 days). */
  refreshTokenTtlSeconds?: number
  /** Authorization code lifetime in seconds. Default 600. */
  codeTtlSeconds?: number
  /**
   * Fastify logger options. Default false, so the provider logs nothing.
   * Request logs carry the path without the query string.
   */
  logger?: FastifyServerOptions['logger']
  /** Allows `startDevProvider()` when `NODE_ENV` is `production`. Default false. */
  allowInProduction?: boolean
  /** Clock in milliseconds used for every expiry. Default `Date.now`. */
  now?: () => number
  /**
   * Generator of authorization codes, access tokens and refresh tokens, for tests that plant
   * recognisable values and then scan logs for them. Every value it returns must be new.
   * Default: random base64url strings of 64 to 86 characters.
   */
  generateToken?: (kind: DevProviderTokenKind) => string
}

/** Options after validation, with defaults filled in and lifetimes in milliseconds. */
export interface ResolvedOptions {
  readonly port: number
  readonly clients: ReadonlyMap<string, Readonly<DevProviderClient>>
  readonly usersById: ReadonlyMap<number, Readonly<DevProviderUser>>
  readonly usersByUsername: ReadonlyMap<string, Readonly<DevProviderUser>>
  /** True when the demo accounts are in use, so the login page may show their passwords. */
  readonly demoUsers: boolean
  readonly accessTokenTtlMs: number
  readonly refreshTokenTtlMs: number
  readonly codeTtlMs: number
  readonly logger: FastifyServerOptions['logger']
  readonly now: () => number
  readonly generateToken: (kind: DevProviderTokenKind) => string
}

const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600
const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600
const DEFAULT_CODE_TTL_SECONDS = 600
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/

/** Validates the options and fills in defaults. Throws `DevProviderOptionError` naming the option. */
export function resolveOptions (options: DevProviderOptions): ResolvedOptions {
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DevProviderOptionError('port', 'expected an integer from 0 to 65535')
  }

  const users = (options.users ?? DEMO_USERS).map(validateUser)
  const clients = (options.clients ?? [DEFAULT_DEV_CLIENT]).map(validateClient)
  if (clients.length === 0) {
    throw new DevProviderOptionError('clients', 'register at least one client')
  }

  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new DevProviderOptionError('now', 'expected a function')
  const generateToken = options.generateToken ?? randomCredential
  if (typeof generateToken !== 'function') {
    throw new DevProviderOptionError('generateToken', 'expected a function')
  }

  return {
    port,
    clients: indexUnique(clients, (client) => client.clientId, 'clients', 'clientId'),
    usersById: indexUnique(users, (user) => user.id, 'users', 'id'),
    usersByUsername: indexUnique(users, (user) => user.username, 'users', 'username'),
    demoUsers: options.users === undefined,
    accessTokenTtlMs: secondsToMs(options.accessTokenTtlSeconds, DEFAULT_ACCESS_TOKEN_TTL_SECONDS, 'accessTokenTtlSeconds'),
    refreshTokenTtlMs: secondsToMs(options.refreshTokenTtlSeconds, DEFAULT_REFRESH_TOKEN_TTL_SECONDS, 'refreshTokenTtlSeconds'),
    codeTtlMs: secondsToMs(options.codeTtlSeconds, DEFAULT_CODE_TTL_SECONDS, 'codeTtlSeconds'),
    logger: options.logger ?? false,
    now,
    generateToken
  }
}

function randomCredential (kind: DevProviderTokenKind): string {
  return randomToken(kind === 'authorization_code' ? 48 : 64)
}

function secondsToMs (value: number | undefined, fallback: number, name: string): number {
  const seconds = value ?? fallback
  if (!Number.isInteger(seconds) || seconds <= 0) {
    throw new DevProviderOptionError(name, 'expected a positive integer number of seconds')
  }
  return seconds * 1000
}

function validateClient (client: DevProviderClient): Readonly<DevProviderClient> {
  if (typeof client.clientId !== 'string' || client.clientId === '') {
    throw new DevProviderOptionError('clients', 'every client needs a non-empty clientId')
  }
  if (typeof client.clientSecret !== 'string' || client.clientSecret === '') {
    throw new DevProviderOptionError('clients', `client "${client.clientId}" needs a non-empty clientSecret`)
  }
  if (!Array.isArray(client.redirectUris) || client.redirectUris.length === 0) {
    throw new DevProviderOptionError('clients', `client "${client.clientId}" needs at least one redirect URI`)
  }
  for (const redirectUri of client.redirectUris) {
    if (!isRegistrableRedirectUri(redirectUri)) {
      throw new DevProviderOptionError(
        'clients',
        `redirect URI "${redirectUri}" of client "${client.clientId}" must be an absolute http(s) URL without a fragment`
      )
    }
  }

  return Object.freeze({
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    redirectUris: [...client.redirectUris],
    detailsApproved: client.detailsApproved ?? true
  })
}

// RFC 6749 §3.1.2: the redirection endpoint URI must be absolute and must not include a fragment.
function isRegistrableRedirectUri (value: unknown): boolean {
  if (typeof value !== 'string') return false
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return false
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && !value.includes('#')
}

function validateUser (user: DevProviderUser): Readonly<DevProviderUser> {
  if (!Number.isSafeInteger(user.id) || user.id <= 0) {
    throw new DevProviderOptionError('users', `user id ${String(user.id)} must be a positive integer`)
  }
  if (typeof user.username !== 'string' || user.username === '' || typeof user.password !== 'string') {
    throw new DevProviderOptionError('users', `user ${user.id} needs a non-empty username and a password`)
  }
  const dateOfBirth = user.details.date_of_birth
  if (dateOfBirth !== null && !DATE_PATTERN.test(dateOfBirth)) {
    throw new DevProviderOptionError('users', `date_of_birth of user ${user.id} must be YYYY-MM-DD or null`)
  }
  return Object.freeze(structuredClone(user))
}

function indexUnique<K, V> (items: readonly V[], keyOf: (item: V) => K, option: string, field: string): Map<K, V> {
  const index = new Map<K, V>()
  for (const item of items) {
    const key = keyOf(item)
    if (index.has(key)) {
      throw new DevProviderOptionError(option, `${field} ${String(key)} appears more than once`)
    }
    index.set(key, item)
  }
  return index
}
