import { randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isMubarokahError, retryAfterOf } from '../errors.js'
import { providerDetails } from '../oauth/http.js'
import { FALLBACK, LABELS, messageFor, type Language } from './messages.js'
import { renderPage } from './pages.js'

export interface LanguageSettings {
  readonly language: 'auto' | Language
  readonly defaultLanguage: Language
}

/** Picks `id` or `en` from Accept-Language by quality (RFC 9110 §12.5.4); `in` is the old code for Indonesian. */
export function pickLanguage (acceptLanguage: string | undefined, settings: LanguageSettings): Language {
  if (settings.language !== 'auto') return settings.language
  if (acceptLanguage === undefined || acceptLanguage === '') return settings.defaultLanguage

  let best: { language: Language, quality: number } | undefined
  for (const part of acceptLanguage.slice(0, 500).split(',')) {
    const [tag = '', ...parameters] = part.trim().toLowerCase().split(';')
    const primary = tag.split('-')[0]
    let language: Language
    if (primary === 'id' || primary === 'in') language = 'id'
    else if (primary === 'en') language = 'en'
    else continue
    const qualityParameter = parameters.find((parameter) => parameter.trim().startsWith('q='))
    const quality = qualityParameter === undefined ? 1 : Number(qualityParameter.trim().slice(2))
    if (!Number.isFinite(quality) || quality <= 0) continue
    if (best === undefined || quality > best.quality) best = { language, quality }
  }
  return best?.language ?? settings.defaultLanguage
}

/** Tells whether the client is a browser navigating (wants HTML) rather than an API client. */
export function wantsHtml (request: FastifyRequest): boolean {
  const accept = request.headers.accept
  return typeof accept === 'string' && accept.includes('text/html')
}

/** Headers every auth response carries: nothing cached, no Referer leaking `code` or `state`. */
export function setNoStore (reply: FastifyReply): void {
  reply.header('cache-control', 'no-store')
  reply.header('pragma', 'no-cache')
  reply.header('referrer-policy', 'no-referrer')
}

export interface ErrorResponseSettings extends LanguageSettings {
  /** Login route, linked from error pages. */
  readonly loginPath: string
  readonly homePath: string
  /** Name of the session cookie, named in `WWW-Authenticate`. */
  readonly sessionCookieName: string
}

/**
 * Sends an error as a page for browsers and as JSON for API clients. Clients see only the code,
 * a fixed message and an opaque error id; the log line carries the same id with the details.
 * Never includes provider bodies, stack traces or store addresses.
 */
export async function sendError (request: FastifyRequest, reply: FastifyReply, error: unknown, settings: ErrorResponseSettings): Promise<FastifyReply> {
  const known = isMubarokahError(error)
  const statusCode = known ? error.statusCode : 500
  const code = known ? error.code : 'FST_MUBAROKAH_INTERNAL'
  const errorId = randomBytes(6).toString('hex')
  logError(request, error, { statusCode, code, errorId })

  setNoStore(reply)
  const retryAfter = retryAfterOf(error) ?? (statusCode === 503 ? 5 : undefined)
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
  if (statusCode === 401) {
    reply.header('www-authenticate', `Cookie realm="Mubarokah ID", form-action="${settings.loginPath}", cookie-name="${settings.sessionCookieName}"`)
  }
  reply.code(statusCode)

  if (wantsHtml(request)) {
    const language = pickLanguage(request.headers['accept-language'], settings)
    const message = known ? messageFor(code, language) : FALLBACK[language]
    // Offer a new login where one can help: not for a refusal (403) or a wrong method (405).
    const links = statusCode >= 400 && statusCode < 500 && statusCode !== 403 && statusCode !== 405
      ? [{ href: settings.loginPath, label: LABELS[language].login }, { href: settings.homePath, label: LABELS[language].home }]
      : [{ href: settings.homePath, label: LABELS[language].home }]
    return await reply.type('text/html; charset=utf-8').send(renderPage({ language, message, errorId, links }))
  }
  return await reply.type('application/json; charset=utf-8').send({
    statusCode,
    code,
    error: reasonPhrase(statusCode),
    message: known ? messageFor(code, 'en').body : FALLBACK.en.body,
    errorId
  })
}

function logError (request: FastifyRequest, error: unknown, ids: { statusCode: number, code: string, errorId: string }): void {
  const details = providerDetails(error)
  const entry = {
    event: 'auth_error',
    ...ids,
    reason: error instanceof Error ? error.message : String(error),
    userId: request.mubarokah?.userId,
    providerStatus: details?.status,
    providerContentType: details?.contentType,
    providerExcerpt: details?.excerpt,
    oauthError: details?.oauthError
  }
  if (ids.statusCode >= 500) {
    // The stack is logged for unexpected errors only; coded errors are explained by their message.
    request.log.error(isMubarokahError(error) ? entry : { ...entry, err: error }, 'auth request failed')
  } else {
    request.log.info(entry, 'auth request rejected')
  }
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable'
}

function reasonPhrase (statusCode: number): string {
  return REASONS[statusCode] ?? 'Error'
}
