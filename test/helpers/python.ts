import { spawnSync } from 'node:child_process'

/*
 * Runs Python's `cryptography` (the reference Fernet implementation) for interop tests.
 * Tries $PYTHON, then python3 on PATH, then Debian's /usr/bin/python3.
 */

let found: string | null | undefined

/** Returns the first Python that can import `cryptography`, or null. */
export function pythonWithCryptography (): string | null {
  if (found !== undefined) return found
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((candidate): candidate is string => candidate !== undefined && candidate !== '')
  found = candidates.find((python) => spawnSync(python, ['-c', 'import cryptography.fernet'], { stdio: 'ignore' }).status === 0) ?? null
  return found
}

/** Runs `script` with `input` as JSON on stdin and returns its stdout parsed as JSON. */
export function runPython<T> (script: string, input: unknown): T {
  const python = pythonWithCryptography()
  if (python === null) throw new Error('no python3 with the cryptography package (Debian: apt-get install python3-cryptography)')
  const result = spawnSync(python, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', timeout: 20_000 })
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as T
}
