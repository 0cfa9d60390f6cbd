import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import Fastify from 'fastify'
import { test } from 'tap'
import fastifyMubarokah, { type MubarokahOptions } from '../src/index.js'
import { TEST_ENCRYPTION_KEY, TEST_SESSION_SECRET } from './helpers/app.js'

const VALID: MubarokahOptions = {
  clientId: 'client',
  clientSecret: 'a-real-looking-secret-value',
  redirectUri: 'https://app.example/auth/mubarokah/callback',
  encryptionKeys: TEST_ENCRYPTION_KEY
}

async function register (options: unknown, setup: { session?: boolean } = {}): Promise<unknown> {
  const app = Fastify({ logger: false })
  await app.register(fastifyCookie)
  if (setup.session !== false) await app.register(fastifySession, { secret: TEST_SESSION_SECRET })
  try {
    await app.register(fastifyMubarokah, options as MubarokahOptions)
    await app.ready()
    return null
  } catch (error) {
    return error
  } finally {
    await app.close()
  }
}

test('valid options register', async (t) => {
  t.equal(await register(VALID), null)
})

test('invalid options are coded errors naming the option and the fix', async (t) => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['missing clientId', { ...VALID, clientId: undefined }, 'FST_MUBAROKAH_OPTION_MISSING', /"clientId" is missing: set it to the client id/],
    ['empty clientSecret', { ...VALID, clientSecret: '' }, 'FST_MUBAROKAH_OPTION_INVALID', /"clientSecret" is invalid/],
    ['relative redirectUri', { ...VALID, redirectUri: '/callback' }, 'FST_MUBAROKAH_OPTION_INVALID', /"redirectUri" is invalid: it must be an absolute http\(s\) URL/],
    ['unknown scope', { ...VALID, scopes: ['admin'] }, 'FST_MUBAROKAH_OPTION_INVALID', /"scopes\.0" is invalid.*view-user, detail-user/],
    ['unknown option', { ...VALID, clientID: 'x' }, 'FST_MUBAROKAH_OPTION_INVALID', /"clientID" is invalid: it is not an option/],
    ['reserved authorization parameter', { ...VALID, authorizationParams: { state: 'x' } }, 'FST_MUBAROKAH_OPTION_INVALID', /"authorizationParams\.state"/],
    ['unknown language', { ...VALID, language: 'fr' }, 'FST_MUBAROKAH_OPTION_INVALID', /"language" is invalid: it is not one of the allowed values; use "auto", "id" or "en"/],
    ['timeout as string', { ...VALID, httpTimeoutMs: '5000' }, 'FST_MUBAROKAH_OPTION_INVALID', /"httpTimeoutMs" is invalid.*milliseconds/],
    ['bad encryption key', { ...VALID, encryptionKeys: 'not-a-key' }, 'FST_MUBAROKAH_OPTION_INVALID', /"encryptionKeys" is invalid.*keygen/],
    ['store without methods', { ...VALID, tokenStore: { getGrant () {} } }, 'FST_MUBAROKAH_OPTION_INVALID', /"tokenStore" is invalid: the object lacks the TokenStore methods createGrant/],
    ['redis store without @fastify/redis', { ...VALID, tokenStore: 'redis' }, 'FST_MUBAROKAH_OPTION_INVALID', /register @fastify\/redis before this plugin/]
  ]
  for (const [name, options, code, message] of cases) {
    const error = await register(options) as { code?: string, message?: string }
    t.equal(error?.code, code, `${name}: code`)
    t.match(error?.message, message, `${name}: message`)
  }
})

test('production rejects unsafe settings', async (t) => {
  const production = { ...VALID, production: true }
  const cases: Array<[string, unknown, RegExp]> = [
    ['no encryption key', { ...production, encryptionKeys: undefined }, /"encryptionKeys" is missing: production needs TOKEN_ENCRYPTION_KEY.*keygen/],
    ['placeholder secret', { ...production, clientSecret: 'dev-secret-change-me' }, /"clientSecret" is invalid: it looks like a placeholder/],
    ['plain HTTP redirect URI', { ...production, redirectUri: 'http://app.example/auth/mubarokah/callback' }, /"redirectUri" is invalid: production needs an https URL/]
  ]
  for (const [name, options, message] of cases) {
    const error = await register(options) as { message?: string }
    t.match(error?.message, message, name)
  }
  t.equal(await register({ ...production, redirectUri: 'http://127.0.0.1:3000/auth/mubarokah/callback' }), null, 'loopback HTTP is allowed')
})

test('registering before @fastify/session fails at boot', async (t) => {
  const error = await register(VALID, { session: false }) as { message?: string }
  t.match(error?.message, /'@fastify\/session' of plugin 'fastify-mubarokah-id' is not registered/)
})

test('decorators exist after registration', async (t) => {
  const app = Fastify({ logger: false })
  await app.register(fastifyCookie)
  await app.register(fastifySession, { secret: TEST_SESSION_SECRET })
  await app.register(fastifyMubarokah, VALID)
  await app.ready()
  t.teardown(() => app.close())
  t.type(app.mubarokah.requireUser, 'function')
  t.type(app.mubarokah.requireScopes('detail-user'), 'function')
  t.type(app.mubarokah.oauth.authorizationUrl, 'function')
  t.ok(app.hasRequestDecorator('mubarokah'))
  t.ok(app.hasRoute({ method: 'GET', url: '/auth/mubarokah/login' }))
  t.ok(app.hasRoute({ method: 'GET', url: '/auth/mubarokah/callback' }))
  t.ok(app.hasRoute({ method: 'POST', url: '/auth/mubarokah/logout' }))
  t.ok(app.hasRoute({ method: 'GET', url: '/auth/mubarokah/me' }))
  t.ok(app.hasRoute({ method: 'GET', url: '/auth/mubarokah/me/details' }))
})
