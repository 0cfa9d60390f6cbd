import type { ErrorResponseSettings } from './http/respond.js'
import type { MubarokahOAuthClient } from './oauth/client.js'
import type { ResolvedOptions } from './options.js'
import type { FernetKeyRing } from './tokens/fernet.js'
import type { GrantManager } from './tokens/grants.js'
import type { TokenStore } from './tokens/store.js'

/** Everything the routes and the guard share, built once at registration. */
export interface Runtime {
  readonly options: ResolvedOptions
  readonly client: MubarokahOAuthClient
  readonly grants: GrantManager
  readonly store: TokenStore
  readonly keys: FernetKeyRing
  readonly errorSettings: ErrorResponseSettings
  /** Events already logged as a warning, for warnings given once per plugin instance. */
  readonly warned: Set<string>
}
