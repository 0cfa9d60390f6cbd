import { test } from 'tap'
import { safeReturnTo } from '../src/http/return-to.js'

test('returnTo keeps same-origin paths', async (t) => {
  t.equal(safeReturnTo('/settings?tab=1', '/'), '/settings?tab=1')
  t.equal(safeReturnTo('/a/b#section', '/'), '/a/b#section')
  t.equal(safeReturnTo('/', '/home'), '/')
  t.equal(safeReturnTo('/a/../b', '/'), '/b', 'dot segments are resolved before storing')
})

test('returnTo rejects other origins and injections', async (t) => {
  const rejected = [
    'https://evil.example/',
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'javascript:alert(1)',
    '/ok\r\nSet-Cookie:x=1',
    '/ok\nx',
    '/\tevil',
    'evil.example',
    '',
    '/'.padEnd(2001, 'a'),
    '/%2F/evil.example/..//x'
  ]
  for (const value of rejected) {
    const result = safeReturnTo(value, '/')
    const resolved = new URL(result, 'https://app.example')
    t.equal(resolved.origin, 'https://app.example', `stays on this origin: ${JSON.stringify(value)}`)
    t.notOk(result.startsWith('//'), `not scheme-relative: ${JSON.stringify(value)}`)
  }
  t.equal(safeReturnTo('https://evil.example/', '/'), '/')
  t.equal(safeReturnTo('//evil.example', '/'), '/')
  t.equal(safeReturnTo('/\\evil.example', '/'), '/')
  t.equal(safeReturnTo('javascript:alert(1)', '/'), '/')
  t.equal(safeReturnTo('/ok\r\nSet-Cookie:x=1', '/'), '/')
  t.equal(safeReturnTo(['/a'], '/'), '/', 'non-string input')
  t.equal(safeReturnTo(undefined, '/fallback'), '/fallback')
})
