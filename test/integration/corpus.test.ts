import { test } from 'tap'
import type { DevProviderFault } from '../../src/dev-provider/index.js'
import { Browser, type BrowserResponse, type RequestOptions } from '../helpers/browser.js'
import { loginAs, startProvider } from '../helpers/app.js'
import { startAppProcess } from '../helpers/app-process.js'
import { seededRandom } from '../helpers/random.js'
import { freePort, startRedis } from '../helpers/redis.js'

/*
 * Bad-input corpus: generated callback queries, cookies, headers and provider responses against
 * a real app process and the development provider. A fixed seed makes failures reproducible:
 * CORPUS_SEED=... npx tap test/integration/corpus.test.ts
 */

const SEED = Number(process.env.CORPUS_SEED ?? 20261204)
const PREFIX = '/auth/mubarokah'

const random = seededRandom(SEED)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
const integer = (max: number): number => Math.floor(random() * max)

const PRINTABLE = ' !#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~"\\'
function printable (length: number): string {
  let text = ''
  for (let index = 0; index < length; index += 1) text += PRINTABLE[integer(PRINTABLE.length)]
  return text
}
function encodedBytes (length: number): string {
  let text = ''
  for (let index = 0; index < length; index += 1) text += `%${integer(256).toString(16).padStart(2, '0')}`
  return text
}
const NASTY = ['', ' ', '%00', '%0d%0aSet-Cookie:%20x=1', '<script>alert(1)</script>', '../../etc/passwd', '%E0%A4%A', '%%', 'null', 'undefined', '[]', '{}', '1e309', '-1', 'access_denied', 'Ωμέγα', '🤖', 'a'.repeat(5000)]
function junkValue (): string {
  switch (integer(4)) {
    case 0: return encodeURIComponent(pick(NASTY))
    case 1: return encodeURIComponent(printable(integer(80)))
    case 2: return encodedBytes(integer(40))
    default: return pick(NASTY)
  }
}

/** Returns the statuses a route may respond with; anything else (500 above all) is a bug. */
function allowedStatuses (method: string, path: string): number[] {
  if (path.startsWith(`${PREFIX}/login`)) return [302, 400, 429, 503]
  if (path.startsWith(`${PREFIX}/callback`)) return [302, 400, 403, 409, 429, 502, 503]
  if (path.startsWith(`${PREFIX}/logout`)) return method === 'POST' ? [200, 303, 400, 403, 413, 415, 503] : [405]
  if (path.startsWith(`${PREFIX}/me`)) return [200, 302, 401, 403, 502, 503]
  return [200, 302, 401, 503]
}

interface Case {
  readonly kind: 'callback query' | 'cookie' | 'header' | 'provider response'
  readonly method: string
  readonly path: string
  readonly response: BrowserResponse
}

test('bad-input corpus: no disallowed status, no crash, bystander untouched', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const port = await freePort()
  const provider = await startProvider([port])
  t.teardown(() => provider.close())
  const app = await startAppProcess({
    provider: { baseUrl: provider.baseUrl },
    port,
    redisUrl: redis.url,
    logLevel: 'warn',
    plugin: { httpTimeoutMs: 300, rateLimit: { loginsPerMinute: 100_000, callbacksPerMinute: 100_000 } }
  })
  t.teardown(() => app.stop())

  const bystander = new Browser()
  await loginAs(bystander, app.url, 'siti')
  const bystanderToken = await bystander.request(`${app.url}/token`, { headers: { accept: 'application/json' } })
  t.equal(bystanderToken.status, 200, 'bystander logged in')

  const cases: Case[] = []
  async function send (kind: Case['kind'], browser: Browser, method: string, path: string, options: RequestOptions = {}): Promise<BrowserResponse> {
    const response = await browser.request(`${app.url}${path}`, { ...options, method })
    cases.push({ kind, method, path: path.split('?')[0] as string, response })
    return response
  }
  async function startedLogin (browser: Browser): Promise<string> {
    const response = await browser.request(`${app.url}${PREFIX}/login`)
    return new URL(response.location as string).searchParams.get('state') as string
  }

  // Callback queries: missing, repeated, oversized and junk parameters, with and without a real state.
  for (let index = 0; index < 320; index += 1) {
    const browser = new Browser({ accept: pick(['text/html', 'application/json']) })
    const state = random() < 0.4 ? await startedLogin(browser) : undefined
    const parameters: string[] = []
    if (state !== undefined && random() < 0.8) parameters.push(`state=${state}`)
    for (let count = integer(4); count > 0; count -= 1) parameters.push(`${pick(['state', 'code', 'error', 'error_description', 'error_uri', 'iss', 'x', printable(5).replace(/[^a-z]/g, 'q')])}=${junkValue()}`)
    if (random() < 0.3) parameters.push(`code=${junkValue()}`)
    await send('callback query', browser, 'GET', `${PREFIX}/callback?${parameters.join('&')}`)
  }

  // Cookies: garbage session and login cookies on every kind of route.
  for (let index = 0; index < 260; index += 1) {
    const browser = new Browser({ accept: pick(['text/html', 'application/json', '*/*']) })
    const value = pick([printable(integer(60)).replace(/[;,\s"\\]/g, ''), 'x'.repeat(integer(3000)), `${printable(30).replace(/[;,\s"\\]/g, '')}.${printable(20).replace(/[;,\s"\\]/g, '')}`, encodedBytes(10)])
    const state = random() < 0.3 ? await startedLogin(browser) : undefined
    browser.setCookie(app.url, pick(['sessionId', 'mubarokah_login']), value)
    const [method, path] = pick<[string, string]>([
      ['GET', '/dashboard'], ['GET', `${PREFIX}/me`], ['GET', `${PREFIX}/me/details`], ['GET', `${PREFIX}/login?returnTo=/x`],
      ['POST', `${PREFIX}/logout`], ['GET', `${PREFIX}/callback?state=${state ?? 'none'}&code=abc`]
    ])
    await send('cookie', browser, method, path)
  }

  // Headers and bodies: Accept, Accept-Language, Origin, content types and bodies on every route.
  for (let index = 0; index < 260; index += 1) {
    const browser = new Browser({ accept: pick(['', 'text/html', 'application/json', '*/*', printable(20).replace(/[\r\n]/g, '')]), acceptLanguage: pick(['', 'id', 'en-US,en;q=0.9', 'xx;q=abc', 'id;q=2', printable(100), 'en;q=-1']) })
    const headers: Record<string, string> = {}
    if (random() < 0.5) headers.origin = pick(['https://evil.example', 'null', app.url, printable(30).replace(/[\r\n]/g, '')])
    if (random() < 0.3) headers['x-forwarded-proto'] = pick(['https', 'http', 'gopher', ''])
    if (random() < 0.3) headers['sec-fetch-site'] = pick(['cross-site', 'same-origin', 'none', printable(8)])
    const route = integer(4)
    if (route === 0) {
      const body = pick([undefined, '{', '{"everywhere":5}', 'everywhere=1&everywhere=2', 'sso=true', `returnTo=${junkValue()}`, 'x'.repeat(6000), '[]', 'null'])
      const contentType = pick(['application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/xml', 'multipart/form-data'])
      await send('header', browser, 'POST', `${PREFIX}/logout`, { headers: { ...headers, ...(body === undefined ? {} : { 'content-type': contentType }) }, ...(body === undefined ? {} : { body }) } as RequestOptions)
    } else if (route === 1) {
      await send('header', browser, pick(['GET', 'PUT', 'DELETE', 'PATCH']), `${PREFIX}/logout`, { headers })
    } else if (route === 2) {
      await send('header', browser, 'GET', `${PREFIX}/login?returnTo=${junkValue()}&scope=${junkValue()}&prompt=${pick(['login', 'consent', 'none', junkValue()])}`, { headers })
    } else {
      await send('header', browser, 'GET', pick(['/dashboard', `${PREFIX}/me`, `${PREFIX}/callback`]), { headers })
    }
  }

  // Provider responses: malformed token and user endpoint responses during real callbacks.
  const fakeTokens = { access_token: 'fake-access-token-value', token_type: 'Bearer', expires_in: 3600, refresh_token: 'fake-refresh-token-value', scope: 'view-user' }
  const BODIES: unknown[] = [
    {}, [], null, 'text', 42, { access_token: 5 }, { access_token: '' }, { ...fakeTokens, token_type: [] }, { ...fakeTokens, expires_in: {} },
    { ...fakeTokens, token_type: 'mac' }, { ...fakeTokens, refresh_token: 7 }, { ...fakeTokens, scope: { a: 1 } }, { error: 'invalid_grant' }, { error: 5 },
    { error: 'invalid_request', hint: 'Token has been revoked' }, { message: 'Server Error' }, { access_token: 'x'.repeat(20_000) }, 'x'.repeat(300 * 1024),
    { id: 'not valid id' }, { id: null }, { id: 1001, name: 5 }, { id: 1001, email: [] }, { id: 1.5 }, { id: 1001, profile_picture: 'x'.repeat(3000) }
  ]
  function providerFault (): DevProviderFault {
    switch (integer(7)) {
      case 0: return { kind: 'json', status: pick([200, 201, 204, 301, 400, 401, 403, 404, 418, 422, 429, 500, 503]), body: pick(BODIES) }
      case 1: return { kind: 'html', status: pick([200, 400, 404, 500, 502, 503]) }
      case 2: return { kind: 'malformed-json' }
      case 3: return { kind: 'status', status: pick([500, 502, 503] as const), body: pick(['json', 'html'] as const) }
      case 4: return { kind: 'rate-limit', retryAfterSeconds: integer(100) }
      case 5: return random() < 0.15 ? { kind: 'hang' } : { kind: 'drop' }
      default: return { kind: 'json', status: 200, body: pick(BODIES) }
    }
  }
  for (let index = 0; index < 320; index += 1) {
    provider.faults.clear()
    if (random() < 0.5) {
      provider.faults.set('token', { ...providerFault(), grant: 'authorization_code' } as DevProviderFault)
    } else {
      provider.faults.set('token', { kind: 'json', status: 200, body: fakeTokens, grant: 'authorization_code' })
      provider.faults.set('user', providerFault())
    }
    const browser = new Browser({ accept: pick(['text/html', 'application/json']) })
    const state = await startedLogin(browser)
    await send('provider response', browser, 'GET', `${PREFIX}/callback?state=${state}&code=${junkValue()}`)
  }
  provider.faults.clear()

  const disallowed = cases.filter((item) => !allowedStatuses(item.method, item.path).includes(item.response.status))
  const leaked = cases.filter((item) => /at [A-Za-z.<>]+ \(|node_modules|ECONNREFUSED|127\.0\.0\.1:\d+|fake-access-token-value|fake-refresh-token-value/.test(item.response.text))
  const statuses: Record<number, number> = {}
  for (const item of cases) statuses[item.response.status] = (statuses[item.response.status] ?? 0) + 1
  console.log(`# corpus seed ${SEED}: ${cases.length} inputs, statuses ${JSON.stringify(statuses)}, disallowed ${disallowed.length}, leaks ${leaked.length}`)

  t.ok(cases.length >= 1000, `${cases.length} inputs`)
  t.same(disallowed.map((item) => `${item.kind}: ${item.method} ${item.path} -> ${item.response.status} ${item.response.text.slice(0, 120)}`), [], '0 responses with a status the design does not allow')
  t.same(leaked.map((item) => `${item.kind}: ${item.method} ${item.path}`), [], 'no stack trace, address or token in any body')
  for (const kind of ['callback query', 'cookie', 'header', 'provider response'] as const) {
    t.ok(cases.filter((item) => item.kind === kind).length >= 200, `${kind} cases`)
  }

  const alive = await bystander.request(`${app.url}/token`, { headers: { accept: 'application/json' } })
  t.equal(alive.status, 200, 'the app process is still running (no crash, no unhandled rejection)')
  t.equal(alive.text, bystanderToken.text, 'the bystander\'s grant was not touched')
})
