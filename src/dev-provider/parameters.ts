/**
 * OAuth request parameters from a query string or a form body. RFC 6749 §3.1 treats a parameter
 * sent without a value as omitted and forbids sending a parameter more than once, so empty values
 * are dropped and repeated names are recorded for the caller to reject.
 */
export class RequestParameters {
  readonly #values = new Map<string, string>()
  readonly #repeated: string[] = []

  constructor (encoded: string) {
    for (const [name, value] of new URLSearchParams(encoded)) {
      if (value === '') continue
      if (this.#values.has(name)) {
        this.#repeated.push(name)
      } else {
        this.#values.set(name, value)
      }
    }
  }

  /** Parses the query string of a request URL such as `/oauth/authorize?client_id=x`. */
  static fromUrl (url: string): RequestParameters {
    const start = url.indexOf('?')
    return new RequestParameters(start === -1 ? '' : url.slice(start + 1))
  }

  get (name: string): string | undefined {
    return this.#values.get(name)
  }

  has (name: string): boolean {
    return this.#values.has(name)
  }

  isRepeated (name: string): boolean {
    return this.#repeated.includes(name)
  }

  /** Name of the first parameter sent more than once, if any. */
  get firstRepeated (): string | undefined {
    return this.#repeated[0]
  }
}

/** Splits a space-delimited parameter such as `scope` (RFC 6749 §3.3) or `prompt` into unique values. */
export function splitSpaceDelimited (value: string | undefined): string[] {
  if (value === undefined) return []
  return [...new Set(value.split(' ').filter((item) => item !== ''))]
}

/** Scopes Mubarokah ID defines: the basic profile and the profile details. */
export const KNOWN_SCOPES: readonly string[] = ['view-user', 'detail-user']

export function findUnknownScope (scopes: readonly string[]): string | undefined {
  return scopes.find((scope) => !KNOWN_SCOPES.includes(scope))
}
