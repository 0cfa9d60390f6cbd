import { randomToken } from './random.js'

export const SESSION_COOKIE_NAME = 'mubarokah_dev_session'

// Laravel's default session lifetime (SESSION_LIFETIME, 120 minutes).
const SESSION_LIFETIME_MS = 120 * 60 * 1000

/** A signed-in browser at the provider, keyed by the random id in the session cookie. */
export interface BrowserSession {
  readonly id: string
  readonly userId: number
  readonly expiresAt: number
}

/** In-memory browser sessions of the provider's own login. */
export class BrowserSessions {
  readonly #sessions = new Map<string, BrowserSession>()
  readonly #now: () => number

  constructor (now: () => number) {
    this.#now = now
  }

  create (userId: number): BrowserSession {
    const session = { id: randomToken(32), userId, expiresAt: this.#now() + SESSION_LIFETIME_MS }
    this.#sessions.set(session.id, session)
    return session
  }

  /** Returns the live session for a cookie value, deleting it if it has expired. */
  find (id: string | undefined): BrowserSession | undefined {
    if (id === undefined) return undefined
    const session = this.#sessions.get(id)
    if (session === undefined) return undefined
    if (this.#now() >= session.expiresAt) {
      this.#sessions.delete(id)
      return undefined
    }
    return session
  }

  delete (id: string): void {
    this.#sessions.delete(id)
  }

  /** Ends every session of a user, as single sign-out does. Returns how many were ended. */
  deleteForUser (userId: number): number {
    let deleted = 0
    for (const session of this.#sessions.values()) {
      if (session.userId === userId) {
        this.#sessions.delete(session.id)
        deleted += 1
      }
    }
    return deleted
  }

  countActiveForUser (userId: number): number {
    const now = this.#now()
    let count = 0
    for (const session of this.#sessions.values()) {
      if (session.userId === userId && now < session.expiresAt) count += 1
    }
    return count
  }
}
