/*
 * Everything an end user may read, in Bahasa Indonesia and English. API JSON uses the English
 * `message`; pages use the language picked from Accept-Language.
 */

export type Language = 'id' | 'en'

export interface UserMessage {
  readonly title: string
  readonly body: string
}

type Bilingual = Readonly<Record<Language, UserMessage>>

/** Messages by error code. Codes missing here fall back to `FALLBACK`. */
export const ERROR_MESSAGES: Readonly<Record<string, Bilingual>> = {
  FST_MUBAROKAH_STATE_MISSING: {
    id: { title: 'Login tidak dapat dilanjutkan', body: 'Tautan kembali dari Mubarokah ID tidak lengkap (state tidak ada). Silakan mulai login lagi.' },
    en: { title: 'Login cannot continue', body: 'The link back from Mubarokah ID is incomplete (no state). Please start the login again.' }
  },
  FST_MUBAROKAH_STATE_UNKNOWN: {
    id: { title: 'Sesi login kedaluwarsa', body: 'Login ini sudah kedaluwarsa atau sudah dipakai. Silakan mulai login lagi.' },
    en: { title: 'Login expired', body: 'This login has expired or was already used. Please start the login again.' }
  },
  FST_MUBAROKAH_STATE_MISMATCH: {
    id: { title: 'Login tidak cocok', body: 'Login ini dimulai di browser atau perangkat lain. Silakan mulai login lagi dari browser ini.' },
    en: { title: 'Login does not match', body: 'This login was started in another browser or device. Please start the login again from this browser.' }
  },
  FST_MUBAROKAH_LOGIN_COOKIE_MISSING: {
    id: { title: 'Sesi login kedaluwarsa', body: 'Browser tidak mengirim cookie login, mungkin karena kedaluwarsa atau diblokir. Silakan mulai login lagi.' },
    en: { title: 'Login expired', body: 'The browser did not send the login cookie; it may have expired or been blocked. Please start the login again.' }
  },
  FST_MUBAROKAH_CODE_MISSING: {
    id: { title: 'Login tidak dapat dilanjutkan', body: 'Mubarokah ID tidak mengirim kode otorisasi. Silakan mulai login lagi.' },
    en: { title: 'Login cannot continue', body: 'Mubarokah ID sent no authorization code. Please start the login again.' }
  },
  FST_MUBAROKAH_LOGIN_IN_PROGRESS: {
    id: { title: 'Login sedang diproses', body: 'Login ini masih diproses. Tunggu sebentar lalu muat ulang halaman.' },
    en: { title: 'Login in progress', body: 'This login is still being completed. Wait a moment, then reload the page.' }
  },
  FST_MUBAROKAH_ACCESS_DENIED: {
    id: { title: 'Login dibatalkan', body: 'Izin akses tidak diberikan di Mubarokah ID, jadi Anda belum masuk. Anda dapat mencoba lagi kapan saja.' },
    en: { title: 'Login cancelled', body: 'Access was not granted at Mubarokah ID, so you are not logged in. You can try again at any time.' }
  },
  FST_MUBAROKAH_AUTHORIZATION_ERROR: {
    id: { title: 'Login gagal', body: 'Mubarokah ID menolak permintaan login ini. Silakan coba lagi nanti.' },
    en: { title: 'Login failed', body: 'Mubarokah ID rejected this login request. Please try again later.' }
  },
  FST_MUBAROKAH_INSECURE_TRANSPORT: {
    id: { title: 'Login tidak tersedia', body: 'Server aplikasi ini belum dikonfigurasi dengan benar untuk login yang aman. Hubungi pengelola aplikasi.' },
    en: { title: 'Login unavailable', body: 'This app server is not configured correctly for a secure login. Please contact the app administrator.' }
  },
  FST_MUBAROKAH_PROVIDER_REJECTED: {
    id: { title: 'Login gagal', body: 'Mubarokah ID menolak login ini, mungkin karena kodenya kedaluwarsa. Silakan mulai login lagi.' },
    en: { title: 'Login failed', body: 'Mubarokah ID rejected this login, perhaps because its code expired. Please start the login again.' }
  },
  FST_MUBAROKAH_PROVIDER_UNAVAILABLE: {
    id: { title: 'Mubarokah ID tidak dapat dihubungi', body: 'Mubarokah ID sedang tidak dapat dihubungi. Silakan coba lagi dalam beberapa saat.' },
    en: { title: 'Mubarokah ID is unreachable', body: 'Mubarokah ID cannot be reached right now. Please try again in a few moments.' }
  },
  FST_MUBAROKAH_PROVIDER_RESPONSE_INVALID: {
    id: { title: 'Mubarokah ID mengalami gangguan', body: 'Mubarokah ID mengirim jawaban yang tidak dapat diproses. Silakan coba lagi nanti.' },
    en: { title: 'Mubarokah ID is having problems', body: 'Mubarokah ID sent a response that could not be processed. Please try again later.' }
  },
  FST_MUBAROKAH_PROVIDER_RATE_LIMITED: {
    id: { title: 'Terlalu banyak permintaan', body: 'Mubarokah ID sedang membatasi permintaan. Silakan coba lagi dalam beberapa saat.' },
    en: { title: 'Too many requests', body: 'Mubarokah ID is limiting requests right now. Please try again in a few moments.' }
  },
  FST_MUBAROKAH_INSUFFICIENT_SCOPE: {
    id: { title: 'Izin belum diberikan', body: 'Aplikasi ini belum mendapat izin untuk melihat data tersebut. Login lagi dan setujui izin yang diminta.' },
    en: { title: 'Permission not granted', body: 'This app has not been granted permission to see that data. Log in again and approve the requested permission.' }
  },
  FST_MUBAROKAH_UNAPPROVED_SCOPE: {
    id: { title: 'Detail profil belum tersedia', body: 'Akses ke detail profil untuk aplikasi ini belum disetujui oleh admin Mubarokah ID.' },
    en: { title: 'Profile details unavailable', body: 'Access to profile details has not yet been approved for this app by the Mubarokah ID admins.' }
  },
  FST_MUBAROKAH_TOKEN_TYPE_UNSUPPORTED: {
    id: { title: 'Mubarokah ID mengalami gangguan', body: 'Mubarokah ID mengirim jenis token yang tidak didukung. Silakan coba lagi nanti.' },
    en: { title: 'Mubarokah ID is having problems', body: 'Mubarokah ID issued an unsupported token type. Please try again later.' }
  },
  FST_MUBAROKAH_UNAUTHENTICATED: {
    id: { title: 'Silakan login', body: 'Anda perlu login dengan Mubarokah ID untuk membuka halaman ini.' },
    en: { title: 'Please log in', body: 'You need to log in with Mubarokah ID to open this page.' }
  },
  FST_MUBAROKAH_GRANT_ENDED: {
    id: { title: 'Sesi berakhir', body: 'Sesi Anda di Mubarokah ID sudah berakhir. Silakan login lagi.' },
    en: { title: 'Session ended', body: 'Your Mubarokah ID session has ended. Please log in again.' }
  },
  FST_MUBAROKAH_REFRESH_UNAVAILABLE: {
    id: { title: 'Coba lagi sebentar', body: 'Sesi Anda tetap aman, tetapi Mubarokah ID sedang tidak dapat dihubungi. Silakan coba lagi dalam beberapa saat.' },
    en: { title: 'Try again shortly', body: 'Your session is safe, but Mubarokah ID cannot be reached right now. Please try again in a few moments.' }
  },
  FST_MUBAROKAH_SCOPE_REQUIRED: {
    id: { title: 'Izin tambahan diperlukan', body: 'Halaman ini memerlukan izin yang belum Anda berikan. Login lagi untuk menyetujuinya.' },
    en: { title: 'More permission needed', body: 'This page needs a permission you have not granted. Log in again to approve it.' }
  },
  FST_MUBAROKAH_STORE_UNAVAILABLE: {
    id: { title: 'Layanan sedang sibuk', body: 'Layanan sedang tidak tersedia sementara. Anda tetap login; silakan coba lagi dalam beberapa saat.' },
    en: { title: 'Service busy', body: 'The service is temporarily unavailable. You are still logged in; please try again in a few moments.' }
  },
  FST_MUBAROKAH_REQUEST_INVALID: {
    id: { title: 'Permintaan tidak valid', body: 'Alamat yang dibuka tidak valid. Silakan mulai lagi dari halaman utama.' },
    en: { title: 'Invalid request', body: 'The address you opened is not valid. Please start again from the home page.' }
  },
  FST_MUBAROKAH_ORIGIN_REJECTED: {
    id: { title: 'Permintaan ditolak', body: 'Permintaan keluar dari situs lain ditolak demi keamanan Anda.' },
    en: { title: 'Request rejected', body: 'A logout request from another site was rejected for your safety.' }
  },
  FST_MUBAROKAH_METHOD_NOT_ALLOWED: {
    id: { title: 'Permintaan tidak valid', body: 'Untuk keluar, gunakan tombol Keluar di aplikasi.' },
    en: { title: 'Invalid request', body: 'To log out, use the Log out button in the app.' }
  },
  FST_MUBAROKAH_RATE_LIMITED: {
    id: { title: 'Terlalu banyak percobaan', body: 'Terlalu banyak percobaan login. Silakan tunggu sebentar lalu coba lagi.' },
    en: { title: 'Too many attempts', body: 'Too many login attempts. Please wait a moment, then try again.' }
  }
}

export const FALLBACK: Bilingual = {
  id: { title: 'Terjadi kesalahan', body: 'Terjadi kesalahan yang tidak terduga. Silakan coba lagi nanti.' },
  en: { title: 'Something went wrong', body: 'An unexpected error occurred. Please try again later.' }
}

/** Labels on the plugin's pages. */
export const LABELS: Readonly<Record<Language, Readonly<Record<'login' | 'home' | 'errorId' | 'retry', string>>>> = {
  id: { login: 'Login dengan Mubarokah ID', home: 'Kembali ke beranda', errorId: 'Kode kesalahan', retry: 'Coba lagi' },
  en: { login: 'Login with Mubarokah ID', home: 'Back to home', errorId: 'Error ID', retry: 'Try again' }
}

export function messageFor (code: string, language: Language): UserMessage {
  return (ERROR_MESSAGES[code] ?? FALLBACK)[language]
}
