import { ConsentRegistry, PendingAuthorizations } from './authorization-requests.js'
import { FaultSwitchboard } from './faults.js'
import type { DevProviderUser, ResolvedOptions } from './options.js'
import { BrowserSessions } from './sessions.js'
import { StatsRecorder } from './stats.js'
import { TokenLedger } from './token-ledger.js'

/** Everything the routes of one provider instance share. */
export interface ProviderContext {
  readonly options: ResolvedOptions
  readonly sessions: BrowserSessions
  readonly pendingAuthorizations: PendingAuthorizations
  readonly consents: ConsentRegistry
  readonly ledger: TokenLedger
  readonly faults: FaultSwitchboard
  readonly stats: StatsRecorder
  /** `http://127.0.0.1:PORT`, known once the server listens. */
  baseUrl: string
}

export function createProviderContext (options: ResolvedOptions): ProviderContext {
  return {
    options,
    sessions: new BrowserSessions(options.now),
    pendingAuthorizations: new PendingAuthorizations(options.now),
    consents: new ConsentRegistry(),
    ledger: new TokenLedger(options),
    faults: new FaultSwitchboard(),
    stats: new StatsRecorder(),
    baseUrl: ''
  }
}

/** Returns the user a session, code or token refers to. Users cannot be removed, so it always exists. */
export function userById (context: ProviderContext, userId: number): Readonly<DevProviderUser> {
  const user = context.options.usersById.get(userId)
  if (user === undefined) throw new Error(`user ${userId} is not registered at the development provider`)
  return user
}
