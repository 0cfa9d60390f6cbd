import type { FastifyInstance } from 'fastify'
import type { ProviderContext } from '../context.js'
import { escapeHtml } from '../html.js'

/**
 * Registers `GET /storage/avatars/:file`, which draws the initials of the user whose
 * `profile_picture` is that path. Demo pictures are served locally, so pages that show them
 * need no network.
 */
export async function avatarRoutes (app: FastifyInstance, context: ProviderContext): Promise<void> {
  app.get<{ Params: { file: string } }>('/storage/avatars/:file', async (request, reply) => {
    const path = `/storage/avatars/${request.params.file}`
    const user = [...context.options.usersById.values()].find((candidate) => candidate.profile_picture === path)
    if (user === undefined || !path.endsWith('.svg')) return reply.code(404).send({ message: 'Not Found' })

    const initials = user.name.split(' ').map((word) => word.charAt(0)).join('').slice(0, 2).toUpperCase()
    return reply
      .header('content-type', 'image/svg+xml')
      .header('cache-control', 'public, max-age=3600')
      .send(`<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">
<rect width="128" height="128" rx="64" fill="#0f766e"/>
<text x="64" y="78" font-family="sans-serif" font-size="44" font-weight="700" fill="#fff" text-anchor="middle">${escapeHtml(initials)}</text>
</svg>
`)
  })
}
