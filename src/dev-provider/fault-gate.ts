import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { ProviderContext } from './context.js'
import { RESPONSE_FAULT_KINDS, type DevProviderEndpoint, type FaultOfKind } from './faults.js'
import { RequestParameters } from './parameters.js'
import type { TokenRequestGrant } from './stats.js'

type ResponseFault = FaultOfKind<typeof RESPONSE_FAULT_KINDS[number]>

/**
 * Creates the preHandler that every faultable endpoint runs first. It counts the request, waits
 * out latency faults and sends the first matching response fault in place of the real response.
 */
export function createFaultGate (context: ProviderContext, endpoint: DevProviderEndpoint): preHandlerAsyncHookHandler {
  return async function faultGate (request, reply) {
    const grant = endpoint === 'token' ? grantTypeOf(request.body) : undefined
    countRequest(context, endpoint, grant, reply)

    const latencyMs = context.faults.take(endpoint, grant, ['latency']).reduce((total, fault) => total + fault.ms, 0)
    if (latencyMs > 0 && await waitWhileConnected(latencyMs, request, reply) === 'disconnected') {
      // The client gave up during the delay: drop the request unprocessed, as if it never arrived.
      reply.hijack()
      return reply
    }

    const [fault] = context.faults.take(endpoint, grant, RESPONSE_FAULT_KINDS, 1)
    if (fault === undefined) return undefined
    sendResponseFault(fault, endpoint, request, reply)
    return reply
  }
}

/** Returns the `grant_type` of a token request body, or undefined when the body is not a form. */
export function grantTypeOf (body: unknown): string | undefined {
  return body instanceof RequestParameters ? body.get('grant_type') : undefined
}

function countRequest (context: ProviderContext, endpoint: DevProviderEndpoint, grant: string | undefined, reply: FastifyReply): void {
  const { stats } = context
  switch (endpoint) {
    case 'token':
      stats.tokenRequests[tokenRequestGrant(grant)] += 1
      if (grant === 'refresh_token') reply.raw.once('close', stats.startRefresh())
      break
    case 'user':
      stats.userRequests += 1
      break
    case 'details':
      stats.detailsRequests += 1
      break
    case 'logout':
      stats.logoutRequests += 1
      break
    case 'authorize':
      stats.authorizeRequests += 1
      break
  }
}

function tokenRequestGrant (grant: string | undefined): TokenRequestGrant {
  if (grant === 'authorization_code' || grant === 'refresh_token' || grant === 'client_credentials') return grant
  return 'other'
}

/** Waits `ms` milliseconds, or less if the client closes the connection first. */
function waitWhileConnected (ms: number, request: FastifyRequest, reply: FastifyReply): Promise<'elapsed' | 'disconnected'> {
  const socket = request.raw.socket
  const response = reply.raw
  if (socket.destroyed) return Promise.resolve('disconnected')

  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer)
      resolve('disconnected')
    }
    const timer = setTimeout(() => {
      response.off('close', onClose)
      resolve(socket.destroyed ? 'disconnected' : 'elapsed')
    }, ms)
    response.once('close', onClose)
  })
}

function sendResponseFault (fault: ResponseFault, endpoint: DevProviderEndpoint, request: FastifyRequest, reply: FastifyReply): void {
  switch (fault.kind) {
    case 'status':
      if (fault.body === 'html') {
        sendFaultHtml(reply, fault.status)
      } else {
        reply.code(fault.status).send({ message: STATUS_MESSAGES[fault.status] ?? 'Server Error' })
      }
      return
    case 'html':
      sendFaultHtml(reply, fault.status)
      return
    case 'rate-limit':
      reply
        .code(429)
        .header('retry-after', String(fault.retryAfterSeconds))
        .header('x-ratelimit-remaining', '0')
        .send({ message: 'Too Many Attempts.' })
      return
    case 'malformed-json':
      reply.code(200).header('content-type', 'application/json').send(TRUNCATED_JSON[endpoint])
      return
    case 'json':
      reply.code(fault.status).header('content-type', 'application/json').send(JSON.stringify(fault.body))
      return
    case 'drop':
      reply.hijack()
      request.raw.socket.destroy()
      return
    case 'hang':
      // No response is ever sent. Closing the provider destroys the connection.
      reply.hijack()
  }
}

const STATUS_MESSAGES: Readonly<Record<number, string>> = {
  500: 'Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable'
}

// A successful response cut off mid-way, as a proxy that lost the upstream connection may send it.
const TRUNCATED_JSON: Readonly<Record<DevProviderEndpoint, string>> = {
  token: '{"token_type":"Bearer","expires_in":3600,"access_token":"eyJ0eXAiOiJKV1QiLCJhbGciOi',
  user: '{"id":1001,"name":"Budi Santo',
  details: '{"id":1001,"name":"Budi Santoso","bio":"Guru ng',
  logout: '{"message":"Logg',
  authorize: '{"message":"Redir'
}

/** Sends the HTML error page a real deployment shows for this status: nginx, maintenance or Laravel. */
function sendFaultHtml (reply: FastifyReply, status: number): void {
  reply.code(status).header('content-type', 'text/html; charset=UTF-8').send(faultPage(status))
}

function faultPage (status: number): string {
  if (status === 502 || status === 504) {
    const title = status === 502 ? '502 Bad Gateway' : '504 Gateway Time-out'
    return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
  }
  if (status === 200 || status === 503) {
    return laravelStylePage('Service Unavailable', 'Sedang dalam perbaikan. Silakan coba beberapa saat lagi.')
  }
  return laravelStylePage(`${status} | Error`, 'Terjadi kesalahan pada server.')
}

function laravelStylePage (title: string, message: string): string {
  return `<!DOCTYPE html>
<html lang="id">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>
<body style="font-family: sans-serif; display: flex; align-items: center; justify-content: center; min-height: 100vh; color: #6b7280;">
<div><h1 style="font-size: 1.1rem; letter-spacing: 0.05em;">${title}</h1><p>${message}</p></div>
</body>
</html>
`
}
