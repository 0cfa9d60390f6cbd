import { randomToken } from './random.js'

export type PromptValue = 'none' | 'login' | 'consent'

/** A validated request to the authorize endpoint. */
export interface AuthorizationRequest {
  readonly clientId: string
  readonly redirectUri: string
  readonly scopes: readonly string[]
  readonly state: string
  readonly codeChallenge: string
  readonly prompt: ReadonlySet<PromptValue>
}

/**
 * An authorization request waiting for the login or consent page. The random `authToken` travels
 * in the pages' hidden fields, and `csrfToken` must come back with the consent decision.
 */
export interface PendingAuthorization extends AuthorizationRequest {
  readonly authToken: string
  readonly csrfToken: string
  readonly expiresAt: number
  /** User who signed in for this request, or null while the login page is showing. */
  userId: number | null
}

// Long enough to read the consent page, short enough that abandoned requests do not pile up.
const PENDING_LIFETIME_MS = 30 * 60 * 1000

/** In-memory authorization requests between the authorize endpoint and the user's decision. */
export class PendingAuthorizations {
  readonly #pending = new Map<string, PendingAuthorization>()
  readonly #now: () => number

  constructor (now: () => number) {
    this.#now = now
  }

  create (request: AuthorizationRequest, userId: number | null): PendingAuthorization {
    this.#deleteExpired()
    const pending: PendingAuthorization = {
      ...request,
      authToken: randomToken(32),
      csrfToken: randomToken(32),
      expiresAt: this.#now() + PENDING_LIFETIME_MS,
      userId
    }
    this.#pending.set(pending.authToken, pending)
    return pending
  }

  find (authToken: string | undefined): PendingAuthorization | undefined {
    if (authToken === undefined) return undefined
    const pending = this.#pending.get(authToken)
    if (pending === undefined || this.#now() >= pending.expiresAt) return undefined
    return pending
  }

  delete (authToken: string): void {
    this.#pending.delete(authToken)
  }

  #deleteExpired (): void {
    const now = this.#now()
    for (const [authToken, pending] of this.#pending) {
      if (now >= pending.expiresAt) this.#pending.delete(authToken)
    }
  }
}

/** Consents the users gave, one per user, client and exact scope set, as Passport remembers them. */
export class ConsentRegistry {
  readonly #consents = new Set<string>()

  remember (userId: number, clientId: string, scopes: readonly string[]): void {
    this.#consents.add(consentKey(userId, clientId, scopes))
  }

  has (userId: number, clientId: string, scopes: readonly string[]): boolean {
    return this.#consents.has(consentKey(userId, clientId, scopes))
  }
}

function consentKey (userId: number, clientId: string, scopes: readonly string[]): string {
  return JSON.stringify([userId, clientId, [...scopes].sort()])
}
