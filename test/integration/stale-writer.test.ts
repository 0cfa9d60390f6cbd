import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { FernetKeyRing, GrantManager, MubarokahOAuthClient, RedisTokenStore } from '../../src/index.js'
import { Browser } from '../helpers/browser.js'
import { CLIENT_SECRET, loginAs, startApp, startProvider, TEST_ENCRYPTION_KEY } from '../helpers/app.js'
import { freePort, startRedis } from '../helpers/redis.js'

const JSON_ACCEPT = { accept: 'application/json' }

/*
 * Instance P stalls while it holds the refresh lock (as in a long GC pause), so its lock expires
 * and instance Q refreshes the same grant. When P finally sends its old refresh token, the
 * provider rejects it; P must not end the grant Q renewed, nor overwrite Q's newer tokens.
 */
test('a stalled instance cannot undo a newer refresh', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const port = await freePort()
  const provider = await startProvider([port], { accessTokenTtlSeconds: 2 })
  t.teardown(() => provider.close())
  const instanceQ = await startApp({ provider, port, redisUrl: redis.url })
  t.teardown(() => instanceQ.close())
  const browser = new Browser()
  await loginAs(browser, instanceQ.url, 'budi')
  const [grantId] = await instanceQ.app.mubarokah.tokens.listUser('1001')

  let releaseP: () => void = () => {}
  const stalled = new Promise<void>((resolve) => { releaseP = resolve })
  const stallingFetch: typeof fetch = async (input, init) => {
    await stalled
    return await fetch(input, init)
  }
  const client = redis.client()
  const keys = FernetKeyRing.parse(TEST_ENCRYPTION_KEY)
  const instanceP = new GrantManager({
    store: new RedisTokenStore(client),
    keys,
    client: new MubarokahOAuthClient({ clientId: 'dev-client', clientSecret: CLIENT_SECRET, redirectUri: `${instanceQ.url}/auth/mubarokah/callback`, baseUrl: provider.baseUrl, clientAuthentication: 'body', defaultTokenLifetimeSeconds: 3600, fetch: stallingFetch, timeoutMs: 5000, sizeLimit: 65536 }),
    log: instanceQ.app.log,
    refreshWindowMs: 300_000,
    grantTtlMs: 86_400_000,
    lockTtlMs: 100,
    refreshWaitMs: 1000
  })

  await sleep(1100)
  const seenByP = await instanceP.load(grantId as string)
  t.ok(seenByP, 'P read the grant')
  const pRefresh = instanceP.refresh(seenByP!, 'window')

  await sleep(200)
  const refreshedByQ = await browser.request(`${instanceQ.url}/token`, { headers: JSON_ACCEPT })
  t.equal(refreshedByQ.status, 200, 'Q refreshed after P\'s lock expired')
  const tokenFromQ = (JSON.parse(refreshedByQ.text) as { accessToken: string }).accessToken

  releaseP()
  const outcome = await pRefresh
  t.equal(provider.stats.refreshRejections, 1, 'the provider rejected P\'s old refresh token')
  t.equal(outcome.kind, 'fresh', 'P takes the grant Q wrote instead of ending it')

  const after = await browser.request(`${instanceQ.url}/token`, { headers: JSON_ACCEPT })
  t.equal(after.status, 200, 'the user is still logged in')
  t.equal((JSON.parse(after.text) as { accessToken: string }).accessToken, tokenFromQ, 'Q\'s tokens were kept')

  await sleep(1100)
  const later = await browser.request(`${instanceQ.url}/token`, { headers: JSON_ACCEPT })
  t.equal(later.status, 200, 'a later refresh uses the rotated refresh token')
  t.equal(provider.stats.refreshSuccesses, 2)
})

test('a stale re-encryption never overwrites a newer grant', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const port = await freePort()
  const provider = await startProvider([port], { accessTokenTtlSeconds: 2 })
  t.teardown(() => provider.close())
  const app = await startApp({ provider, port, redisUrl: redis.url })
  t.teardown(() => app.close())
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const tokens = app.app.mubarokah.tokens
  const [grantId] = await tokens.listUser('1001')

  const stale = await tokens.load(grantId as string)
  await sleep(1100)
  t.equal((await browser.request(`${app.url}/token`, { headers: JSON_ACCEPT })).status, 200, 'refreshed to revision 2')
  const written = await tokens.reencrypt(stale!)
  t.equal(written.revision, stale!.revision, 'the stale write was refused')
  const current = await tokens.load(grantId as string)
  t.equal(current?.revision, 2)
  t.not(current?.accessToken(), stale?.accessToken(), 'the newer tokens are still there')
})
