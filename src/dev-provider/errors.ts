import createError from '@fastify/error'

// Caller misuse of the development provider. HTTP clients never see these errors.

export const DevProviderInProductionError = createError(
  'FST_MUBAROKAH_DEV_PROVIDER_IN_PRODUCTION',
  'The development provider does not start when NODE_ENV is "production". ' +
    'Point the app at the real Mubarokah ID, or pass allowInProduction: true for a deliberate test setup.',
  500
)

export const DevProviderOptionError = createError<'FST_MUBAROKAH_DEV_PROVIDER_OPTION', [string, string]>(
  'FST_MUBAROKAH_DEV_PROVIDER_OPTION',
  'Development provider option "%s" is invalid: %s',
  500,
  TypeError
)

export const DevProviderFaultError = createError<'FST_MUBAROKAH_DEV_PROVIDER_FAULT', [string, string]>(
  'FST_MUBAROKAH_DEV_PROVIDER_FAULT',
  'Fault for endpoint "%s" is invalid: %s',
  500,
  TypeError
)
