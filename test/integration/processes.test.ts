import { setTimeout as sleep } from 'node:timers/promises'
import { test, type Test } from 'tap'
import type { DevProvider, DevProviderOptions } from '../../src/dev-provider/index.js'
import type { MubarokahOptions } from '../../src/index.js'
import { Browser } from '../helpers/browser.js'
import { loginAs, startProvider } from '../helpers/app.js'
import { startAppProcess, type AppProcess } from '../helpers/app-process.js'
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js'

/*
 * Real processes: each app instance runs in its own Node process, all on one Redis, with the
 * development provider in the test process so its counters can be asserted.
 */

const JSON_ACCEPT = { accept: 'application/json' }

interface Deployment {
  readonly redis: TestRedis
  readonly provider: DevProvider
  readonly apps: AppProcess[]
  readonly browser: Browser
  token(app: AppProcess): Promise<{ status: number, accessToken?: string, code?: string, retryAfter: string | null }>
}

interface DeployOptions {
  readonly count: number
  readonly providerOptions?: DevProviderOptions
  readonly plugin?: Partial<MubarokahOptions>
  /** Serve session and grant reads from each process's Redis read cache. */
  readonly localCache: boolean
}

async function deploy (t: Test, options: DeployOptions): Promise<Deployment> {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const ports = await Promise.all(Array.from({ length: options.count }, async () => await freePort()))
  const provider = await startProvider(ports, options.providerOptions)
  t.teardown(() => provider.close())
  const apps = await Promise.all(ports.map(async (port) => await startAppProcess({ provider: { baseUrl: provider.baseUrl }, port, redisUrl: redis.url, plugin: options.plugin, localCache: options.localCache })))
  for (const app of apps) t.teardown(() => app.stop())

  const browser = new Browser()
  const login = await loginAs(browser, apps[0]?.url as string, 'budi', { returnTo: '/dashboard' })
  t.equal(login.final.status, 200, 'logged in on the first instance')
  return {
    redis,
    provider,
    apps,
    browser,
    async token (app) {
      const response = await browser.request(`${app.url}/token`, { headers: JSON_ACCEPT })
      const body = JSON.parse(response.text) as { accessToken?: string, code?: string }
      return { status: response.status, ...body, retryAfter: response.headers.get('retry-after') }
    }
  }
}

function instance (deployment: Deployment, index: number): AppProcess {
  return deployment.apps[index] as AppProcess
}

/*
 * Every scenario runs twice: reading Redis on each request, and with the Redis read cache, whose
 * copies must never outlive a change made by another process.
 */
for (const localCache of [false, true]) {
  const mode = localCache ? ' (local cache)' : ''

  test(`refresh storm: 60 requests on 3 processes, one refresh${mode}`, async (t) => {
    const deployment = await deploy(t, { localCache, count: 3, providerOptions: { accessTokenTtlSeconds: 2 } })
    const initial = await deployment.token(instance(deployment, 0))
    deployment.provider.faults.set('token', { kind: 'latency', ms: 300, grant: 'refresh_token' })
    await sleep(1100)

    const requests = deployment.apps.flatMap((app) => Array.from({ length: 20 }, async () => await deployment.token(app)))
    const results = await Promise.all(requests)
    t.same(results.map((result) => result.status), Array(60).fill(200), 'all 60 answered 200')
    const tokens = new Set(results.map((result) => result.accessToken))
    t.equal(tokens.size, 1, 'every request used the same token')
    t.not([...tokens][0], initial.accessToken, 'the new token')
    t.equal(deployment.provider.stats.tokenRequests.refresh_token, 1, 'exactly one token-endpoint call')
    t.equal(deployment.provider.stats.maxConcurrentRefreshes, 1)
  })

  test(`rotation across processes: the rotated refresh token is used next${mode}`, async (t) => {
    const deployment = await deploy(t, { localCache, count: 3, providerOptions: { accessTokenTtlSeconds: 2 } })
    t.equal((await deployment.token(instance(deployment, 1))).status, 200, 'B has read the grant before A refreshes it')
    await sleep(1100)
    const refreshedOnA = await deployment.token(instance(deployment, 0))
    t.equal(deployment.provider.stats.tokenRequests.refresh_token, 1)
    const onB = await deployment.token(instance(deployment, 1))
    t.equal(onB.accessToken, refreshedOnA.accessToken, 'B uses the token A stored')
    t.equal(deployment.provider.stats.tokenRequests.refresh_token, 1, 'B did not refresh again')

    await sleep(1100)
    const onC = await deployment.token(instance(deployment, 2))
    t.equal(onC.status, 200, 'C refreshes with the rotated refresh token')
    t.equal(deployment.provider.stats.refreshSuccesses, 2)
    t.equal(deployment.provider.stats.refreshRejections, 0, 'a revoked refresh token was never sent')
  })

  test(`transient failure across processes: backoff is shared and nobody is logged out${mode}`, async (t) => {
    const deployment = await deploy(t, { localCache, count: 3, providerOptions: { accessTokenTtlSeconds: 2 } })
    const initial = await deployment.token(instance(deployment, 0))
    deployment.provider.faults.set('token', { kind: 'status', status: 500, grant: 'refresh_token' })
    await sleep(1100)

    for (const app of deployment.apps) {
      const served = await deployment.token(app)
      t.equal(served.status, 200, 'served while the access token is valid')
      t.equal(served.accessToken, initial.accessToken)
    }
    t.equal(deployment.provider.stats.tokenRequests.refresh_token, 1, 'the other processes backed off too')

    await sleep(1000)
    for (const app of deployment.apps) {
      const expired = await deployment.token(app)
      t.equal(expired.status, 503)
      t.ok(Number(expired.retryAfter) >= 1)
    }

    deployment.provider.faults.clear()
    await sleep(2100)
    const recovered = await deployment.token(instance(deployment, 2))
    t.equal(recovered.status, 200, 'recovered without a new login')
    t.equal(deployment.provider.stats.refreshSuccesses, 1)
  })

  test(`a lock holder that dies mid-refresh: another process refreshes after the lock expires${mode}`, async (t) => {
    // 10-second tokens: the window opens after 5 s. httpTimeoutMs 1000 gives a 6 s lock and a 3 s wait.
    const deployment = await deploy(t, { localCache, count: 2, providerOptions: { accessTokenTtlSeconds: 10 }, plugin: { httpTimeoutMs: 1000 } })
    const initial = await deployment.token(instance(deployment, 1))
    deployment.provider.faults.set('token', { kind: 'latency', ms: 3000, grant: 'refresh_token', times: 1 })
    await sleep(5100)

    const dying = deployment.token(instance(deployment, 0)).catch(() => null)
    for (let waited = 0; deployment.provider.stats.activeRefreshes === 0 && waited < 2000; waited += 20) await sleep(20)
    t.equal(deployment.provider.stats.activeRefreshes, 1, 'the first process is refreshing')
    instance(deployment, 0).signal('SIGKILL')
    await dying

    const whileLocked = await deployment.token(instance(deployment, 1))
    t.equal(whileLocked.status, 200, 'served with the current token while the dead holder\'s lock lasts')
    t.equal(whileLocked.accessToken, initial.accessToken)

    await sleep(3500)
    const after = await deployment.token(instance(deployment, 1))
    t.equal(after.status, 200, 'refreshed once the lock expired')
    t.not(after.accessToken, initial.accessToken)
    t.equal(deployment.provider.stats.refreshSuccesses, 1, 'the dead process never completed its refresh')
    t.equal(deployment.provider.stats.maxConcurrentRefreshes, 1, 'two refreshes never overlapped')
    t.equal(deployment.provider.stats.refreshRejections, 0)
  })

  test(`logout during an in-flight refresh on another process leaves no tokens${mode}`, async (t) => {
    const deployment = await deploy(t, { localCache, count: 2, providerOptions: { accessTokenTtlSeconds: 2 } })
    deployment.provider.faults.set('token', { kind: 'latency', ms: 500, grant: 'refresh_token' })
    await sleep(1100)

    const refreshing = deployment.token(instance(deployment, 0))
    await sleep(150)
    const logout = await deployment.browser.request(`${instance(deployment, 1).url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
    t.equal(logout.status, 200)
    const result = await refreshing
    t.equal(result.status, 401, 'the refreshing request ends logged out')
    t.equal(deployment.provider.stats.refreshSuccesses, 1, 'the provider did refresh')

    const client = deployment.redis.client()
    const grantKeys = (await client.keys('mubarokah:{g:*')).filter((key) => !key.endsWith(':grants'))
    t.same(grantKeys, [], 'no grant was written back')
    t.same(await client.keys('mubarokah:{u:*'), [], 'no user index entry either')
  })

  test(`logout on one process ends the session on the others at once${mode}`, async (t) => {
    const deployment = await deploy(t, { localCache, count: 2 })
    const [first, second] = [instance(deployment, 0), instance(deployment, 1)]
    for (let round = 0; round < 5; round += 1) {
      const browser = new Browser()
      t.equal((await loginAs(browser, first.url, 'budi', { returnTo: '/dashboard' })).final.status, 200)
      const cookie = `sessionId=${browser.cookie(first.url, 'sessionId') as string}`
      for (let read = 0; read < 3; read += 1) {
        t.equal((await fetch(`${second.url}/dashboard`, { headers: { ...JSON_ACCEPT, cookie } })).status, 200, 'the other process knows the session')
      }
      const logout = await browser.request(`${first.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
      t.equal(logout.status, 200)
      const replay = await fetch(`${second.url}/dashboard`, { headers: { ...JSON_ACCEPT, cookie } })
      t.equal(replay.status, 401, 'the old cookie is refused by the other process right after the logout')
    }
  })
}
