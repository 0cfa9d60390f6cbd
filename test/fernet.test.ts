import { test } from 'tap'
import {
  FernetError,
  FernetKeyRing,
  fernetDecrypt,
  fernetEncrypt,
  generateFernetKey,
  MAX_TOKEN_BYTES,
  parseFernetKey
} from '../src/tokens/fernet.js'
import { runPython } from './helpers/python.js'

const key = parseFernetKey(generateFernetKey())

/** Decodes a token to bytes, changes them, and encodes it back with padding. */
function tamper (token: string, change: (bytes: Buffer) => Buffer): string {
  const bytes = change(Buffer.from(token, 'base64url'))
  const text = bytes.toString('base64url')
  return text + '='.repeat((4 - (text.length % 4)) % 4)
}

test('fernet round trip', async (t) => {
  for (const plaintext of ['', 'a', 'x'.repeat(15), 'x'.repeat(16), 'x'.repeat(17), 'akses-token ✓ 🔑']) {
    t.equal(fernetDecrypt(key, fernetEncrypt(key, plaintext)).toString('utf8'), plaintext)
  }
})

test('fernet tokens keep = padding', async (t) => {
  const token = fernetEncrypt(key, 'hello')
  t.equal(token.length % 4, 0)
  t.match(token, /^[A-Za-z0-9_-]+=*$/)
})

test('fernet key parsing rejects bad keys', async (t) => {
  t.throws(() => parseFernetKey('short'), FernetError)
  t.throws(() => parseFernetKey(Buffer.alloc(31).toString('base64url') + '='), FernetError)
  t.throws(() => parseFernetKey(generateFernetKey().replace('=', '')), FernetError, 'missing padding')
  t.throws(() => parseFernetKey(generateFernetKey().replace(/^./, '+')), FernetError, 'standard alphabet')
  t.doesNotThrow(() => parseFernetKey(` ${generateFernetKey()} `), 'surrounding spaces are trimmed')
})

test('fernet decrypt rejects malformed tokens', async (t) => {
  const token = fernetEncrypt(key, 'hello')
  const cases: Array<[string, string]> = [
    ['missing padding', token.replace(/=+$/, '')],
    ['extra padding', `${token}====`],
    ['stray character', `${token.slice(0, 10)}!${token.slice(11)}`],
    ['standard base64 alphabet', token.replace(/-/g, '+').replace(/_/g, '/').replace(/^(.{5})./, '$1+')],
    ['whitespace', `${token.slice(0, 8)} ${token.slice(9)}`],
    ['too short', tamper(token, (bytes) => bytes.subarray(0, 60))],
    ['empty', ''],
    ['wrong version byte', tamper(token, (bytes) => { const copy = Buffer.from(bytes); copy[0] = 0x81; return copy })],
    ['ciphertext not whole blocks', tamper(token, (bytes) => Buffer.concat([bytes.subarray(0, 40), bytes.subarray(41)]))],
    ['tampered ciphertext', tamper(token, (bytes) => { const copy = Buffer.from(bytes); copy[30] = (copy[30] as number) ^ 1; return copy })],
    ['tampered MAC', tamper(token, (bytes) => { const copy = Buffer.from(bytes); copy[copy.length - 1] = (copy[copy.length - 1] as number) ^ 1; return copy })],
    ['oversized', 'A'.repeat(Math.ceil(MAX_TOKEN_BYTES / 3) * 4 + 4)]
  ]
  for (const [name, bad] of cases) t.throws(() => fernetDecrypt(key, bad), FernetError, name)
})

test('fernet rejects non-canonical base64', async (t) => {
  const token = fernetEncrypt(key, 'hello')
  // The last character before padding carries unused low bits; setting one must be rejected.
  const body = token.replace(/=+$/, '')
  const padding = token.slice(body.length)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(body.slice(-1))
  const changed = body.slice(0, -1) + (alphabet[last ^ 1] as string) + padding
  t.not(changed, token)
  t.throws(() => fernetDecrypt(key, changed), FernetError)
})

test('fernet decrypt with the wrong key fails the MAC', async (t) => {
  const other = parseFernetKey(generateFernetKey())
  t.throws(() => fernetDecrypt(other, fernetEncrypt(key, 'hello')), { message: /MAC/ })
})

test('fernet ttl rejects old tokens', async (t) => {
  const old = fernetEncrypt(key, 'hello', Math.floor(Date.now() / 1000) - 120)
  t.throws(() => fernetDecrypt(key, old, 60), { message: /expired/ })
  t.equal(fernetDecrypt(key, old, 600).toString(), 'hello')
})

test('key ring encrypts with the first key and decrypts with any', async (t) => {
  const oldKey = generateFernetKey()
  const newKey = generateFernetKey()
  const before = FernetKeyRing.parse(oldKey)
  const rotated = FernetKeyRing.parse(`${newKey},${oldKey}`)

  const written = before.encrypt('token')
  const read = rotated.decrypt(written)
  t.equal(read.plaintext, 'token')
  t.equal(read.keyId, parseFernetKey(oldKey).id, 'reports the old key')
  t.equal(rotated.decrypt(rotated.encrypt('token')).keyId, parseFernetKey(newKey).id)
  t.throws(() => FernetKeyRing.parse(newKey).decrypt(written), { message: /no configured key/ })
  t.throws(() => FernetKeyRing.parse(' , '), FernetError, 'empty list')
})

const PYTHON_INTEROP = `
import json, sys
from cryptography.fernet import Fernet, MultiFernet
data = json.load(sys.stdin)
out = {}
out['from_node'] = Fernet(data['key'].encode()).decrypt(data['node_token'].encode()).decode()
out['python_token'] = Fernet(data['key'].encode()).encrypt(data['python_plaintext'].encode()).decode()
rotating = MultiFernet([Fernet(data['new_key'].encode()), Fernet(data['key'].encode())])
out['multi_from_node_old'] = rotating.decrypt(data['node_token'].encode()).decode()
out['multi_from_node_new'] = rotating.decrypt(data['node_token_new'].encode()).decode()
out['rotated_by_python'] = rotating.rotate(data['node_token'].encode()).decode()
out['python_new_key_token'] = rotating.encrypt(b'made-by-python-with-new-key').decode()
out['python_generated_key'] = Fernet.generate_key().decode()
print(json.dumps(out))
`

test('fernet interop with python cryptography', async (t) => {
  const oldKey = generateFernetKey()
  const newKey = generateFernetKey()
  const node = FernetKeyRing.parse(oldKey)
  const nodeRotated = FernetKeyRing.parse([newKey, oldKey])

  const result = runPython<Record<string, string>>(PYTHON_INTEROP, {
    key: oldKey,
    new_key: newKey,
    node_token: node.encrypt('made-by-node'),
    node_token_new: nodeRotated.encrypt('made-by-node-with-new-key'),
    python_plaintext: 'made-by-python'
  })

  t.equal(result.from_node, 'made-by-node', 'python reads a node token')
  t.equal(node.decrypt(result.python_token as string).plaintext, 'made-by-python', 'node reads a python token')
  t.equal(result.multi_from_node_old, 'made-by-node', 'python MultiFernet reads a node token under the old key')
  t.equal(result.multi_from_node_new, 'made-by-node-with-new-key', 'python MultiFernet reads a node token under the new key')

  const rotatedByPython = FernetKeyRing.parse(newKey).decrypt(result.rotated_by_python as string)
  t.equal(rotatedByPython.plaintext, 'made-by-node', 'python rotation of a node token is readable with the new key alone')
  t.equal(nodeRotated.decrypt(result.python_new_key_token as string).keyId, parseFernetKey(newKey).id)
  t.doesNotThrow(() => parseFernetKey(result.python_generated_key as string), 'a key from Fernet.generate_key() parses')
})
