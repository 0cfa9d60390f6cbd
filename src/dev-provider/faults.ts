import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { DevProviderFaultError } from './errors.js'

export const DevProviderEndpointSchema = Type.Union([
  Type.Literal('token'),
  Type.Literal('user'),
  Type.Literal('details'),
  Type.Literal('logout'),
  Type.Literal('authorize')
])
/** Provider endpoints a fault can be set on: `/oauth/token`, `/api/user`, `/api/user/details`, `/api/logout-sso`, `/oauth/authorize`. */
export type DevProviderEndpoint = Static<typeof DevProviderEndpointSchema>
export const DEV_PROVIDER_ENDPOINTS: readonly DevProviderEndpoint[] = ['token', 'user', 'details', 'logout', 'authorize']

export const FaultGrantSchema = Type.Union([Type.Literal('authorization_code'), Type.Literal('refresh_token')])
export type FaultGrant = Static<typeof FaultGrantSchema>

// Node's setTimeout fires at once for delays above 2^31 - 1 ms.
const MAX_TIMER_MS = 2 ** 31 - 1

function faultSchema<Kind extends string, Properties extends TProperties> (kind: Kind, properties: Properties) {
  return Type.Object({
    kind: Type.Literal(kind),
    ...properties,
    times: Type.Optional(Type.Integer({ minimum: 1 })),
    grant: Type.Optional(FaultGrantSchema)
  }, { additionalProperties: false })
}

export const DevProviderFaultSchema = Type.Union([
  faultSchema('latency', { ms: Type.Integer({ minimum: 0, maximum: MAX_TIMER_MS }) }),
  faultSchema('status', {
    status: Type.Union([Type.Literal(500), Type.Literal(502), Type.Literal(503)]),
    body: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')]))
  }),
  faultSchema('html', { status: Type.Integer({ minimum: 200, maximum: 599 }) }),
  faultSchema('rate-limit', { retryAfterSeconds: Type.Integer({ minimum: 0 }) }),
  faultSchema('malformed-json', {}),
  faultSchema('drop', {}),
  faultSchema('hang', {}),
  faultSchema('json', { status: Type.Integer({ minimum: 200, maximum: 599 }), body: Type.Unknown() }),
  faultSchema('expires-in', { value: Type.Unknown() }),
  faultSchema('token-type', { value: Type.String() }),
  faultSchema('omit-refresh-token', {}),
  faultSchema('omit-scope', {}),
  faultSchema('string-id', {})
])

const SCHEMA_BY_KIND = new Map<string, TSchema>(
  DevProviderFaultSchema.anyOf.map((schema) => [schema.properties.kind.const, schema])
)

/**
 * A fault the provider applies to requests at one endpoint. Latency delays the request before
 * it is handled. A client that disconnects during the delay has its request dropped unprocessed,
 * like a request lost before it reached the server, although the stats still count it. The
 * response faults (`status`, `html`, `rate-limit`, `malformed-json`, `drop`, `hang`, `json`)
 * replace the response. The shapers change successful responses only: `expires-in`,
 * `token-type` (the value `'omit'` drops the field), `omit-refresh-token` and `omit-scope` on the
 * token endpoint, `string-id` on the user and details endpoints.
 *
 * `times` applies the fault to the next N matching requests only, then removes it; without it the
 * fault stays until cleared. `grant` limits a token endpoint fault to one grant type.
 */
export type DevProviderFault = Static<typeof DevProviderFaultSchema>
export type DevProviderFaultKind = DevProviderFault['kind']
export type FaultOfKind<Kind extends DevProviderFaultKind> = Extract<DevProviderFault, { kind: Kind }>

export const RESPONSE_FAULT_KINDS = ['status', 'html', 'rate-limit', 'malformed-json', 'drop', 'hang', 'json'] as const
export const TOKEN_SHAPER_KINDS = ['expires-in', 'token-type', 'omit-refresh-token', 'omit-scope'] as const

const ENDPOINTS_OF_SHAPERS: Readonly<Partial<Record<DevProviderFaultKind, readonly DevProviderEndpoint[]>>> = {
  'expires-in': ['token'],
  'token-type': ['token'],
  'omit-refresh-token': ['token'],
  'omit-scope': ['token'],
  'string-id': ['user', 'details']
}

/** Fault switches of a running development provider. */
export interface DevProviderFaults {
  /**
   * Arms a fault on an endpoint. A fault of the same kind and `grant` already armed there is
   * replaced, and faults of other kinds stack. Throws `DevProviderFaultError` for an invalid fault.
   */
  set(endpoint: DevProviderEndpoint, fault: DevProviderFault): void
  /** Disarms every fault of one endpoint, or of all endpoints when none is given. */
  clear(endpoint?: DevProviderEndpoint): void
  /** Returns the armed faults of an endpoint, with `times` counting down. */
  list(endpoint: DevProviderEndpoint): DevProviderFault[]
}

interface ArmedFault {
  readonly fault: DevProviderFault
  remaining: number | null
}

/** The fault switches, plus the lookups the request handlers use to apply them. */
export class FaultSwitchboard implements DevProviderFaults {
  readonly #armed = new Map<DevProviderEndpoint, ArmedFault[]>()

  set (endpoint: DevProviderEndpoint, fault: DevProviderFault): void {
    validateFault(endpoint, fault)
    const copy = structuredClone(fault)
    const faults = this.#armed.get(endpoint) ?? []
    const armed = { fault: copy, remaining: copy.times ?? null }
    const index = faults.findIndex((existing) => existing.fault.kind === copy.kind && existing.fault.grant === copy.grant)
    if (index === -1) {
      faults.push(armed)
    } else {
      faults[index] = armed
    }
    this.#armed.set(endpoint, faults)
  }

  clear (endpoint?: DevProviderEndpoint): void {
    if (endpoint === undefined) {
      this.#armed.clear()
    } else {
      this.#armed.delete(endpoint)
    }
  }

  list (endpoint: DevProviderEndpoint): DevProviderFault[] {
    return (this.#armed.get(endpoint) ?? []).map(({ fault, remaining }) =>
      remaining === null ? structuredClone(fault) : { ...structuredClone(fault), times: remaining })
  }

  /**
   * Returns up to `limit` armed faults of the given kinds that match the request, in the order
   * they were armed, and counts them as applied: a fault with `times` is removed after its last use.
   * `grant` is the request's grant type on the token endpoint, undefined elsewhere.
   */
  take<Kind extends DevProviderFaultKind> (
    endpoint: DevProviderEndpoint,
    grant: string | undefined,
    kinds: readonly Kind[],
    limit = Number.POSITIVE_INFINITY
  ): Array<FaultOfKind<Kind>> {
    const faults = this.#armed.get(endpoint)
    if (faults === undefined) return []

    const matched: Array<FaultOfKind<Kind>> = []
    for (const armed of [...faults]) {
      if (matched.length >= limit) break
      if (!isOfKind(armed.fault, kinds)) continue
      if (armed.fault.grant !== undefined && armed.fault.grant !== grant) continue

      matched.push(armed.fault)
      if (armed.remaining !== null) {
        armed.remaining -= 1
        if (armed.remaining === 0) faults.splice(faults.indexOf(armed), 1)
      }
    }
    return matched
  }
}

function isOfKind<Kind extends DevProviderFaultKind> (fault: DevProviderFault, kinds: readonly Kind[]): fault is FaultOfKind<Kind> {
  return (kinds as readonly DevProviderFaultKind[]).includes(fault.kind)
}

/** Throws `DevProviderFaultError` unless the fault is well formed and can apply to the endpoint. */
function validateFault (endpoint: DevProviderEndpoint, fault: DevProviderFault): void {
  if (!Value.Check(DevProviderEndpointSchema, endpoint)) {
    throw new DevProviderFaultError(String(endpoint), 'expected one of token, user, details, logout, authorize')
  }
  const kind: unknown = (fault as { kind?: unknown }).kind
  const schema = typeof kind === 'string' ? SCHEMA_BY_KIND.get(kind) : undefined
  if (schema === undefined) {
    throw new DevProviderFaultError(endpoint, `unknown fault kind ${JSON.stringify(kind) ?? 'undefined'}`)
  }
  const [firstError] = Value.Errors(schema, fault)
  if (firstError !== undefined) {
    throw new DevProviderFaultError(endpoint, `${firstError.path === '' ? 'fault' : firstError.path} ${firstError.message}`)
  }
  if (fault.grant !== undefined && endpoint !== 'token') {
    throw new DevProviderFaultError(endpoint, '"grant" applies to the token endpoint only')
  }
  const endpoints = ENDPOINTS_OF_SHAPERS[fault.kind]
  if (endpoints !== undefined && !endpoints.includes(endpoint)) {
    throw new DevProviderFaultError(endpoint, `"${fault.kind}" applies to ${endpoints.join(' and ')} only`)
  }
}
