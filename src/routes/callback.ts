import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  AccessDeniedError,
  AuthorizationError,
  CodeMissingError,
  isMubarokahError,
  LoginInProgressError,
  ProviderRejectedError,
  ProviderResponseError,
  StateMismatchError,
  StateMissingError,
  StateUnknownError
} from '../errors.js'
import { endSession, sessionLinkOf } from '../guard.js'
import { bindingHashOfCallback, enforceRateLimit } from '../http/login-cookie.js'
import { hashValue } from '../oauth/pkce.js'
import type { Runtime } from '../runtime.js'
import { FernetError } from '../tokens/fernet.js'
import { decodeTransaction, RecordUnreadableError, type LoginTransaction } from '../tokens/records.js'
import { CallbackQuerySchema, errorResponses, type CallbackQuery } from './schemas.js'

/** How long a claimed transaction is kept so that a repeated callback can learn its outcome. */
const CLAIM_TTL_MS = 120_000
const REPEAT_POLL_MS = 50

/** The outcome of a claimed login, kept for a repeated callback from the same browser. */
type Outcome =
  | { readonly ok: true, readonly returnTo: string, readonly session: string }
  | { readonly ok: false, readonly code: string, readonly statusCode: number }

/**
 * `GET callback` (RFC 6749 §4.1.2): claims the transaction for `state` once, before any
 * network call, then exchanges the code with the PKCE verifier, fetches the user, creates the
 * grant and regenerates the session id. The order of checks gives each failure its own code.
 */
export const callbackRoute: FastifyPluginAsyncTypebox<{ runtime: Runtime, path: string }> = async (instance, { runtime, path }) => {
  instance.get(path, {
    schema: {
      querystring: CallbackQuerySchema,
      response: { 302: { type: 'null' }, ...errorResponses(400, 401, 403, 409, 429, 500, 502, 503) }
    }
  }, async (request, reply) => {
    if (request.query.state === undefined || request.query.state === '') throw new StateMissingError()
    const stateKey = hashValue(request.query.state)
    const bindingHash = bindingHashOfCallback(runtime, request)
    await enforceRateLimit(runtime, request, 'callback', bindingHash)

    const claim = await runtime.store.claimTransaction(stateKey, bindingHash, CLAIM_TTL_MS)
    if (claim.status === 'unknown') throw new StateUnknownError()
    if (claim.status === 'mismatch') throw new StateMismatchError()
    if (claim.status === 'already-claimed') return await answerRepeatedCallback(runtime, request, reply, stateKey, bindingHash, claim.outcome)

    let transaction: LoginTransaction
    try {
      transaction = decodeTransaction(runtime.keys, claim.data)
    } catch (error) {
      if (error instanceof RecordUnreadableError) throw new StateUnknownError()
      throw error
    }

    try {
      await completeLogin(runtime, request, request.query, transaction)
    } catch (error) {
      await recordOutcome(runtime, request, stateKey, failureOutcome(error))
      throw error
    }
    await recordOutcome(runtime, request, stateKey, {
      ok: true,
      returnTo: transaction.returnTo,
      session: runtime.keys.encrypt(request.session.encryptedSessionId)
    })
    return await reply.redirect(transaction.returnTo, 302)
  })
}

async function completeLogin (runtime: Runtime, request: FastifyRequest, query: CallbackQuery, transaction: LoginTransaction): Promise<void> {
  if (query.error !== undefined) {
    request.log.info({ event: 'login_denied', oauthError: query.error.slice(0, 50) }, 'provider returned an error to the callback')
    if (query.error === 'access_denied') throw new AccessDeniedError()
    throw new AuthorizationError(query.error.replace(/[^A-Za-z0-9_.-]/g, '').slice(0, 50))
  }
  if (query.code === undefined || query.code === '') throw new CodeMissingError()

  const tokens = await runtime.client.exchangeCode(query.code, transaction.codeVerifier, transaction.scopes).catch((error: unknown) => {
    // A rejected code (expired, reused, wrong verifier) is the end of this login, not an outage.
    if (error instanceof ProviderRejectedError) error.statusCode = 400
    throw error
  })
  if (tokens.expiresInDefaulted) request.log.warn({ event: 'expires_in_defaulted' }, 'token response had no usable expires_in; assumed the default lifetime')
  const profile = await runtime.client.fetchUser(tokens.accessToken).catch((error: unknown) => {
    // The token was issued a moment ago, so a 401 here is the provider's inconsistency, not the user's.
    if (error instanceof ProviderRejectedError && error.statusCode === 401) {
      throw new ProviderResponseError('the user endpoint rejected the access token the token endpoint just issued', { cause: error })
    }
    throw error
  })
  const user = runtime.options.enrichUser === undefined ? profile : await runtime.options.enrichUser(profile, request)
  const grant = await runtime.grants.create(user, tokens, transaction.scopes)

  try {
    const previous = sessionLinkOf(request)
    // Session fixation defence: the id the browser had before login stops working now.
    await request.session.regenerate()
    request.session.set('mubarokah', { grantId: grant.grantId, userId: grant.userId, renewedAt: Date.now() })
    if (previous !== null) await runtime.grants.end(previous.grantId)
  } catch (error) {
    await runtime.grants.end(grant.grantId).catch(() => {})
    throw error
  }
  request.log.info({ event: 'login_succeeded', userId: grant.userId, grantId: grant.grantId, scopes: grant.scopes }, 'login succeeded')
}

function failureOutcome (error: unknown): Outcome {
  if (isMubarokahError(error)) return { ok: false, code: error.code, statusCode: error.statusCode }
  return { ok: false, code: 'FST_MUBAROKAH_INTERNAL', statusCode: 500 }
}

async function recordOutcome (runtime: Runtime, request: FastifyRequest, stateKey: string, outcome: Outcome): Promise<void> {
  try {
    await runtime.store.finishTransaction(stateKey, JSON.stringify(outcome), CLAIM_TTL_MS)
  } catch (error) {
    // Only a repeated callback reads this; the login itself is already decided.
    request.log.warn({ event: 'login_outcome_not_recorded', err: error }, 'could not record the login outcome')
  }
}

/**
 * A second callback with the same state from the same browser (a double submit or a reload):
 * wait for the first to finish, then end where it ended. On success this request joins the
 * session the first one created, so the browser is logged in whichever response it kept.
 */
async function answerRepeatedCallback (
  runtime: Runtime,
  request: FastifyRequest,
  reply: FastifyReply,
  stateKey: string,
  bindingHash: string,
  firstOutcome: string | null
): Promise<FastifyReply> {
  const outcome = await waitForOutcome(runtime, stateKey, bindingHash, firstOutcome)
  request.log.info({ event: 'login_callback_repeated', finished: outcome !== null }, 'repeated callback for a claimed login')
  if (outcome === null) throw new LoginInProgressError()
  if (!outcome.ok) throw recordedError(outcome)

  let signedSessionId: string
  try {
    signedSessionId = runtime.keys.decrypt(outcome.session).plaintext
  } catch (error) {
    if (error instanceof FernetError) throw new StateUnknownError()
    throw error
  }
  await joinSession(request, signedSessionId)
  const link = sessionLinkOf(request)
  if (link === null) {
    await endSession(runtime, request, reply)
    throw new StateUnknownError()
  }
  request.session.set('mubarokah', { ...link, renewedAt: Date.now() })
  return await reply.redirect(outcome.returnTo, 302)
}

async function waitForOutcome (runtime: Runtime, stateKey: string, bindingHash: string, firstOutcome: string | null): Promise<Outcome | null> {
  const deadline = Date.now() + runtime.options.httpTimeoutMs * 2 + 1000
  let outcome = firstOutcome
  while (outcome === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, REPEAT_POLL_MS))
    const claim = await runtime.store.claimTransaction(stateKey, bindingHash, CLAIM_TTL_MS)
    if (claim.status !== 'already-claimed') return null
    outcome = claim.outcome
  }
  return outcome === null ? null : JSON.parse(outcome) as Outcome
}

function recordedError (outcome: Extract<Outcome, { ok: false }>): Error {
  const error = new Error('the first callback for this login failed') as Error & { code: string, statusCode: number }
  error.name = 'FastifyError'
  error.code = outcome.code
  error.statusCode = outcome.statusCode
  return error
}

/** Replaces this request's session with the one stored under `signedSessionId` (@fastify/session `decryptSession`). */
async function joinSession (request: FastifyRequest, signedSessionId: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    request.server.decryptSession(signedSessionId, request, (error?: unknown) => {
      if (error === undefined || error === null) resolve()
      else reject(error)
    })
  })
}
