import { spawn, type ChildProcess } from 'node:child_process'
import { stopChild } from './process.js'
import { freePort } from './redis.js'

export interface ExampleProcess {
  readonly url: string
  readonly port: number
  readonly output: string[]
  stop(): Promise<void>
}

/**
 * Runs `example-server.ts` as `npm start` does (node with tsx), on a free port with its own
 * development provider port, and waits until it responds.
 */
export async function startExample (env: Record<string, string> = {}): Promise<ExampleProcess> {
  const port = Number(env.PORT ?? await freePort())
  const providerPort = Number(env.DEV_PROVIDER_PORT ?? await freePort())
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'example-server.ts'], {
    env: { ...process.env, NODE_ENV: 'development', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port), DEV_PROVIDER_PORT: String(providerPort) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const output: string[] = []
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')))
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')))

  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`example exited with ${child.exitCode}: ${output.join('')}`)
    try {
      const response = await fetch(`${url}/`)
      if (response.status === 200) break
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`example did not start: ${output.join('')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }

  return {
    url,
    port,
    output,
    async stop () {
      await stopChild(child)
    }
  }
}
