import type { FastifyReply } from 'fastify'

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;'
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character)
}

const STYLE = `
  :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #eef4f2; }
  main { box-sizing: border-box; width: min(27rem, calc(100% - 2rem)); margin: 2rem 0; padding: 2rem;
    background: #fff; border-radius: 12px; box-shadow: 0 6px 28px rgba(15, 61, 46, 0.14); }
  .brand { margin: 0; color: #0f766e; font-weight: 700; letter-spacing: 0.02em; }
  .badge { display: inline-block; margin-top: 0.35rem; padding: 0.15rem 0.6rem; border-radius: 999px;
    background: #fef3c7; color: #92400e; font-size: 0.75rem; }
  h1 { margin: 1rem 0 0.5rem; font-size: 1.35rem; }
  p, li { line-height: 1.5; }
  .translation { margin-top: 0; color: #52606d; font-style: italic; }
  label { display: block; margin: 1rem 0 0.35rem; font-weight: 600; }
  input { box-sizing: border-box; width: 100%; padding: 0.6rem 0.75rem; border: 1px solid #cbd2d9;
    border-radius: 8px; font: inherit; }
  input:focus { outline: 2px solid #14b8a6; border-color: transparent; }
  .actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-top: 1.5rem; }
  button { padding: 0.65rem 1.2rem; border: 1px solid #0f766e; border-radius: 8px; background: #0f766e;
    color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
  button.secondary { background: #fff; color: #0f766e; }
  .error { padding: 0.6rem 0.8rem; border-radius: 8px; background: #fde8e8; color: #9b1c1c; }
  .hint { color: #616e7c; font-size: 0.875rem; }
  code { padding: 0.1rem 0.3rem; border-radius: 4px; background: #f0f4f8; }
`

/** Wraps page content in a complete HTML document with the provider's header and styling. */
export function renderDocument (title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Mubarokah ID (development)</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="brand">Mubarokah ID</p>
<span class="badge">Development provider · not the real Mubarokah ID</span>
${content}
</main>
</body>
</html>
`
}

/**
 * Sends an HTML page. The headers keep the login and consent pages out of caches and frames
 * (clickjacking), and the policy allows only the inline style sheet.
 */
export function sendHtml (reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .send(html)
}
