/*
 * A small cookie-keeping HTTP client that behaves like a browser for the parts the login flow
 * needs: cookies per host (browsers ignore the port), Path and Secure respected, Max-Age and
 * expiry honoured, redirects followed one at a time, and HTML forms submitted.
 */

interface StoredCookie {
  value: string
  path: string
  secure: boolean
  expiresAt: number
}

export interface BrowserResponse {
  readonly status: number
  readonly url: string
  readonly headers: Headers
  readonly text: string
  readonly location: string | null
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string>
  form?: Record<string, string>
  json?: unknown
  /** A raw body, sent with whatever content type `headers` names. */
  body?: string
}

export class Browser {
  readonly #cookies = new Map<string, Map<string, StoredCookie>>()
  readonly #accept: string
  readonly #acceptLanguage: string

  constructor (options: { accept?: string, acceptLanguage?: string } = {}) {
    this.#accept = options.accept ?? 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
    this.#acceptLanguage = options.acceptLanguage ?? 'id-ID,id;q=0.9,en;q=0.8'
  }

  /** Sends one request without following redirects. */
  async request (url: string, options: RequestOptions = {}): Promise<BrowserResponse> {
    const target = new URL(url)
    const headers: Record<string, string> = { ...options.headers }
    if (this.#accept !== '') headers.accept ??= this.#accept
    if (this.#acceptLanguage !== '') headers['accept-language'] ??= this.#acceptLanguage
    const cookie = this.cookieHeader(target)
    if (cookie !== '') headers.cookie = cookie
    let body: string | undefined
    if (options.form !== undefined) {
      body = new URLSearchParams(options.form).toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json)
      headers['content-type'] = 'application/json'
    } else if (options.body !== undefined) {
      body = options.body
    }

    const response = await fetch(target, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' })
    for (const setCookie of response.headers.getSetCookie()) this.storeCookie(target, setCookie)
    const location = response.headers.get('location')
    return {
      status: response.status,
      url: target.toString(),
      headers: response.headers,
      text: await response.text(),
      location: location === null ? null : new URL(location, target).toString()
    }
  }

  /**
   * GETs `url` and follows redirects; returns every response in order. A redirect to a URL for
   * which `stopAt` returns true is not followed.
   */
  async navigate (url: string, stopAt: (url: string) => boolean = () => false): Promise<BrowserResponse[]> {
    const responses: BrowserResponse[] = []
    let next: string | null = url
    while (next !== null) {
      if (responses.length > 10) throw new Error(`more than 10 redirects from ${url}`)
      const response = await this.request(next)
      responses.push(response)
      next = response.status >= 300 && response.status < 400 ? response.location : null
      if (next !== null && stopAt(next)) break
    }
    return responses
  }

  /** Submits the form that contains `button` (or the first form), with `fields` filled in, and follows redirects. */
  async submitForm (page: BrowserResponse, fields: Record<string, string>, button?: { name: string, value: string }, stopAt: (url: string) => boolean = () => false): Promise<BrowserResponse[]> {
    const form = findForm(page.text, button)
    const action = new URL(form.action || page.url, page.url).toString()
    const values = { ...form.fields, ...fields, ...(button === undefined ? {} : { [button.name]: button.value }) }
    const first = await this.request(action, { method: form.method, form: values })
    if (first.status < 300 || first.status >= 400 || first.location === null || stopAt(first.location)) return [first]
    return [first, ...await this.navigate(first.location, stopAt)]
  }

  cookie (url: string, name: string): string | undefined {
    return this.#cookies.get(new URL(url).hostname)?.get(name)?.value
  }

  setCookie (url: string, name: string, value: string): void {
    const host = new URL(url).hostname
    const jar = this.#cookies.get(host) ?? new Map<string, StoredCookie>()
    jar.set(name, { value, path: '/', secure: false, expiresAt: Number.POSITIVE_INFINITY })
    this.#cookies.set(host, jar)
  }

  deleteCookie (url: string, name: string): void {
    this.#cookies.get(new URL(url).hostname)?.delete(name)
  }

  cookieHeader (target: URL): string {
    const jar = this.#cookies.get(target.hostname)
    if (jar === undefined) return ''
    const now = Date.now()
    const pairs: string[] = []
    for (const [name, cookie] of jar) {
      if (cookie.expiresAt <= now) continue
      if (cookie.secure && target.protocol !== 'https:') continue
      if (!pathMatches(target.pathname, cookie.path)) continue
      pairs.push(`${name}=${cookie.value}`)
    }
    return pairs.join('; ')
  }

  storeCookie (origin: URL, header: string): void {
    const [pair = '', ...attributes] = header.split(';')
    const separator = pair.indexOf('=')
    const name = pair.slice(0, separator).trim()
    const value = pair.slice(separator + 1).trim()
    const cookie: StoredCookie = { value, path: '/', secure: false, expiresAt: Number.POSITIVE_INFINITY }
    let defaultPath = origin.pathname.slice(0, origin.pathname.lastIndexOf('/')) || '/'
    for (const attribute of attributes) {
      const [key = '', attributeValue = ''] = attribute.trim().split('=')
      const lower = key.toLowerCase()
      if (lower === 'path') defaultPath = attributeValue
      if (lower === 'secure') cookie.secure = true
      if (lower === 'max-age') cookie.expiresAt = Date.now() + Number(attributeValue) * 1000
      if (lower === 'expires' && !attributes.some((other) => other.trim().toLowerCase().startsWith('max-age'))) cookie.expiresAt = Date.parse(attributeValue)
    }
    cookie.path = defaultPath
    // A browser ignores a Secure cookie set over plain HTTP (RFC 6265bis §5.7).
    if (cookie.secure && origin.protocol !== 'https:') return

    const jar = this.#cookies.get(origin.hostname) ?? new Map<string, StoredCookie>()
    if (cookie.expiresAt <= Date.now()) jar.delete(name)
    else jar.set(name, cookie)
    this.#cookies.set(origin.hostname, jar)
  }
}

function pathMatches (requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  if (!requestPath.startsWith(cookiePath)) return false
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

interface ParsedForm {
  action: string
  method: string
  fields: Record<string, string>
}

function decodeEntities (text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

function attribute (tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}="([^"]*)"`, 'i').exec(tag)
  return match?.[1] === undefined ? undefined : decodeEntities(match[1])
}

export function findForm (html: string, button?: { name: string, value: string }): ParsedForm {
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map((match) => match[0])
  const form = button === undefined
    ? forms[0]
    : forms.find((candidate) => new RegExp(`name="${button.name}"[^>]*value="${button.value}"`).test(candidate))
  if (form === undefined) throw new Error(`no matching form in page: ${html.slice(0, 300)}`)
  const openTag = /<form\b[^>]*>/i.exec(form)?.[0] ?? ''
  const fields: Record<string, string> = {}
  for (const [input] of form.matchAll(/<input\b[^>]*>/gi)) {
    const name = attribute(input, 'name')
    if (name === undefined) continue
    fields[name] = attribute(input, 'value') ?? ''
  }
  return { action: attribute(openTag, 'action') ?? '', method: (attribute(openTag, 'method') ?? 'get').toUpperCase(), fields }
}
