import { Type, type Static } from '@sinclair/typebox'
import { MubarokahDetailsSchema, MubarokahProfileSchema } from '../oauth/normalize.js'

/*
 * Route schemas. Every query parameter is one bounded string: a repeated parameter arrives
 * as an array and fails validation with 400 before any provider call.
 */

const MAX_PARAMETER_LENGTH = 2048

const QueryValue = Type.String({ maxLength: MAX_PARAMETER_LENGTH })

export const ErrorResponseSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  errorId: Type.String()
})
export interface ErrorResponse extends Static<typeof ErrorResponseSchema> {}

export const LoginQuerySchema = Type.Object({
  /** Same-origin path to return to after login; anything else falls back to `defaultReturnTo`. */
  returnTo: Type.Optional(QueryValue),
  /** Extra scopes for this login, space-separated, from the known scopes. */
  scope: Type.Optional(Type.String({ maxLength: 200, pattern: '^[a-z -]*$' })),
  prompt: Type.Optional(Type.Union([Type.Literal('consent'), Type.Literal('login')]))
}, { additionalProperties: QueryValue })
export interface LoginQuery extends Static<typeof LoginQuerySchema> {}

/** RFC 6749 §4.1.2 (success) and §4.1.2.1 (error) callback parameters. */
export const CallbackQuerySchema = Type.Object({
  code: Type.Optional(Type.String({ maxLength: 4096 })),
  state: Type.Optional(Type.String({ maxLength: 512 })),
  error: Type.Optional(Type.String({ maxLength: 200 })),
  error_description: Type.Optional(QueryValue),
  error_uri: Type.Optional(QueryValue),
  hint: Type.Optional(QueryValue),
  message: Type.Optional(QueryValue)
}, { additionalProperties: QueryValue })
export interface CallbackQuery extends Static<typeof CallbackQuerySchema> {}

const Flag = Type.Union([Type.Boolean(), Type.Literal('1'), Type.Literal('0'), Type.Literal('true'), Type.Literal('false'), Type.Literal('on')])

export const LogoutBodySchema = Type.Union([
  Type.Object({
    /** End every session of this user. */
    everywhere: Type.Optional(Flag),
    /** Also end the Mubarokah ID session (only if the plugin allows it). */
    sso: Type.Optional(Flag),
    returnTo: Type.Optional(QueryValue)
  }, { additionalProperties: Type.String({ maxLength: MAX_PARAMETER_LENGTH }) }),
  Type.Null()
])
export type LogoutBody = Static<typeof LogoutBodySchema>

export function isFlagSet (value: Static<typeof Flag> | undefined): boolean {
  return value === true || value === '1' || value === 'true' || value === 'on'
}

export const LogoutResponseSchema = Type.Object({
  loggedOut: Type.Literal(true),
  endedGrants: Type.Integer({ minimum: 0 })
})

/** The user as routes return it; fields added through `enrichUser` pass through. */
const UserResponseSchema = Type.Composite([MubarokahProfileSchema], { additionalProperties: true })

export const MeResponseSchema = Type.Object({
  user: UserResponseSchema,
  scopes: Type.Array(Type.String()),
  /** Access token expiry, epoch milliseconds. */
  expiresAt: Type.Number()
})
export interface MeResponse extends Static<typeof MeResponseSchema> {}

export const DetailsResponseSchema = Type.Object({
  user: Type.Composite([MubarokahProfileSchema, MubarokahDetailsSchema], { additionalProperties: true })
})
export interface DetailsResponse extends Static<typeof DetailsResponseSchema> {}

/** Maps the error statuses a route may respond with to the shared error schema. */
export function errorResponses (...statuses: number[]): Record<number, typeof ErrorResponseSchema> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]))
}
