import { Signer } from '@fastify/cookie'
import { test } from 'tap'
import { createSessionSigner } from '../src/index.js'

const SECRET = 'a-session-secret-of-at-least-32-characters'
const OLD = 'an-older-session-secret-of-32-characters!'

test('session signer matches the cookie signer', async (t) => {
  const signer = createSessionSigner(SECRET)
  const reference = new Signer(SECRET)
  t.equal(signer.sign('abc'), reference.sign('abc'))
  t.equal(signer.sign('abc'), reference.sign('abc'), 'cached result is the same')
  t.same(signer.unsign(reference.sign('abc')), { valid: true, renew: false, value: 'abc' })
  t.same(signer.unsign(reference.sign('abc')), { valid: true, renew: false, value: 'abc' }, 'cached verification')
  t.equal(signer.unsign('abc.forged').valid, false)
  t.equal(signer.unsign('abc.forged').valid, false, 'invalid results are not cached as valid')
})

test('session signer rotates keys', async (t) => {
  const old = createSessionSigner(OLD)
  const rotated = createSessionSigner(`${SECRET},${OLD}`)
  const result = rotated.unsign(old.sign('id'))
  t.equal(result.valid, true)
  t.equal(result.renew, true, 'signed with an older secret')
  t.equal(rotated.sign('id'), createSessionSigner(SECRET).sign('id'), 'the first secret signs')
})

test('session signer rejects missing and weak secrets with a clear message', async (t) => {
  for (const secrets of [undefined, '', ' , ', 'short', [SECRET, 'short']]) {
    t.throws(() => createSessionSigner(secrets as never), { message: /at least 32 characters \(APP_SECRET_KEY.*keygen/ }, JSON.stringify(secrets))
  }
})

test('session signer cache stays bounded', async (t) => {
  const signer = createSessionSigner(SECRET, 10)
  const reference = new Signer(SECRET)
  for (let index = 0; index < 100; index += 1) t.equal(signer.unsign(reference.sign(`id${index}`)).value, `id${index}`)
  t.equal(signer.unsign(reference.sign('id0')).value, 'id0', 'an evicted entry is verified again')
})
