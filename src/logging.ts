/**
 * pino `redact` paths for a host app's logger: headers and body fields that can carry a token,
 * a code, a cookie or a secret. Pass them as `Fastify({ logger: { redact: REDACT_PATHS } })`.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  '*.accessToken',
  '*.refreshToken',
  '*.access_token',
  '*.refresh_token',
  '*.code_verifier',
  '*.codeVerifier',
  '*.client_secret',
  '*.clientSecret',
  '*.password'
]
