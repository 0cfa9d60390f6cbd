import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis, type RedisOptions } from 'ioredis'

/*
 * A throwaway redis-server per test file: random free port on 127.0.0.1, no persistence,
 * stopped (by its own PID) in teardown. Tests never touch a Redis they did not start.
 */

export interface TestRedis {
  readonly port: number
  readonly url: string
  /** A new client; closed by `stop`. */
  client(options?: RedisOptions): Redis
  /** Stops the server without closing clients, for outage tests. Data is lost unless `save` ran first. */
  kill(): Promise<void>
  /** Writes a snapshot (SAVE) into the server's directory, so that `restart` loads the data again. */
  save(): Promise<void>
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open and commands hang. */
  pause(): void
  resume(): void
  /** Starts the server again on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Finds a free TCP port on loopback by binding port 0 and releasing it. */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port assigned')
  return address.port
}

const launched = new Set<ChildProcess>()

// tap ends a test process that timed out with SIGTERM, which skips 'exit' handlers: stop the servers first.
process.once('SIGTERM', () => {
  for (const child of launched) child.kill('SIGKILL')
  process.exit(143)
})

/**
 * Starts redis-server without holding the test process open; it is killed when the test
 * process exits, even if a teardown never ran.
 */
function launch (port: number, extraArgs: string[] = []): ChildProcess {
  const child = spawn('redis-server', [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--protected-mode', 'yes',
    ...extraArgs
  ], { stdio: 'ignore' })
  child.unref()
  launched.add(child)
  const killOnExit = (): void => { child.kill('SIGKILL') }
  process.once('exit', killOnExit)
  child.once('exit', () => {
    launched.delete(child)
    process.removeListener('exit', killOnExit)
  })
  return child
}

export async function waitForRedis (port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
    probe.on('error', () => {})
    try {
      await probe.connect()
      await probe.ping()
      probe.disconnect()
      return
    } catch {
      probe.disconnect()
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

async function stopProcess (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  // An unreferenced child does not keep the event loop alive, so waiting for its exit could end the process.
  child.ref()
  child.kill('SIGCONT')
  child.kill('SIGKILL')
  await exited
}

export async function startRedis (extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort()
  // Its own empty folder, so a snapshot never lands in the working directory to be loaded by the next server.
  const directory = await mkdtemp(join(tmpdir(), 'mubarokah-redis-'))
  const args = ['--dir', directory, ...extraArgs]
  let child = launch(port, args)
  await waitForRedis(port)
  const clients: Redis[] = []

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client (options: RedisOptions = {}) {
      const redis = new Redis({ port, host: '127.0.0.1', ...options })
      redis.on('error', () => {})
      clients.push(redis)
      return redis
    },
    async kill () {
      await stopProcess(child)
    },
    async save () {
      const admin = new Redis({ port, host: '127.0.0.1' })
      await admin.save()
      admin.disconnect()
    },
    pause () {
      child.kill('SIGSTOP')
    },
    resume () {
      child.kill('SIGCONT')
    },
    async restart () {
      child = launch(port, args)
      await waitForRedis(port)
    },
    async stop () {
      for (const redis of clients) redis.disconnect()
      await stopProcess(child)
      await rm(directory, { recursive: true, force: true })
    }
  }
}

export interface TestRedisCluster {
  readonly nodes: ReadonlyArray<{ host: string, port: number }>
  /** A new cluster client; closed by `stop`. */
  client(): Cluster
  stop(): Promise<void>
}

/**
 * Starts a throwaway Redis Cluster of three masters on loopback (no replicas, no persistence), created
 * with `redis-cli --cluster create`. Cluster state files go to a temporary folder.
 */
export async function startRedisCluster (): Promise<TestRedisCluster> {
  const directory = await mkdtemp(join(tmpdir(), 'mubarokah-cluster-'))
  const ports = [await freePort(), await freePort(), await freePort()]
  const children = ports.map((port) => launch(port, [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', join(directory, `nodes-${port}.conf`),
    '--dir', directory
  ]))
  await Promise.all(ports.map(async (port) => await waitForRedis(port)))

  const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 })
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout} ${create.stderr}`)
  await waitForClusterOk(ports)

  const clients: Cluster[] = []
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    client () {
      const cluster = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), {
        enableOfflineQueue: true,
        redisOptions: { commandTimeout: 2000 }
      })
      cluster.on('error', () => {})
      clients.push(cluster)
      return cluster
    },
    async stop () {
      for (const cluster of clients) cluster.disconnect()
      await Promise.all(children.map(async (child) => await stopProcess(child)))
      await rm(directory, { recursive: true, force: true })
    }
  }
}

async function waitForClusterOk (ports: number[]): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const states = ports.map((port) => spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' }).stdout)
    if (states.every((state) => state.includes('cluster_state:ok'))) return
    if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok: ${states.join(' | ')}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Returns every string stored in Redis: keys, string values, hash fields and values, set and sorted set members. */
export async function allRedisText (client: Redis): Promise<string> {
  const parts: string[] = []
  for (const key of await client.keys('*')) {
    parts.push(key)
    const type = await client.type(key)
    if (type === 'string') parts.push(await client.get(key) ?? '')
    if (type === 'hash') parts.push(...Object.entries(await client.hgetall(key)).flat())
    if (type === 'set') parts.push(...await client.smembers(key))
    if (type === 'zset') parts.push(...await client.zrange(key, 0, -1))
  }
  return parts.join('\n')
}

/** Returns how many times the server has run each command, from INFO commandstats (lower-case names). */
export async function commandCounts (client: Redis): Promise<Record<string, number>> {
  const info = await client.info('commandstats')
  const counts: Record<string, number> = {}
  for (const match of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) counts[match[1] as string] = Number(match[2])
  return counts
}
