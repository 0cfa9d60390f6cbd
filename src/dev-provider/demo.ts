import type { DevProviderClient, DevProviderUser } from './options.js'

const DEFAULT_CLIENT_ID = 'dev-client'
const DEFAULT_CLIENT_SECRET = 'dev-secret-change-me'

/**
 * Client registered when `clients` is not given. Its redirect URIs are the example app's
 * callback on port 3000, under both loopback host names.
 */
export const DEFAULT_DEV_CLIENT: DevProviderClient = {
  clientId: DEFAULT_CLIENT_ID,
  clientSecret: DEFAULT_CLIENT_SECRET,
  redirectUris: [
    'http://127.0.0.1:3000/auth/mubarokah/callback',
    'http://localhost:3000/auth/mubarokah/callback'
  ],
  detailsApproved: true
}

/**
 * Creates a client registration for the given redirect URIs, with the default client's id and
 * secret unless `overrides` sets them. Lets an app register its own callback URL.
 */
export function createDevClient (
  redirectUris: readonly string[],
  overrides: Partial<Omit<DevProviderClient, 'redirectUris'>> = {}
): DevProviderClient {
  return {
    clientId: overrides.clientId ?? DEFAULT_CLIENT_ID,
    clientSecret: overrides.clientSecret ?? DEFAULT_CLIENT_SECRET,
    redirectUris: [...redirectUris],
    detailsApproved: overrides.detailsApproved ?? true
  }
}

/**
 * The example app's callback on ports 3000 to 3009 under both loopback host names, so that
 * several copies of the example can share one development provider.
 */
export function exampleRedirectUris (): string[] {
  const uris: string[] = []
  for (let port = 3000; port < 3010; port += 1) {
    for (const host of ['127.0.0.1', 'localhost']) uris.push(`http://${host}:${port}/auth/mubarokah/callback`)
  }
  return uris
}

/**
 * Demo accounts, both with password `demo`. `budi` has an email and every detail filled in.
 * `siti` signed up with WhatsApp, so she has no email, no picture and some details are null.
 */
export const DEMO_USERS: readonly DevProviderUser[] = [
  {
    id: 1001,
    username: 'budi',
    password: 'demo',
    name: 'Budi Santoso',
    email: 'budi.santoso@example.com',
    profile_picture: '/storage/avatars/budi.svg',
    gender: 'male',
    details: {
      bio: 'Guru ngaji di Yogyakarta, suka bersepeda dan membaca kitab.',
      phone_number: '+6281234567890',
      place_of_birth: 'Yogyakarta',
      date_of_birth: '1990-08-17',
      address: 'Jl. Kaliurang Km 5 No. 12, Sleman, DI Yogyakarta'
    }
  },
  {
    id: 1002,
    username: 'siti',
    password: 'demo',
    name: 'Siti Aminah',
    email: null,
    profile_picture: null,
    gender: 'female',
    details: {
      bio: null,
      phone_number: '+6285712345678',
      place_of_birth: 'Surabaya',
      date_of_birth: null,
      address: null
    }
  }
]
