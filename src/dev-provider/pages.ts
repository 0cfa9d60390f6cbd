import { escapeHtml, renderDocument } from './html.js'
import type { DevProviderUser } from './options.js'

export const LOGIN_PATH = '/login'
export const CONSENT_PATH = '/oauth/authorize/consent'
export const DECISION_PATH = '/oauth/authorize'

const SCOPE_DESCRIPTIONS: Readonly<Record<string, { english: string, indonesian: string }>> = {
  'view-user': {
    english: 'Your basic profile: name, username, email address, profile picture and gender',
    indonesian: 'Profil dasar: nama, username, email, foto profil, dan jenis kelamin'
  },
  'detail-user': {
    english: 'Your profile details: bio, phone number, place and date of birth, and address',
    indonesian: 'Detail profil: bio, nomor telepon, tempat dan tanggal lahir, serta alamat'
  }
}

export interface LoginPageInput {
  /** Pending authorization request to continue after login, absent on the standalone login page. */
  readonly authToken?: string
  readonly clientId?: string
  readonly username?: string
  readonly error?: string
  readonly showDemoAccounts: boolean
}

export function loginPage (input: LoginPageInput): string {
  const purpose = input.clientId === undefined
    ? ''
    : `<p>to continue to <strong>${escapeHtml(input.clientId)}</strong></p>`
  const error = input.error === undefined ? '' : `<p class="error" role="alert">${escapeHtml(input.error)}</p>`
  const authToken = input.authToken === undefined
    ? ''
    : `<input type="hidden" name="auth_token" value="${escapeHtml(input.authToken)}">`
  const demoAccounts = input.showDemoAccounts
    ? '<p class="hint">Demo accounts: <code>budi</code> and <code>siti</code>, password <code>demo</code>.</p>'
    : ''

  return renderDocument('Sign in', `
<h1>Sign in</h1>
<p class="translation" lang="id">Masuk dengan akun Mubarokah ID Anda.</p>
${purpose}
${error}
<form method="post" action="${LOGIN_PATH}">
${authToken}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="${escapeHtml(input.username ?? '')}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button type="submit">Sign in</button></div>
</form>
${demoAccounts}`)
}

export interface ConsentPageInput {
  readonly clientId: string
  readonly user: Readonly<DevProviderUser>
  readonly scopes: readonly string[]
  readonly authToken: string
  readonly csrfToken: string
}

export function consentPage (input: ConsentPageInput): string {
  const scopeItems = input.scopes.map((scope) => {
    const description = SCOPE_DESCRIPTIONS[scope]
    if (description === undefined) return `<li><code>${escapeHtml(scope)}</code></li>`
    return `<li><code>${escapeHtml(scope)}</code>: ${escapeHtml(description.english)}` +
      `<br><span class="translation" lang="id">${escapeHtml(description.indonesian)}</span></li>`
  })
  const requested = scopeItems.length === 0
    ? '<p>It requests no profile data, only confirmation that you signed in.</p>'
    : `<p>It requests access to:</p>\n<ul>${scopeItems.join('\n')}</ul>`

  return renderDocument('Authorize application', `
<h1>Authorize <strong>${escapeHtml(input.clientId)}</strong>?</h1>
<p class="translation" lang="id">Izinkan aplikasi ini mengakses akun Anda?</p>
<p>Signed in as <strong>${escapeHtml(input.user.name)}</strong> (${escapeHtml(input.user.username)}).</p>
${requested}
<form method="post" action="${DECISION_PATH}">
<input type="hidden" name="auth_token" value="${escapeHtml(input.authToken)}">
<input type="hidden" name="_token" value="${escapeHtml(input.csrfToken)}">
<div class="actions">
<button type="submit" name="decision" value="approve">Authorize</button>
<button type="submit" name="decision" value="deny" class="secondary">Cancel</button>
</div>
</form>`)
}

export function errorPage (title: string, message: string): string {
  return renderDocument(title, `
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(message)}</p>
<p class="translation" lang="id">Terjadi kesalahan. Kembali ke aplikasi dan coba masuk lagi.</p>`)
}

export function signedInPage (user: Readonly<DevProviderUser>): string {
  return renderDocument('Signed in', `
<h1>Signed in as ${escapeHtml(user.name)}</h1>
<p class="translation" lang="id">Anda sudah masuk.</p>
<p>Return to the application to continue.</p>`)
}
