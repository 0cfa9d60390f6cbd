import { test } from 'tap'
import { Browser } from '../helpers/browser.js'
import { loginAs, startFixture } from '../helpers/app.js'

test('login flow ends on returnTo with the user resolved', async (t) => {
  const { app, provider } = await startFixture(t)
  const browser = new Browser()

  const login = await loginAs(browser, app.url, 'budi', { returnTo: '/dashboard' })
  t.equal(login.final.status, 200)
  t.equal(login.final.url, `${app.url}/dashboard`)
  t.same(JSON.parse(login.final.text), { name: 'Budi Santoso' })
  t.equal(provider.stats.tokenRequests.authorization_code, 1)

  const me = await browser.request(`${app.url}/auth/mubarokah/me`, { headers: { accept: 'application/json' } })
  t.equal(me.status, 200)
  const body = JSON.parse(me.text) as { user: { id: string, email: string | null }, scopes: string[] }
  t.equal(body.user.id, '1001')
  t.same(body.scopes, ['view-user'])
})
