import { Type } from '@sinclair/typebox'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ProviderContext } from '../context.js'
import { DevProviderFaultError } from '../errors.js'
import { DEV_PROVIDER_ENDPOINTS, DevProviderEndpointSchema, DevProviderFaultSchema } from '../faults.js'

const SetFaultBodySchema = Type.Object({
  endpoint: DevProviderEndpointSchema,
  fault: DevProviderFaultSchema
}, { additionalProperties: false })

const ClearFaultsQuerySchema = Type.Object({
  endpoint: Type.Optional(DevProviderEndpointSchema)
}, { additionalProperties: false })

/**
 * Registers the test controls, for tests that drive the provider from another process:
 * `GET|POST|DELETE /_dev/faults` and `GET|DELETE /_dev/stats`. They serve loopback clients only.
 * POST needs `Content-Type: application/json`, which a web page on another origin cannot send
 * without a CORS preflight, and the provider approves no preflight.
 */
export async function devRoutes (parent: FastifyInstance, context: ProviderContext): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>()
  // TypeBox's own compiler, because Ajv's removeAdditional would strip fields while trying each fault kind.
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  app.addHook('onRequest', rejectNonLoopback)

  app.get('/_dev/faults', async () => {
    return Object.fromEntries(DEV_PROVIDER_ENDPOINTS.map((endpoint) => [endpoint, context.faults.list(endpoint)]))
  })

  app.post('/_dev/faults', { schema: { body: SetFaultBodySchema } }, async (request, reply) => {
    try {
      context.faults.set(request.body.endpoint, request.body.fault)
    } catch (error) {
      if (!(error instanceof DevProviderFaultError)) throw error
      return reply.code(400).send({ message: error.message })
    }
    return reply.code(204).send()
  })

  app.delete('/_dev/faults', { schema: { querystring: ClearFaultsQuerySchema } }, async (request, reply) => {
    context.faults.clear(request.query.endpoint)
    return reply.code(204).send()
  })

  app.get('/_dev/stats', async () => context.stats.snapshot())

  app.delete('/_dev/stats', async (_request, reply) => {
    context.stats.reset()
    return reply.code(204).send()
  })
}

/**
 * Responds with 403 unless the peer is on the IPv4 loopback network. The provider listens on 127.0.0.1
 * only, so this matters only if that ever changes. `trustProxy` is off, so headers cannot fake the peer.
 */
async function rejectNonLoopback (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (isLoopbackAddress(request.socket.remoteAddress)) return
  await reply.code(403).send({ message: 'The /_dev routes accept requests from loopback addresses only.' })
}

function isLoopbackAddress (address: string | undefined): boolean {
  if (address === undefined) return false
  const ipv4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ipv4)
}
