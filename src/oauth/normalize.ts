import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ProviderRejectedError, ProviderResponseError, TokenTypeError } from '../errors.js'
import { attachDetails } from './http.js'

/*
 * Tolerant, validated normalisation of what Laravel Passport servers send.
 * Anything outside these shapes is a ProviderResponseError; nothing is passed on unchecked.
 */

const MAX_TOKEN_LENGTH = 16 * 1024
/** Upper bound on `expires_in`: ten years. A larger value is a provider bug, not a lifetime. */
const MAX_EXPIRES_IN_SECONDS = 10 * 365 * 86_400

const NullableString = (maxLength: number) => Type.Union([Type.String({ maxLength }), Type.Null()])

/** The user as the plugin stores it: `id` is always a string key, profile fields may be null. */
export const MubarokahProfileSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 100 }),
  name: NullableString(500),
  email: NullableString(320),
  username: NullableString(200),
  profile_picture: NullableString(2000),
  gender: NullableString(50),
  phone_number: Type.Optional(NullableString(50))
})

/** The fields `/api/user/details` adds, all nullable. */
export const MubarokahDetailsSchema = Type.Object({
  bio: NullableString(5000),
  phone_number: NullableString(50),
  place_of_birth: NullableString(200),
  date_of_birth: NullableString(10),
  address: NullableString(2000)
})

export interface MubarokahProfile extends Static<typeof MubarokahProfileSchema> {}
export interface MubarokahDetailsFields extends Static<typeof MubarokahDetailsSchema> {}

const RawUserSchema = Type.Object({
  id: Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' })]),
  name: Type.Optional(NullableString(500)),
  email: Type.Optional(NullableString(320)),
  username: Type.Optional(NullableString(200)),
  profile_picture: Type.Optional(NullableString(2000)),
  gender: Type.Optional(NullableString(50)),
  phone_number: Type.Optional(NullableString(50))
})
const rawUser = TypeCompiler.Compile(RawUserSchema)

const RawDetailsSchema = Type.Object({
  bio: Type.Optional(NullableString(5000)),
  phone_number: Type.Optional(NullableString(50)),
  place_of_birth: Type.Optional(NullableString(200)),
  date_of_birth: Type.Optional(Type.Union([Type.String({ maxLength: 40 }), Type.Null()])),
  address: Type.Optional(NullableString(2000))
})
const rawDetails = TypeCompiler.Compile(RawDetailsSchema)

const RawTokenSchema = Type.Object({
  access_token: Type.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH }),
  token_type: Type.Optional(Type.Union([Type.String({ maxLength: 50 }), Type.Null()])),
  expires_in: Type.Optional(Type.Unknown()),
  refresh_token: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH }), Type.Null()])),
  scope: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 }), Type.Null()]))
})
const rawToken = TypeCompiler.Compile(RawTokenSchema)

/** A token endpoint success, normalised. */
export interface TokenSet {
  readonly accessToken: string
  readonly refreshToken: string | null
  /** Access token lifetime in seconds, always finite and positive. */
  readonly expiresIn: number
  /** True when `expires_in` was missing or unusable and the configured default was used. */
  readonly expiresInDefaulted: boolean
  readonly scopes: readonly string[]
}

/** Extracts an OAuth error body (`{error, error_description, message, hint}`), or returns null if the body is not one. */
export function oauthErrorOf (body: unknown): { error: string, hint: string } | null {
  if (typeof body !== 'object' || body === null) return null
  const { error, hint, message } = body as Record<string, unknown>
  if (typeof error !== 'string' || error === '') return null
  return {
    error: error.slice(0, 100),
    hint: [hint, message].filter((part): part is string => typeof part === 'string').join(' ').slice(0, 300)
  }
}

/** Normalises a token endpoint body. `requestedScopes` replaces a missing `scope`. */
export function normalizeTokenResponse (
  body: unknown,
  status: number,
  requestedScopes: readonly string[],
  defaultLifetimeSeconds: number
): TokenSet {
  const rejection = oauthErrorOf(body)
  if (rejection !== null) {
    // Some servers respond 200 with an error body, which is still a rejection.
    throw attachDetails(new ProviderRejectedError(rejection.error, status), { status, oauthError: rejection.error })
  }
  if (!rawToken.Check(body)) {
    const first = rawToken.Errors(body).First()
    throw attachDetails(new ProviderResponseError(`token response: ${first?.path || 'body'} ${first?.message ?? 'is invalid'}`), { status })
  }

  const tokenType = body.token_type ?? 'Bearer'
  if (tokenType.toLowerCase() !== 'bearer') throw attachDetails(new TokenTypeError(tokenType.slice(0, 20)), { status })

  const lifetime = parseExpiresIn(body.expires_in)
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token ?? null,
    expiresIn: lifetime ?? defaultLifetimeSeconds,
    expiresInDefaulted: lifetime === undefined,
    scopes: parseScopes(body.scope) ?? requestedScopes
  }
}

/** Reads `expires_in` as a number or numeric string; anything else, non-positive or absurdly large, is undefined. */
function parseExpiresIn (value: unknown): number | undefined {
  const seconds = typeof value === 'number'
    ? value
    : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_EXPIRES_IN_SECONDS) return undefined
  return Math.floor(seconds)
}

function parseScopes (value: string | string[] | null | undefined): string[] | undefined {
  if (value === null || value === undefined) return undefined
  const list = typeof value === 'string' ? value.split(/[\s,]+/) : value
  const scopes = [...new Set(list.map((scope) => scope.trim()).filter((scope) => scope !== ''))]
  return scopes
}

/** Normalises `/api/user`: `id` becomes a string, missing profile fields become null, other fields are dropped. */
export function normalizeUser (body: unknown): MubarokahProfile {
  if (!rawUser.Check(body)) {
    const first = rawUser.Errors(body).First()
    throw new ProviderResponseError(`user response: ${first?.path || 'body'} ${first?.message ?? 'is invalid'}`)
  }
  const profile: MubarokahProfile = {
    id: String(body.id),
    name: body.name ?? null,
    email: body.email ?? null,
    username: body.username ?? null,
    profile_picture: body.profile_picture ?? null,
    gender: body.gender ?? null
  }
  if (body.phone_number !== undefined) profile.phone_number = body.phone_number
  return profile
}

/** Normalises `/api/user/details`; `date_of_birth` must be YYYY-MM-DD (a time part is cut off). */
export function normalizeDetails (body: unknown): MubarokahDetailsFields {
  if (!rawDetails.Check(body)) {
    const first = rawDetails.Errors(body).First()
    throw new ProviderResponseError(`details response: ${first?.path || 'body'} ${first?.message ?? 'is invalid'}`)
  }
  const birth = body.date_of_birth ?? null
  const date = birth === null ? null : /^\d{4}-\d{2}-\d{2}/.exec(birth)?.[0]
  if (date === undefined) throw new ProviderResponseError('details response: /date_of_birth is not YYYY-MM-DD')

  return {
    bio: body.bio ?? null,
    phone_number: body.phone_number ?? null,
    place_of_birth: body.place_of_birth ?? null,
    date_of_birth: date,
    address: body.address ?? null
  }
}
