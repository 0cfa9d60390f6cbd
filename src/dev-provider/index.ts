/**
 * Development provider: a local stand-in for Mubarokah ID (an OAuth 2.0 server on Laravel
 * Passport) with login and consent pages, single-use codes, strict PKCE S256, rotating refresh
 * tokens, the user API and fault switches for tests. It listens on 127.0.0.1 only and refuses to
 * start when NODE_ENV is "production".
 */
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildProviderApp } from './app.js'
import { createProviderContext, type ProviderContext } from './context.js'
import { DevProviderInProductionError } from './errors.js'
import type { DevProviderFaults } from './faults.js'
import { resolveOptions, type DevProviderOptions } from './options.js'
import type { DevProviderStats } from './stats.js'

export { createDevClient, DEFAULT_DEV_CLIENT, DEMO_USERS, exampleRedirectUris } from './demo.js'
export { DevProviderFaultError, DevProviderInProductionError, DevProviderOptionError } from './errors.js'
export type { DevProviderEndpoint, DevProviderFault, DevProviderFaultKind, DevProviderFaults, FaultGrant } from './faults.js'
export type {
  DevProviderClient,
  DevProviderOptions,
  DevProviderTokenKind,
  DevProviderUser,
  DevProviderUserDetails
} from './options.js'
export { SESSION_COOKIE_NAME } from './sessions.js'
export type { DevProviderStats, DevProviderStatsSnapshot, TokenRequestGrant } from './stats.js'

/** A running development provider. */
export interface DevProvider {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly baseUrl: string
  readonly faults: DevProviderFaults
  readonly stats: DevProviderStats
  /** Counts the user's refresh tokens that are neither revoked nor expired. */
  activeRefreshTokenCount(userId: number): number
  /** Tells whether an access token was issued here and is neither revoked nor expired. */
  isAccessTokenActive(accessToken: string): boolean
  /** Counts the user's live browser sessions at the provider's login. */
  activeSessionCount(userId: number): number
  /** Stops the server, ending open connections, hanging ones included. Safe to call twice. */
  close(): Promise<void>
}

/**
 * Starts a development provider on 127.0.0.1. Throws `DevProviderInProductionError` when
 * NODE_ENV is "production" unless `allowInProduction` is set, and `DevProviderOptionError` for an
 * invalid option.
 */
export async function startDevProvider (options: DevProviderOptions = {}): Promise<DevProvider> {
  if (process.env.NODE_ENV === 'production' && options.allowInProduction !== true) {
    throw new DevProviderInProductionError()
  }

  const context = createProviderContext(resolveOptions(options))
  const app = await buildProviderApp(context)
  try {
    await app.listen({ host: '127.0.0.1', port: context.options.port })
  } catch (error) {
    await app.close()
    throw error
  }

  const { port } = app.server.address() as AddressInfo
  context.baseUrl = `http://127.0.0.1:${port}`
  return new RunningDevProvider(app, context)
}

class RunningDevProvider implements DevProvider {
  readonly #app: FastifyInstance
  readonly #context: ProviderContext
  #closing: Promise<void> | undefined

  constructor (app: FastifyInstance, context: ProviderContext) {
    this.#app = app
    this.#context = context
  }

  get baseUrl (): string {
    return this.#context.baseUrl
  }

  get faults (): DevProviderFaults {
    return this.#context.faults
  }

  get stats (): DevProviderStats {
    return this.#context.stats
  }

  activeRefreshTokenCount (userId: number): number {
    return this.#context.ledger.activeRefreshTokenCount(userId)
  }

  isAccessTokenActive (accessToken: string): boolean {
    return this.#context.ledger.isAccessTokenActive(accessToken)
  }

  activeSessionCount (userId: number): number {
    return this.#context.sessions.countActiveForUser(userId)
  }

  close (): Promise<void> {
    this.#closing ??= this.#app.close()
    return this.#closing
  }
}
