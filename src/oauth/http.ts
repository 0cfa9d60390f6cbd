import { ProviderRateLimitedError, ProviderResponseError, ProviderUnavailableError, withRetryAfter } from '../errors.js'

/** The result of a provider call, after status, size and content type checks. */
export interface ProviderResponse {
  readonly status: number
  readonly contentType: string
  /** The parsed JSON body. */
  readonly body: unknown
}

/** Facts about a failed provider response, kept off the enumerable fields so that logging an error cannot leak a body. */
export interface ProviderFailureDetails {
  readonly status?: number
  readonly contentType?: string
  /** At most 200 characters of the body, with anything token-like replaced. */
  readonly excerpt?: string
  readonly oauthError?: string
}

const detailsKey = Symbol('mubarokah.providerDetails')

export function attachDetails<E extends Error> (error: E, details: ProviderFailureDetails): E {
  Object.defineProperty(error, detailsKey, { value: details, enumerable: false })
  return error
}

/** Returns the facts attached to a provider error, safe to log. */
export function providerDetails (error: unknown): ProviderFailureDetails | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  return (error as Record<symbol, ProviderFailureDetails | undefined>)[detailsKey]
}

export interface HttpSettings {
  readonly fetch: typeof globalThis.fetch
  readonly timeoutMs: number
  readonly sizeLimit: number
}

export interface ProviderRequest {
  readonly method: 'GET' | 'POST'
  readonly url: string
  readonly headers?: Record<string, string>
  /** A form body, sent as `application/x-www-form-urlencoded`. */
  readonly form?: URLSearchParams
}

/**
 * Sends one request to the provider and returns its JSON body.
 *
 * The timeout covers the whole exchange including the body; redirects are not followed;
 * the body is read once, up to the size limit. Network failures, timeouts and 5xx become
 * ProviderUnavailableError, 429 becomes ProviderRateLimitedError, and a body that is not
 * JSON becomes ProviderResponseError. Other 4xx statuses are returned to the caller, which
 * interprets them for its endpoint.
 */
export async function requestProvider (settings: HttpSettings, request: ProviderRequest): Promise<ProviderResponse> {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), settings.timeoutMs)
  try {
    const response = await send(settings, request, controller.signal)
    const contentType = (response.headers.get('content-type') ?? '').toLowerCase()
    const text = await readBody(response, settings.sizeLimit, contentType)
    return interpret(response, contentType, text)
  } catch (error) {
    if (controller.signal.aborted && !(error instanceof ProviderResponseError)) {
      throw new ProviderUnavailableError(`no response within ${settings.timeoutMs} ms`)
    }
    throw error
  } finally {
    clearTimeout(timer)
  }
}

async function send (settings: HttpSettings, request: ProviderRequest, signal: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers }
  if (request.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
  try {
    return await settings.fetch(request.url, {
      method: request.method,
      headers,
      body: request.form?.toString(),
      redirect: 'manual',
      signal
    })
  } catch (error) {
    if (signal.aborted) throw error
    throw new ProviderUnavailableError('the connection failed', { cause: error })
  }
}

async function readBody (response: Response, limit: number, contentType: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => {})
    throw attachDetails(new ProviderResponseError(`the body is larger than ${limit} bytes`), { status: response.status, contentType })
  }
  if (response.body === null) return ''

  const chunks: Uint8Array[] = []
  let size = 0
  const reader = response.body.getReader()
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>
    try {
      chunk = await reader.read()
    } catch (error) {
      throw new ProviderUnavailableError('the connection closed while reading the response', { cause: error })
    }
    if (chunk.done) break
    size += chunk.value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw attachDetails(new ProviderResponseError(`the body is larger than ${limit} bytes`), { status: response.status, contentType })
    }
    chunks.push(chunk.value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function interpret (response: Response, contentType: string, text: string): ProviderResponse {
  const status = response.status
  const facts = { status, contentType, excerpt: redactedExcerpt(text) }

  if (status === 429) {
    const error = attachDetails(new ProviderRateLimitedError(), facts)
    return throwWithRetryAfter(error, parseRetryAfter(response.headers.get('retry-after')) ?? 30)
  }
  if (status >= 500) {
    // The provider responded with a server error: a bad gateway for our clients, not an unreachable one.
    const error = new ProviderUnavailableError(`HTTP ${status}`)
    error.statusCode = 502
    throw attachDetails(error, facts)
  }
  if (status >= 300 && status < 400) {
    throw attachDetails(new ProviderResponseError(`unexpected redirect (HTTP ${status})`), facts)
  }
  if (!isJsonContentType(contentType)) {
    throw attachDetails(new ProviderResponseError(`expected JSON but got "${contentType.split(';')[0] || 'no content type'}" (HTTP ${status})`), facts)
  }
  try {
    return { status, contentType, body: JSON.parse(text) as unknown }
  } catch {
    throw attachDetails(new ProviderResponseError(`malformed JSON (HTTP ${status})`), facts)
  }
}

function throwWithRetryAfter (error: Error, seconds: number): never {
  throw withRetryAfter(error, seconds)
}

function isJsonContentType (contentType: string): boolean {
  const mediaType = contentType.split(';')[0]?.trim() ?? ''
  return mediaType === 'application/json' || mediaType.endsWith('+json')
}

/** Parses Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3); returns seconds, capped at an hour. */
export function parseRetryAfter (value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const trimmed = value.trim()
  const seconds = /^\d+$/.test(trimmed) ? Number(trimmed) : (Date.parse(trimmed) - Date.now()) / 1000
  if (!Number.isFinite(seconds)) return undefined
  return Math.min(3600, Math.max(1, Math.ceil(seconds)))
}

/** Shortens a body for logs and replaces long token-like runs, so an excerpt cannot carry a token. */
export function redactedExcerpt (text: string): string {
  return text
    .slice(0, 400)
    .replace(/[A-Za-z0-9._~+/=-]{16,}/g, '[redacted]')
    .replace(/\s+/g, ' ')
    .slice(0, 200)
}
