import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { test } from 'tap'

/*
 * What ships: the build output behind the package's exports. `npm install` builds dist/
 * (the prepare script); these tests import the package by its own name, as a host app does.
 */

function importByName (code: string): { status: number | null, stdout: string, stderr: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

test('the package exports resolve to the build with types', async (t) => {
  for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/testing.js', 'dist/testing.d.ts', 'dist/cli.js']) {
    t.ok(existsSync(file), `${file} exists (run npm run build)`)
  }
  const main = importByName("const m = await import('fastify-mubarokah-id'); console.log(typeof m.default, typeof m.fastifyMubarokah, typeof m.createSessionSigner, typeof m.RedisSessionStore)")
  t.equal(main.status, 0, main.stderr)
  t.equal(main.stdout.trim(), 'function function function function')
  const testing = importByName("const m = await import('fastify-mubarokah-id/testing'); console.log(typeof m.startDevProvider, m.DEMO_USERS.map((user) => user.username).join(','))")
  t.equal(testing.status, 0, testing.stderr)
  t.equal(testing.stdout.trim(), 'function budi,siti')
})

test('the package metadata declares the plugin contract', async (t) => {
  const main = importByName("const m = await import('fastify-mubarokah-id'); const meta = m.default[Symbol.for('plugin-meta')]; console.log(JSON.stringify(meta))")
  t.equal(main.status, 0, main.stderr)
  const meta = JSON.parse(main.stdout) as { fastify: string, name: string, dependencies: string[] }
  t.equal(meta.fastify, '5.x')
  t.equal(meta.name, 'fastify-mubarokah-id')
  t.same(meta.dependencies, ['@fastify/cookie', '@fastify/session'])
})
