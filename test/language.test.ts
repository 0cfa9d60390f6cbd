import { test } from 'tap'
import { ERROR_MESSAGES, LABELS } from '../src/http/messages.js'
import { pickLanguage } from '../src/http/respond.js'
import * as errors from '../src/errors.js'

const auto = { language: 'auto', defaultLanguage: 'id' } as const

test('language follows Accept-Language quality', async (t) => {
  t.equal(pickLanguage('en-US,en;q=0.9', auto), 'en')
  t.equal(pickLanguage('id-ID,id;q=0.9,en;q=0.8', auto), 'id')
  t.equal(pickLanguage('en;q=0.5,id;q=0.8', auto), 'id')
  t.equal(pickLanguage('in', auto), 'id', 'old code for Indonesian')
  t.equal(pickLanguage('fr-FR', auto), 'id', 'falls back to the default')
  t.equal(pickLanguage(undefined, { language: 'auto', defaultLanguage: 'en' }), 'en')
  t.equal(pickLanguage('en;q=0', auto), 'id', 'q=0 means not acceptable')
})

test('language option overrides Accept-Language', async (t) => {
  t.equal(pickLanguage('en-US', { language: 'id', defaultLanguage: 'en' }), 'id')
})

test('every error code has both languages', async (t) => {
  const constructed = Object.entries(errors)
    .filter(([name, value]) => name.endsWith('Error') && typeof value === 'function' && name !== 'isMubarokahError')
    .map(([, value]) => (new (value as new (...args: unknown[]) => { code: string })('x', 'y')).code)
  t.ok(constructed.length > 20, 'found the error table')
  for (const code of constructed) {
    if (code.startsWith('FST_MUBAROKAH_OPTION_')) continue
    const message = ERROR_MESSAGES[code]
    t.ok(message, `${code} has messages`)
    t.ok(message?.id.title && message.id.body, `${code} in Bahasa Indonesia`)
    t.ok(message?.en.title && message.en.body, `${code} in English`)
  }
  t.same(Object.keys(LABELS.id), Object.keys(LABELS.en))
})
