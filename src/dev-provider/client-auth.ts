import type { ProviderContext } from './context.js'
import { invalidClient, tokenError, type TokenEndpointResponse } from './oauth-errors.js'
import type { DevProviderClient } from './options.js'
import type { RequestParameters } from './parameters.js'
import { safeEqual } from './random.js'

export type ClientAuthentication =
  | { readonly client: Readonly<DevProviderClient> }
  | { readonly rejection: TokenEndpointResponse }

interface ClientCredentials {
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly usedBasicAuthentication: boolean
}

/**
 * Authenticates the client of a token request, by HTTP Basic or by `client_id` and
 * `client_secret` in the body (RFC 6749 §2.3.1). Using both methods in one request is rejected
 * with 400 `invalid_request`. A `client_id` in the body beside Basic is accepted when it names
 * the same client.
 */
export function authenticateClient (
  context: ProviderContext,
  parameters: RequestParameters,
  authorization: string | undefined
): ClientAuthentication {
  const credentials = readClientCredentials(parameters, authorization)
  if ('rejection' in credentials) return credentials

  const client = context.options.clients.get(credentials.clientId)
  const secretMatches = client !== undefined &&
    credentials.clientSecret !== undefined &&
    safeEqual(credentials.clientSecret, client.clientSecret)
  if (!secretMatches) return { rejection: invalidClient(credentials.usedBasicAuthentication) }

  return { client }
}

function readClientCredentials (
  parameters: RequestParameters,
  authorization: string | undefined
): ClientCredentials | { readonly rejection: TokenEndpointResponse } {
  const basicCredentials = /^basic /i.test(authorization ?? '') ? authorization?.slice(6).trim() : undefined
  const bodyClientId = parameters.get('client_id')

  if (basicCredentials === undefined) {
    if (bodyClientId === undefined) return { rejection: tokenError(400, 'invalid_request', '`client_id` is missing') }
    return { clientId: bodyClientId, clientSecret: parameters.get('client_secret'), usedBasicAuthentication: false }
  }

  if (parameters.has('client_secret')) {
    return { rejection: tokenError(400, 'invalid_request', 'Send client credentials by HTTP Basic or in the body, not both') }
  }
  const decoded = decodeBasicCredentials(basicCredentials)
  if (decoded === undefined) return { rejection: invalidClient(true) }
  if (bodyClientId !== undefined && bodyClientId !== decoded.clientId) {
    return { rejection: tokenError(400, 'invalid_request', 'The body `client_id` differs from the HTTP Basic user name') }
  }
  return { ...decoded, usedBasicAuthentication: true }
}

/**
 * Decodes `base64(urlencode(client_id) ":" urlencode(client_secret))` (RFC 6749 §2.3.1).
 * Returns undefined for text that is not valid base64 or percent-encoding, or that has no colon.
 */
function decodeBasicCredentials (encoded: string): { clientId: string, clientSecret: string } | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return undefined
  const text = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = text.indexOf(':')
  if (colon === -1) return undefined

  try {
    return {
      clientId: formUrlDecode(text.slice(0, colon)),
      clientSecret: formUrlDecode(text.slice(colon + 1))
    }
  } catch {
    return undefined
  }
}

function formUrlDecode (value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '))
}
