import { test } from 'tap'
import type { MubarokahUser } from '../src/index.js'
import { Browser } from './helpers/browser.js'
import { loginAs, startFixture } from './helpers/app.js'

// Declaration merging: a host app adds its own fields to the user type. The type check (tsc)
// fails if the field is not visible on request.mubarokah.user.
declare module '../src/types.js' {
  interface MubarokahUser {
    role?: 'admin' | 'member'
  }
}

test('enrichUser adds typed fields to the user', async (t) => {
  const { app } = await startFixture(t, {
    plugin: { enrichUser: async (profile) => ({ ...profile, role: profile.username === 'budi' ? 'admin' : 'member' }) },
    register: (instance) => {
      instance.get('/role', { preHandler: instance.mubarokah.requireUser }, async (request) => {
        const user: MubarokahUser | undefined = request.mubarokah?.user
        return { role: user?.role ?? null }
      })
    }
  })
  const browser = new Browser()
  await loginAs(browser, app.url, 'budi')
  t.same(JSON.parse((await browser.request(`${app.url}/role`, { headers: { accept: 'application/json' } })).text), { role: 'admin' })
  const me = JSON.parse((await browser.request(`${app.url}/auth/mubarokah/me`, { headers: { accept: 'application/json' } })).text) as { user: { role?: string } }
  t.equal(me.user.role, 'admin', 'GET me returns the added field')
})
