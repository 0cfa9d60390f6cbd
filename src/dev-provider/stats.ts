/** Grant types counted separately in `tokenRequests`. `other` counts missing, unknown and unreadable ones. */
export type TokenRequestGrant = 'authorization_code' | 'refresh_token' | 'client_credentials' | 'other'

/** Counters of the requests the provider received, as plain JSON. */
export interface DevProviderStatsSnapshot {
  tokenRequests: Record<TokenRequestGrant, number>
  refreshSuccesses: number
  refreshRejections: number
  userRequests: number
  detailsRequests: number
  logoutRequests: number
  authorizeRequests: number
  maxConcurrentRefreshes: number
  activeRefreshes: number
}

/**
 * Request counters of a running provider. A request is counted when it arrives, before any fault
 * applies, so a request that a fault delays, drops or replaces is still counted.
 */
export interface DevProviderStats {
  readonly tokenRequests: Readonly<Record<TokenRequestGrant, number>>
  /** Refresh token grants that returned new tokens. */
  readonly refreshSuccesses: number
  /** Refresh token grants that returned an OAuth error. Fault responses are not counted. */
  readonly refreshRejections: number
  readonly userRequests: number
  readonly detailsRequests: number
  readonly logoutRequests: number
  /** GET /oauth/authorize requests. The login and consent form posts are not counted. */
  readonly authorizeRequests: number
  /** Maximum number of refresh token requests in flight at once, latency faults included. */
  readonly maxConcurrentRefreshes: number
  /** Refresh token requests in flight now. */
  readonly activeRefreshes: number
  /** Sets every counter to zero, and `maxConcurrentRefreshes` to the refreshes in flight now. */
  reset(): void
  snapshot(): DevProviderStatsSnapshot
}

export class StatsRecorder implements DevProviderStats {
  tokenRequests: Record<TokenRequestGrant, number> = emptyGrantCounts()
  refreshSuccesses = 0
  refreshRejections = 0
  userRequests = 0
  detailsRequests = 0
  logoutRequests = 0
  authorizeRequests = 0
  maxConcurrentRefreshes = 0
  activeRefreshes = 0

  reset (): void {
    this.tokenRequests = emptyGrantCounts()
    this.refreshSuccesses = 0
    this.refreshRejections = 0
    this.userRequests = 0
    this.detailsRequests = 0
    this.logoutRequests = 0
    this.authorizeRequests = 0
    this.maxConcurrentRefreshes = this.activeRefreshes
  }

  snapshot (): DevProviderStatsSnapshot {
    return {
      tokenRequests: { ...this.tokenRequests },
      refreshSuccesses: this.refreshSuccesses,
      refreshRejections: this.refreshRejections,
      userRequests: this.userRequests,
      detailsRequests: this.detailsRequests,
      logoutRequests: this.logoutRequests,
      authorizeRequests: this.authorizeRequests,
      maxConcurrentRefreshes: this.maxConcurrentRefreshes,
      activeRefreshes: this.activeRefreshes
    }
  }

  /** Counts a refresh token request as in flight. Call the returned function once it has ended. */
  startRefresh (): () => void {
    this.activeRefreshes += 1
    this.maxConcurrentRefreshes = Math.max(this.maxConcurrentRefreshes, this.activeRefreshes)
    let ended = false
    return () => {
      if (ended) return
      ended = true
      this.activeRefreshes -= 1
    }
  }
}

function emptyGrantCounts (): Record<TokenRequestGrant, number> {
  return { authorization_code: 0, refresh_token: 0, client_credentials: 0, other: 0 }
}
