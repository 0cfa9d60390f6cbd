import type { Language, UserMessage } from './messages.js'
import { LABELS } from './messages.js'

export interface PageInput {
  readonly language: Language
  readonly message: UserMessage
  readonly errorId?: string
  readonly links: ReadonlyArray<{ href: string, label: string }>
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] as string)
}

const STYLE = `body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f6f5;color:#1f2a24}
main{max-width:32rem;margin:12vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.4rem;margin:0 0 .75rem;color:#0b6b3a}p{line-height:1.5}
a{display:inline-block;margin:1rem 1rem 0 0;color:#0b6b3a;font-weight:600}.id{color:#6b756f;font-size:.85rem}`

/** Renders a small self-contained page (no scripts, no external resources) for an end user. */
export function renderPage (input: PageInput): string {
  const errorLine = input.errorId === undefined
    ? ''
    : `<p class="id">${escapeHtml(LABELS[input.language].errorId)}: <code>${escapeHtml(input.errorId)}</code></p>`
  const links = input.links.map((link) => `<a href="${escapeHtml(link.href)}">${escapeHtml(link.label)}</a>`).join('')
  return `<!doctype html>
<html lang="${input.language}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(input.message.title)}</title><style>${STYLE}</style></head>
<body><main><h1>${escapeHtml(input.message.title)}</h1><p>${escapeHtml(input.message.body)}</p>${errorLine}<nav>${links}</nav></main></body>
</html>
`
}
