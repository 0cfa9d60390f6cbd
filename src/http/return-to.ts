const BASE = 'http://return-to.invalid'
const MAX_LENGTH = 2000

/**
 * Returns `value` if it is a same-origin relative path, else `fallback`.
 *
 * Rejected: absolute and scheme-relative URLs (`https://x`, `//x`), backslashes (browsers read
 * `/\x` as `//x`), control characters (header injection through CR LF), and anything that
 * resolves to another origin. The result is re-serialised, so what is stored is what was checked.
 */
export function safeReturnTo (value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return fallback
  if (!value.startsWith('/') || value.startsWith('//')) return fallback
  // eslint-disable-next-line no-control-regex
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return fallback

  let url: URL
  try {
    url = new URL(value, BASE)
  } catch {
    return fallback
  }
  if (url.origin !== BASE) return fallback
  const path = `${url.pathname}${url.search}${url.hash}`
  return path.startsWith('//') ? fallback : path
}
