/*
 * Example app for fastify-mubarokah-id: home, dashboard, profile with details, logout.
 *
 *   npm install && npm start
 *
 * With no MUBAROKAH_CLIENT_ID set it starts the bundled development provider and uses memory
 * stores, so it runs offline with no configuration. Set the variables of Mubarokah ID's Python
 * integration guide to use the real provider; set REDIS_URL to use the Redis stores, which lets
 * several copies run side by side (same APP_SECRET_KEY and TOKEN_ENCRYPTION_KEY, different PORT).
 */
import { randomBytes } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import fastifyCookie from '@fastify/cookie'
import fastifyRedis from '@fastify/redis'
import fastifySession from '@fastify/session'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import fastifyMubarokah, {
  connectRedis,
  createSessionSigner,
  escapeHtml,
  generateFernetKey,
  MemorySessionStore,
  pickLanguage,
  REDACT_PATHS,
  RedisSessionStore,
  type Language,
  type MubarokahDetails
} from './src/index.js'

const env = process.env
const production = env.NODE_ENV === 'production'
const host = env.HOST ?? '127.0.0.1'
const port = Number(env.PORT ?? 3000)
const KEYGEN_HINT = 'run `npx fastify-mubarokah-id keygen` and put its output in your environment'
const PLACEHOLDER = /change[-_ ]?me|placeholder|^secret$|your[-_ ]/i

/** Exits at once with a message that explains how to fix the configuration. */
function exitWithConfigError (message: string): never {
  console.error(`Configuration error: ${message}`)
  process.exit(1)
}

/** Returns a secret from the environment, or in development an ephemeral one, which is logged as such. */
function secretFromEnv (name: string, generate: () => string, notes: string[]): string {
  const value = env[name]
  if (value !== undefined && value !== '' && !PLACEHOLDER.test(value)) return value
  if (production) exitWithConfigError(`${name} is ${value ? 'a placeholder' : 'missing'}; ${KEYGEN_HINT}`)
  notes.push(`WARNING: ${name} is not set: generated an ephemeral one, so logins end when the server restarts`)
  return generate()
}

/** Reads TRUST_PROXY: unset means off, `true` trusts every proxy, anything else is a list of addresses. */
function trustProxyFromEnv (value: string | undefined): boolean | string {
  if (value === undefined || value === '' || value === 'false') return false
  if (value === 'true') return true
  return value
}

interface ProviderSettings {
  clientId: string
  clientSecret: string
  baseUrl: string
  redirectUri: string
  /** Stops the development provider if this process started it. */
  close?: () => Promise<void>
}

/** Real Mubarokah ID when a client id is configured, else the development provider. */
async function providerSettings (notes: string[]): Promise<ProviderSettings> {
  const redirectUri = env.MUBAROKAH_REDIRECT_URI ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/auth/mubarokah/callback`
  if (env.MUBAROKAH_CLIENT_ID !== undefined && env.MUBAROKAH_CLIENT_ID !== '') {
    const clientSecret = env.MUBAROKAH_CLIENT_SECRET
    if (clientSecret === undefined || clientSecret === '') exitWithConfigError('MUBAROKAH_CLIENT_SECRET is missing; copy it from your Mubarokah ID client')
    return { clientId: env.MUBAROKAH_CLIENT_ID, clientSecret, baseUrl: env.MUBAROKAH_BASE_URL ?? 'https://accounts.mubarokah.com', redirectUri }
  }
  if (production) exitWithConfigError('MUBAROKAH_CLIENT_ID is missing; the development provider never runs in production')

  const { createDevClient, exampleRedirectUris, startDevProvider } = await import('./src/testing.js')
  const providerPort = Number(env.DEV_PROVIDER_PORT ?? 4000)
  const client = createDevClient([...new Set([redirectUri, ...exampleRedirectUris()])])
  try {
    const provider = await startDevProvider({ port: providerPort, clients: [client] })
    notes.push(`Development provider started at ${provider.baseUrl}; log in as budi or siti, password demo`)
    return { clientId: client.clientId, clientSecret: client.clientSecret, baseUrl: provider.baseUrl, redirectUri, close: async () => await provider.close() }
  } catch (error) {
    if ((error as { code?: string }).code !== 'EADDRINUSE') throw error
    // Another copy of this example may already run the development provider on that port: share it.
    const baseUrl = `http://127.0.0.1:${providerPort}`
    if (!await isDevProvider(baseUrl)) {
      exitWithConfigError(`port ${providerPort} is taken by a program that is not the development provider; set DEV_PROVIDER_PORT to a free port`)
    }
    notes.push(`Using the development provider already running at ${baseUrl}`)
    return { clientId: client.clientId, clientSecret: client.clientSecret, baseUrl, redirectUri }
  }
}

/** Tells whether a development provider responds at `baseUrl` (its loopback-only stats route). */
async function isDevProvider (baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/_dev/stats`, { signal: AbortSignal.timeout(2000) })
    const body = await response.json() as { tokenRequests?: unknown }
    return response.ok && typeof body.tokenRequests === 'object'
  } catch {
    return false
  }
}

export async function buildExampleApp (): Promise<{ app: FastifyInstance, notes: string[] }> {
  const notes: string[] = []
  const { close: closeProvider, ...provider } = await providerSettings(notes)
  const sessionSecrets = secretFromEnv('APP_SECRET_KEY', () => randomBytes(48).toString('base64url'), notes).split(',').map((secret) => secret.trim())
  const encryptionKeys = secretFromEnv('TOKEN_ENCRYPTION_KEY', generateFernetKey, notes)

  const app = Fastify({
    logger: { level: env.LOG_LEVEL ?? 'info', redact: [...REDACT_PATHS] },
    trustProxy: trustProxyFromEnv(env.TRUST_PROXY)
  })
  if (closeProvider !== undefined) app.addHook('onClose', closeProvider)
  await app.register(fastifyCookie)

  let sessionStore: MemorySessionStore | RedisSessionStore
  if (env.REDIS_URL !== undefined && env.REDIS_URL !== '') {
    const client = await connectRedis(env.REDIS_URL).catch((error: Error) => exitWithConfigError(error.message))
    await app.register(fastifyRedis, { client, closeClient: true })
    // The local cache serves repeated reads from memory; Redis reports every change to it.
    sessionStore = new RedisSessionStore(app.redis, { localCache: true })
    notes.push('Using the Redis session and token stores, with the local read cache')
  } else {
    const memoryStore = new MemorySessionStore()
    app.addHook('onClose', async () => memoryStore.close())
    sessionStore = memoryStore
    notes.push('Using the memory session and token stores (REDIS_URL is not set)')
  }

  await app.register(fastifySession, {
    // The plugin's signer caches the HMAC checks @fastify/session repeats on every request.
    secret: createSessionSigner(sessionSecrets),
    store: sessionStore,
    // Sessions are saved when they change, and the plugin renews them once a quarter of their
    // lifetime has passed; a request in between writes nothing.
    saveUninitialized: false,
    rolling: false,
    cookie: { secure: production ? true : 'auto', httpOnly: true, sameSite: 'lax', path: '/', maxAge: 30 * 86_400_000 }
  })
  await app.register(fastifyMubarokah, {
    ...provider,
    scopes: ['view-user'],
    // SSO logout ends the user's session in every app, so the host app must opt in; the example offers it as its own button.
    allowSsoLogout: true,
    encryptionKeys,
    tokenStore: env.REDIS_URL ? 'redis' : 'memory',
    redisLocalCache: Boolean(env.REDIS_URL)
  })

  if (env.MUBAROKAH_REDIRECT_URI === undefined) redirectToCallbackHost(app, provider.redirectUri)
  registerPages(app)
  return { app, notes }
}

/**
 * Sends browsers that opened the example under another host name (localhost instead of
 * 127.0.0.1) to the redirect URI's host: cookies are per host name, so a login started on one
 * would end as "login expired" on the other.
 */
function redirectToCallbackHost (app: FastifyInstance, redirectUri: string): void {
  const callback = new URL(redirectUri)
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' || request.host === callback.host) return
    return await reply.redirect(`${callback.origin}${request.url}`, 302)
  })
}

const TEXT = {
  id: {
    title: 'Contoh Mubarokah ID',
    welcome: 'Selamat datang! Masuk untuk melihat dasbor Anda.',
    login: 'Login dengan Mubarokah ID',
    dashboard: 'Dasbor',
    profile: 'Profil',
    logout: 'Keluar',
    logoutSso: 'Keluar dari semua aplikasi Mubarokah ID',
    notFound: 'Halaman tidak ditemukan.',
    home: 'Kembali ke beranda',
    hello: 'Halo',
    email: 'Email',
    noEmail: 'Akun ini tidak memiliki email (mungkin mendaftar lewat WhatsApp).',
    username: 'Nama pengguna',
    details: 'Detail profil',
    bio: 'Bio',
    phone: 'Nomor telepon',
    birthPlace: 'Tempat lahir',
    birthDate: 'Tanggal lahir',
    address: 'Alamat',
    empty: '(kosong)',
    grantDetails: 'Izinkan aplikasi ini melihat detail profil',
    unapproved: 'Detail profil belum disetujui oleh admin Mubarokah ID untuk aplikasi ini.',
    unavailable: 'Detail profil tidak dapat dimuat sekarang. Silakan coba lagi nanti.',
    back: 'Kembali ke dasbor'
  },
  en: {
    title: 'Mubarokah ID example',
    welcome: 'Welcome! Log in to see your dashboard.',
    login: 'Login with Mubarokah ID',
    dashboard: 'Dashboard',
    profile: 'Profile',
    logout: 'Log out',
    logoutSso: 'Log out of every Mubarokah ID app',
    notFound: 'Page not found.',
    home: 'Back to home',
    hello: 'Hello',
    email: 'Email',
    noEmail: 'This account has no email (it may have signed up with WhatsApp).',
    username: 'Username',
    details: 'Profile details',
    bio: 'Bio',
    phone: 'Phone number',
    birthPlace: 'Place of birth',
    birthDate: 'Date of birth',
    address: 'Address',
    empty: '(empty)',
    grantDetails: 'Allow this app to see profile details',
    unapproved: 'Profile details have not been approved for this app by the Mubarokah ID admins yet.',
    unavailable: 'Profile details cannot be loaded right now. Please try again later.',
    back: 'Back to the dashboard'
  }
} as const

type Text = (typeof TEXT)[Language]

function languageOf (request: FastifyRequest): Language {
  return pickLanguage(request.headers['accept-language'], { language: 'auto', defaultLanguage: 'id' })
}

function page (language: Language, body: string): string {
  return `<!doctype html>
<html lang="${language}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${TEXT[language].title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1f2a24}
a,button{color:#0b6b3a;font-weight:600}button{background:none;border:1px solid #0b6b3a;border-radius:6px;padding:.4rem .9rem;cursor:pointer}
img{border-radius:50%;width:64px;height:64px}dt{font-weight:600;margin-top:.5rem}nav{display:flex;gap:1rem;align-items:center;margin-bottom:2rem}</style>
</head><body>${body}</body></html>`
}

function navigation (text: Text): string {
  return `<nav><a href="/dashboard">${text.dashboard}</a><a href="/profile">${text.profile}</a>
<form method="post" action="/auth/mubarokah/logout"><button type="submit" name="logout">${text.logout}</button></form>
<form method="post" action="/auth/mubarokah/logout"><input type="hidden" name="sso" value="1"><button type="submit" name="logout-sso">${text.logoutSso}</button></form></nav>`
}

function field (label: string, value: string | null, text: Text): string {
  return `<dt>${escapeHtml(label)}</dt><dd>${value === null || value === '' ? text.empty : escapeHtml(value)}</dd>`
}

function registerPages (app: FastifyInstance): void {
  app.setNotFoundHandler(async (request, reply) => {
    const language = languageOf(request)
    const text = TEXT[language]
    return await reply.code(404).type('text/html; charset=utf-8').send(page(language, `<h1>404</h1><p>${text.notFound}</p><p><a href="/">${text.home}</a></p>`))
  })

  app.get('/', { preHandler: app.mubarokah.optionalUser }, async (request, reply) => {
    if (request.mubarokah !== null) return await reply.redirect('/dashboard')
    const language = languageOf(request)
    const text = TEXT[language]
    return await reply.type('text/html; charset=utf-8').send(page(language,
      `<h1>${text.title}</h1><p>${text.welcome}</p><p><a id="login" href="/auth/mubarokah/login?returnTo=%2Fdashboard">${text.login}</a></p>`))
  })

  app.get('/dashboard', { preHandler: app.mubarokah.requireUser }, async (request, reply) => {
    const language = languageOf(request)
    const text = TEXT[language]
    const user = request.mubarokah?.user
    if (user === undefined) return await reply.redirect('/')
    const picture = user.profile_picture === null ? '' : `<img src="${escapeHtml(user.profile_picture)}" alt="">`
    const email = user.email === null ? `<p class="note">${text.noEmail}</p>` : `<p>${text.email}: <span id="email">${escapeHtml(user.email)}</span></p>`
    return await reply.type('text/html; charset=utf-8').send(page(language, `${navigation(text)}${picture}
<h1>${text.hello}, <span id="name">${escapeHtml(user.name ?? user.username ?? user.id)}</span></h1>${email}
<p>${text.username}: ${escapeHtml(user.username ?? text.empty)}</p>`))
  })

  app.get('/profile', { preHandler: app.mubarokah.requireUser }, async (request, reply) => await renderProfile(request, reply))
}

async function renderProfile (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const language = languageOf(request)
  const text = TEXT[language]
  const login = request.mubarokah
  if (login === null) return await reply.redirect('/')

  let section: string | null
  if (!login.hasScopes('detail-user')) {
    section = `<p><a id="grant-details" href="/auth/mubarokah/login?scope=detail-user&amp;returnTo=%2Fprofile">${text.grantDetails}</a></p>`
  } else {
    section = await login.details().then((details: MubarokahDetails) => `<dl id="details">
${field(text.bio, details.bio, text)}${field(text.phone, details.phone_number, text)}
${field(text.birthPlace, details.place_of_birth, text)}${field(text.birthDate, details.date_of_birth, text)}
${field(text.address, details.address, text)}</dl>`, (error: { code?: string }): string | null => {
      // A missing approval is a normal state for a new client, not an error page.
      if (error.code === 'FST_MUBAROKAH_UNAPPROVED_SCOPE') return `<p id="unapproved">${text.unapproved}</p>`
      if (error.code === 'FST_MUBAROKAH_INSUFFICIENT_SCOPE') return `<p><a id="grant-details" href="/auth/mubarokah/login?scope=detail-user&amp;returnTo=%2Fprofile">${text.grantDetails}</a></p>`
      if (error.code === 'FST_MUBAROKAH_GRANT_ENDED') return null
      request.log.warn({ event: 'details_unavailable', code: error.code }, 'profile details could not be loaded')
      return `<p id="details-unavailable">${text.unavailable}</p>`
    })
  }
  if (section === null) return await reply.redirect('/auth/mubarokah/login?returnTo=%2Fprofile')
  const user = login.user
  return await reply.type('text/html; charset=utf-8').send(page(language, `${navigation(text)}
<h1>${text.profile}</h1><dl>${field('ID', user.id, text)}${field(text.username, user.username, text)}${field(text.email, user.email, text)}</dl>
<h2>${text.details}</h2>${section}<p><a href="/dashboard">${text.back}</a></p>`))
}

async function main (): Promise<void> {
  const { app, notes } = await buildExampleApp()
  for (const note of notes) {
    if (note.startsWith('WARNING: ')) app.log.warn({ event: 'example_setup' }, note.slice(9))
    else app.log.info({ event: 'example_setup' }, note)
  }
  try {
    await app.listen({ host, port })
  } catch (error) {
    if ((error as { code?: string }).code === 'EADDRINUSE') exitWithConfigError(`port ${port} on ${host} is taken; set PORT to a free port, e.g. PORT=3001 npm start`)
    throw error
  }
  const stop = (): void => { void app.close().then(() => process.exit(0)) }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
