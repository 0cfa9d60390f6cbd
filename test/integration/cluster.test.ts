import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { loginAs, startApp, startProvider } from '../helpers/app.js'
import { freePort, startRedisCluster } from '../helpers/redis.js'

const JSON_ACCEPT = { accept: 'application/json' }

test('login, single-flight refresh and logout on a Redis Cluster', async (t) => {
  const cluster = await startRedisCluster()
  t.teardown(() => cluster.stop())
  const ports = [await freePort(), await freePort()]
  const provider = await startProvider(ports, { accessTokenTtlSeconds: 2 })
  t.teardown(() => provider.close())
  // The local cache needs a standalone Redis, so the apps log a warning and read from the cluster.
  const apps = await Promise.all(ports.map(async (port) => await startApp({ provider, port, redisCluster: cluster.nodes, localCache: true })))
  for (const app of apps) t.teardown(() => app.close())
  const [first, second] = apps as [typeof apps[0], typeof apps[0]]

  const browser = new Browser()
  const login = await loginAs(browser, first.url, 'budi', { returnTo: '/dashboard' })
  t.equal(login.final.status, 200, 'logged in; the session lives in the cluster')
  t.equal((await browser.request(`${second.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'the other instance reads the same session')

  provider.faults.set('token', { kind: 'latency', ms: 300, grant: 'refresh_token' })
  await sleep(1100)
  const results = await Promise.all(apps.flatMap((app) => Array.from({ length: 10 }, async () => await browser.request(`${app.url}/token`, { headers: JSON_ACCEPT }))))
  t.same(results.map((result) => result.status), Array(20).fill(200))
  t.equal(new Set(results.map((result) => result.text)).size, 1, 'one new token for everyone')
  t.equal(provider.stats.tokenRequests.refresh_token, 1, 'the cluster lock let one refresh through')

  const logout = await browser.request(`${second.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
  t.same(JSON.parse(logout.text), { loggedOut: true, endedGrants: 1 })
  t.equal((await browser.request(`${first.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401)
  for (const app of apps) t.equal(app.logs.events('redis_cache_unavailable').length, 1, 'one warning about the local cache')
})
