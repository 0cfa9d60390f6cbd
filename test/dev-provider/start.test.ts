import { Writable } from 'node:stream'
import { test } from 'tap'
import {
  createDevClient,
  DEFAULT_DEV_CLIENT,
  DEMO_USERS,
  DevProviderOptionError,
  startDevProvider,
  type DevProviderOptions
} from '../../src/dev-provider/index.js'
import { authorize, callApi, codeGrantFields, postToken, refreshFields, startProvider, type TokenBody } from './helpers.js'

test('start listens on loopback', async (t) => {
  const provider = await startProvider(t)

  t.match(provider.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
})

test('start rejects production', async (t) => {
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => {
    process.env.NODE_ENV = previous
  })

  await t.rejects(startDevProvider(), { code: 'FST_MUBAROKAH_DEV_PROVIDER_IN_PRODUCTION' })
})

test('start allows production when asked', async (t) => {
  const previous = process.env.NODE_ENV
  process.env.NODE_ENV = 'production'
  t.teardown(() => {
    process.env.NODE_ENV = previous
  })

  const provider = await startProvider(t, { allowInProduction: true })

  t.match(provider.baseUrl, /^http:\/\/127\.0\.0\.1:/)
})

test('start rejects invalid options', async (t) => {
  const cases: Array<[string, DevProviderOptions]> = [
    ['port', { port: 70000 }],
    ['accessTokenTtlSeconds', { accessTokenTtlSeconds: 0 }],
    ['codeTtlSeconds', { codeTtlSeconds: 1.5 }],
    ['clients', { clients: [] }],
    ['clients', { clients: [createDevClient(['http://127.0.0.1:3000/cb#fragment'])] }],
    ['clients', { clients: [createDevClient(['/relative'])] }],
    ['clients', { clients: [createDevClient(['http://a.test/cb']), createDevClient(['http://b.test/cb'])] }],
    ['users', { users: [DEMO_USERS[0]!, { ...DEMO_USERS[1]!, username: 'budi' }] }],
    ['users', { users: [{ ...DEMO_USERS[0]!, details: { ...DEMO_USERS[0]!.details, date_of_birth: '17-08-1990' } }] }]
  ]

  for (const [option, options] of cases) {
    await t.rejects(startDevProvider(options), DevProviderOptionError, option)
    await t.rejects(startDevProvider(options), { message: new RegExp(`option "${option}" is invalid`) }, option)
  }
})

test('close is idempotent', async (t) => {
  const provider = await startDevProvider()

  await provider.close()
  await provider.close()

  await t.rejects(fetch(`${provider.baseUrl}/login`), TypeError)
})

test('default client matches example app', async (t) => {
  t.same(DEFAULT_DEV_CLIENT, {
    clientId: 'dev-client',
    clientSecret: 'dev-secret-change-me',
    redirectUris: ['http://127.0.0.1:3000/auth/mubarokah/callback', 'http://localhost:3000/auth/mubarokah/callback'],
    detailsApproved: true
  })
})

test('createDevClient registers given callback', async (t) => {
  const client = createDevClient(['http://127.0.0.1:4000/cb'], { detailsApproved: false })

  t.same(client, {
    clientId: 'dev-client',
    clientSecret: 'dev-secret-change-me',
    redirectUris: ['http://127.0.0.1:4000/cb'],
    detailsApproved: false
  })
})

test('demo users are budi and siti', async (t) => {
  t.same(DEMO_USERS.map((user) => [user.id, user.username, user.password, user.email === null]), [
    [1001, 'budi', 'demo', false],
    [1002, 'siti', 'demo', true]
  ])
})

test('logger receives no secrets', async (t) => {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString())
      callback()
    }
  })
  const provider = await startProvider(t, { logger: { level: 'trace', stream } })

  const authorization = await authorize(provider)
  const tokens = await (await postToken(provider, codeGrantFields(authorization))).json() as TokenBody
  await callApi(provider, '/api/user', tokens.access_token)
  await postToken(provider, refreshFields(tokens.refresh_token))
  const log = lines.join('')

  t.ok(lines.length > 0, 'the logger was used')
  t.match(log, /"path":"\/oauth\/authorize"/)
  const secrets = [authorization.code, authorization.codeVerifier, tokens.access_token, tokens.refresh_token, 'dev-secret-change-me', 'state-123', authorization.browser.sessionId ?? '']
  for (const secret of secrets) {
    t.notOk(log.includes(secret), `log leaks ${secret.slice(0, 8)}…`)
  }
})
