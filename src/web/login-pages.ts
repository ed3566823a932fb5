import { escapeHtml, HEADER_STYLE, PAGE_STYLE, pageHeader } from './html.js';

/** How the pages log in (src/auth settings): the issuer, the pages' public client id, the scopes. */
export interface LoginConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
}

/**
 * What /web/login.json says: what web/common/session.ts needs to start a login. The redirect
 * URI is not here: the page derives it from its own origin (<node>/web/callback), so the
 * callback lands where the login began and finds its state in sessionStorage.
 */
export function loginDocument(login: LoginConfig | undefined): Record<string, string> {
  return login ? { issuer: login.issuer, client_id: login.clientId, scope: login.scope } : {};
}

function shell(title: string, nodeName: string, script: string, body: string): string {
  const name = escapeHtml(nodeName);
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · ${name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}${LOGIN_STYLE}</style>
<script type="module" src="${escapeHtml(script)}"></script>
</head>
<body>
${pageHeader(nodeName, title, '')}
<main>
${body}
</main>
<noscript><p class="error">This page needs JavaScript.</p></noscript>
</body></html>
`;
}

/** The redirect URI of the pages' login: finishes the code exchange, then goes back. */
export function callbackPage(nodeName: string, script: string): string {
  return shell(
    'Logging in',
    nodeName,
    script,
    `<div id="callback" role="status" aria-live="polite"><p>Completing the login…</p></div>`,
  );
}

/** The personal token: to paste into pyvo, TOPCAT or curl. */
export function tokenPage(nodeName: string, script: string): string {
  return shell(
    'Personal access token',
    nodeName,
    script,
    `<div id="token-page" aria-live="polite"><p>Reading the session…</p></div>`,
  );
}

const LOGIN_STYLE = `${HEADER_STYLE}
main{max-width:60rem}
textarea.token{width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;font-size:.85rem;height:7rem}
pre{background:#f4f4f4;padding:.6rem;overflow:auto}
.error,[role=alert]{border-left:4px solid #b00020;background:#fdecee;color:#5f0010;padding:.5rem .8rem;margin:.5rem 0}
.ok{border-left:4px solid #1d6b32;background:#e9f6ec;padding:.4rem .8rem;margin:.5rem 0}
.hint{color:#3d3d3d;font-size:.9em}
`;
