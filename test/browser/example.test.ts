import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { test, type Test } from 'tap'
import { startExample, type ExampleProcess } from '../helpers/example-process.js'
import { startRedis } from '../helpers/redis.js'

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
