import { Redis, type RedisOptions } from 'ioredis'

/** Thrown at startup when Redis cannot be reached. Carries no password. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError'
  readonly code = 'FST_MUBAROKAH_REDIS_UNREACHABLE'
}

/**
 * ioredis options that bound every wait, so an outage turns into quick 503s instead of
 * requests that hang: no offline queue, one retry per command, a command timeout, and
 * reconnection in the background with a capped delay.
 */
export const RECOMMENDED_REDIS_OPTIONS: Readonly<RedisOptions> = {
  enableOfflineQueue: false,
  // Commands issued in the same tick by concurrent requests share one write to the socket.
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
  commandTimeout: 1000,
  connectTimeout: 2000,
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000)
}

/**
 * Connects to Redis with the recommended options and waits until PING succeeds. Throws
 * RedisUnreachableError with the host and port (never the password) after `timeoutMs`.
 * Pass the client to @fastify/redis as `{ client, closeClient: true }`.
 */
export async function connectRedis (url: string, options: RedisOptions = {}, timeoutMs = 5000): Promise<Redis> {
  const client = new Redis(url, { ...RECOMMENDED_REDIS_OPTIONS, lazyConnect: true, ...options })
  let lastError: unknown
  client.on('error', (error: unknown) => { lastError = error })
  const target = describe(url)
  try {
    await withTimeout(client.connect(), timeoutMs)
    await withTimeout(client.ping(), timeoutMs)
    return client
  } catch (error) {
    client.disconnect()
    const reason = (lastError ?? error) instanceof Error ? ((lastError ?? error) as Error).message : String(lastError ?? error)
    throw new RedisUnreachableError(`Redis at ${target} is unreachable (${reason}); check REDIS_URL and that Redis is running`, { cause: error })
  }
}

function describe (url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || '6379'}`
  } catch {
    return 'the configured address'
  }
}

async function withTimeout<T> (promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
