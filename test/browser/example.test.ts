import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { request as httpRequest } from 'node:http'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { test, type Test } from 'tap'
import { startExample, type ExampleProcess } from '../helpers/example-process.js'
import { freePort, startRedis } from '../helpers/redis.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

async function openBrowser (t: Test): Promise<BrowserContext> {
  t.ok(existsSync(CHROMIUM), `Chromium is installed at ${CHROMIUM} (apt-get install chromium)`)
  const profile = await mkdtemp(join(tmpdir(), 'mubarokah-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    locale: 'id-ID'
  })
  t.teardown(async () => {
    await context.close()
    await rm(profile, { recursive: true, force: true })
  })
  return context
}

/** Logs in by clicking through the example, the provider's login page and its consent page. */
async function clickThroughLogin (t: Test, page: Page, example: ExampleProcess): Promise<void> {
  await page.goto(`${example.url}/`)
  await page.click('#login')
  await page.waitForSelector('input[name="password"]')
  await page.fill('input[name="username"]', 'budi')
  await page.fill('input[name="password"]', 'demo')
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')])
  await page.waitForSelector('button[name="decision"][value="approve"]')
  await Promise.all([page.waitForURL(`${example.url}/dashboard`), page.click('button[name="decision"][value="approve"]')])
  t.equal(await page.textContent('#name'), 'Budi Santoso', 'the dashboard shows the name')
  t.equal(await page.textContent('#email'), 'budi.santoso@example.com', 'and the email')
}

async function runFlow (t: Test, example: ExampleProcess): Promise<void> {
  const context = await openBrowser(t)
  const page = await context.newPage()
  await clickThroughLogin(t, page, example)

  await Promise.all([page.waitForURL(`${example.url}/profile`), page.click('a[href="/profile"]')])
  t.match(await page.textContent('body'), /Profil/, 'the profile page opens')
  await Promise.all([page.waitForSelector('button[name="decision"][value="approve"]'), page.click('#grant-details')])
  await Promise.all([page.waitForURL(`${example.url}/profile`), page.click('button[name="decision"][value="approve"]')])
  t.match(await page.textContent('#details'), /Bio/, 'profile details after granting detail-user')

  await Promise.all([page.waitForURL(`${example.url}/`), page.click('button[name="logout"]')])
  t.equal(new URL(page.url()).pathname, '/', 'logout lands on home')

  const response = await page.goto(`${example.url}/dashboard`)
  const chain: string[] = []
  for (let request = response?.request() ?? null; request !== null; request = request.redirectedFrom()) chain.unshift(request.url())
  t.equal(chain[0], `${example.url}/dashboard`)
  t.match(chain[1], new RegExp(`^${example.url}/auth/mubarokah/login\\?returnTo=%2Fdashboard`), 'the dashboard sends the logged-out browser to login')
}

test('browser logs in, opens the profile and logs out (memory stores)', async (t) => {
  const example = await startExample()
  t.teardown(() => example.stop())
  await runFlow(t, example)
})

test('browser logs in, opens the profile and logs out (Redis stores)', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const example = await startExample({ REDIS_URL: redis.url })
  t.teardown(() => example.stop())
  t.match(example.output.join(''), /Using the Redis session and token stores/)
  await runFlow(t, example)
})

test('the example sends localhost to the redirect URI host and explains port clashes', async (t) => {
  const example = await startExample()
  t.teardown(() => example.stop())
  const location = await new Promise<string | undefined>((resolve, reject) => {
    const request = httpRequest(`${example.url}/dashboard`, { headers: { host: `localhost:${example.port}` } }, (response) => {
      response.resume()
      resolve(response.headers.location)
    })
    request.on('error', reject)
    request.end()
  })
  t.equal(location, `${example.url}/dashboard`, 'localhost is redirected to 127.0.0.1')

  const clash = spawnSync(process.execPath, ['--import', 'tsx', 'example-server.ts'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(example.port), DEV_PROVIDER_PORT: String(await freePort()) },
    encoding: 'utf8',
    timeout: 30_000
  })
  t.equal(clash.status, 1)
  t.match(clash.stderr, new RegExp(`port ${example.port} on 127\\.0\\.0\\.1 is taken; set PORT to a free port`))

  const notProvider = spawnSync(process.execPath, ['--import', 'tsx', 'example-server.ts'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(await freePort()), DEV_PROVIDER_PORT: String(example.port) },
    encoding: 'utf8',
    timeout: 30_000
  })
  t.equal(notProvider.status, 1)
  t.match(notProvider.stderr, /is taken by a program that is not the development provider; set DEV_PROVIDER_PORT/)
})
