import { test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { loginAs, startFixture } from '../helpers/app.js'

const JSON_ACCEPT = { accept: 'application/json' }

test('logout ends the grant and the session', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const oldCookie = browser.cookie(app.url, 'sessionId') as string

  const response = await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
  t.equal(response.status, 200)
  t.same(JSON.parse(response.text), { loggedOut: true, endedGrants: 1 })
  t.match(response.headers.getSetCookie().join('\n'), /sessionId=;/, 'cookie cleared')
  t.same(await app.app.mubarokah.tokens.listUser('1001'), [])

  const replay = new Browser()
  replay.setCookie(app.url, 'sessionId', oldCookie)
  const replayed = await replay.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })
  t.equal(replayed.status, 401, 'a replayed old cookie gets 401')
})

test('the next login after logout asks for the password again', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: { ...JSON_ACCEPT, origin: app.url } })

  const afterLogout = await browser.request(`${app.url}/auth/mubarokah/login`)
  t.equal(new URL(afterLogout.location as string).searchParams.get('prompt'), 'login', 'prompt=login after a logout')
  const page = await browser.navigate(afterLogout.location as string)
  t.match(page[page.length - 1]?.text, /name="password"/, 'the provider shows its login form although its session is alive')
  t.equal(provider.activeSessionCount(1001), 1)

  const later = await browser.request(`${app.url}/auth/mubarokah/login`)
  t.equal(new URL(later.location as string).searchParams.get('prompt'), null, 'only once')
})

test('logout from a form redirects browsers', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const response = await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', form: { returnTo: '/bye' }, headers: { origin: app.url } })
  t.equal(response.status, 303)
  t.equal(response.location, `${app.url}/bye`)
})

test('logout on one device keeps the other', async (t) => {
  const { app } = await startFixture(t)
  const laptop = new Browser()
  const phone = new Browser()
  await loginAs(laptop, app.url, 'budi')
  await loginAs(phone, app.url, 'budi')
  t.equal((await app.app.mubarokah.tokens.listUser('1001')).length, 2, 'one grant per device')

  await laptop.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: JSON_ACCEPT })
  t.equal((await laptop.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401)
  t.equal((await phone.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'the phone is still logged in')
})

test('logout everywhere ends every device', async (t) => {
  const { app } = await startFixture(t)
  const laptop = new Browser()
  const phone = new Browser()
  await loginAs(laptop, app.url, 'budi')
  await loginAs(phone, app.url, 'budi')

  const response = await laptop.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', json: { everywhere: true }, headers: JSON_ACCEPT })
  t.same(JSON.parse(response.text), { loggedOut: true, endedGrants: 2 })
  t.equal((await phone.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401)
})

test('logout rejects a cross-site origin', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')

  const crossOrigin = await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: { ...JSON_ACCEPT, origin: 'https://evil.example' } })
  t.equal(crossOrigin.status, 403)
  t.equal(JSON.parse(crossOrigin.text).code, 'FST_MUBAROKAH_ORIGIN_REJECTED')
  const crossSite = await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', headers: { ...JSON_ACCEPT, 'sec-fetch-site': 'cross-site' } })
  t.equal(crossSite.status, 403)
  t.equal((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200, 'still logged in')
})

test('logout accepts only POST', async (t) => {
  const { app } = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const response = await browser.request(`${app.url}/auth/mubarokah/logout`, { headers: JSON_ACCEPT })
  t.equal(response.status, 405)
  t.equal(response.headers.get('allow'), 'POST')
  t.equal(JSON.parse(response.text).code, 'FST_MUBAROKAH_METHOD_NOT_ALLOWED')
  t.equal((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 200)
})

test('SSO logout is opt-in', async (t) => {
  const off = await startFixture(t)
  const browser = new Browser()
  await loginAs(browser, off.app.url, 'budi')
  await browser.request(`${off.app.url}/auth/mubarokah/logout`, { method: 'POST', json: { sso: true }, headers: JSON_ACCEPT })
  t.equal(off.provider.stats.logoutRequests, 0, 'not called unless allowed')

  const on = await startFixture(t, { plugin: { allowSsoLogout: true } })
  const other = new Browser()
  await loginAs(other, on.app.url, 'budi')
  t.equal(on.provider.activeSessionCount(1001), 1)
  await other.request(`${on.app.url}/auth/mubarokah/logout`, { method: 'POST', json: { sso: true }, headers: JSON_ACCEPT })
  t.equal(on.provider.stats.logoutRequests, 1)
  t.equal(on.provider.activeSessionCount(1001), 0, 'the provider session ended')
})

test('SSO logout failure still logs out locally', async (t) => {
  const { app, provider } = await startFixture(t, { plugin: { allowSsoLogout: true } })
  provider.faults.set('logout', { kind: 'status', status: 500 })
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  const response = await browser.request(`${app.url}/auth/mubarokah/logout`, { method: 'POST', json: { sso: true }, headers: JSON_ACCEPT })
  t.equal(response.status, 200)
  t.equal(app.logs.events('sso_logout_failed').length, 1)
  t.equal((await browser.request(`${app.url}/dashboard`, { headers: JSON_ACCEPT })).status, 401)
})
