import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { sendPendingExpired, startBrowserSession } from '../authorization-flow.js'
import type { ProviderContext } from '../context.js'
import { sendHtml } from '../html.js'
import type { DevProviderUser } from '../options.js'
import { CONSENT_PATH, errorPage, LOGIN_PATH, loginPage, signedInPage } from '../pages.js'
import { RequestParameters } from '../parameters.js'
import { safeEqual } from '../random.js'

/**
 * Registers the provider's own login: `GET /login` (also where API requests without
 * `Accept: application/json` are redirected, as Laravel does) and `POST /login`, which the login
 * form of an authorization request posts with its `auth_token`.
 */
export async function loginRoutes (app: FastifyInstance, context: ProviderContext): Promise<void> {
  app.get(LOGIN_PATH, async (_request, reply) => {
    return sendHtml(reply, 200, loginPage({ showDemoAccounts: context.options.demoUsers }))
  })

  app.post(LOGIN_PATH, async (request, reply) => handleLogin(context, request, reply))
}

function handleLogin (context: ProviderContext, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const form = request.body
  if (!(form instanceof RequestParameters) || form.firstRepeated !== undefined) {
    return sendHtml(reply, 400, errorPage('Invalid request', 'The login form was not submitted as expected.'))
  }

  const authToken = form.get('auth_token')
  const pending = context.pendingAuthorizations.find(authToken)
  if (authToken !== undefined && pending === undefined) return sendPendingExpired(reply)

  const username = form.get('username') ?? ''
  const user = findUserByCredentials(context, username, form.get('password') ?? '')
  if (user === undefined) {
    return sendHtml(reply, 422, loginPage({
      authToken,
      clientId: pending?.clientId,
      username,
      error: 'The username or password is incorrect.',
      showDemoAccounts: context.options.demoUsers
    }))
  }

  startBrowserSession(context, request, reply, user.id)
  if (pending === undefined) return sendHtml(reply, 200, signedInPage(user))

  // Post/redirect/get, so that reloading the consent page does not post the password again.
  pending.userId = user.id
  const consentUrl = `${CONSENT_PATH}?${new URLSearchParams({ auth_token: pending.authToken }).toString()}`
  return reply.header('cache-control', 'no-store').redirect(consentUrl, 303)
}

function findUserByCredentials (context: ProviderContext, username: string, password: string): Readonly<DevProviderUser> | undefined {
  const user = context.options.usersByUsername.get(username)
  // Compare even for an unknown username, so that timing does not tell which usernames exist.
  const passwordMatches = safeEqual(password, user?.password ?? '')
  return user !== undefined && passwordMatches ? user : undefined
}
