/** Text for HTML content and attribute values. */
export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * Style every page shares. Colours keep a contrast ratio of at least 4.5:1 on white (WCAG 2.1
 * AA, issue 18 item 6); focus stays visible for keyboard users.
 */
export const PAGE_STYLE = `body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:96rem;padding:0 1rem;color:#1b1b1b;background:#fff}
a{color:#0b4f9c}
table{border-collapse:collapse}td,th{padding:.4rem .6rem;border-bottom:1px solid #ddd;text-align:left}
code{font-size:.95em}
:focus-visible{outline:2px solid #0b4f9c;outline-offset:2px}
button{font:inherit;padding:.25rem .7rem;border:1px solid #5a5a5a;border-radius:3px;background:#f2f2f2;color:#1b1b1b;cursor:pointer}
button:disabled{color:#6b6b6b;cursor:default}
input,select{font:inherit}
`;

/** The pages for people, in the order the header links them. */
const PAGES: ReadonlyArray<readonly [string, string]> = [
  ['query', 'ADQL query'],
  ['sky', 'Sky view'],
  ['products', 'Products'],
];

/**
 * The links between the pages, in a <nav> landmark; the current page is marked for screen
 * readers (aria-current). Paths are relative to /web/.
 */
function pagesNav(current: string): string {
  const links = PAGES.map(([path, label]) =>
    path === current
      ? `<a href="${path}" aria-current="page">${label}</a>`
      : `<a href="${path}">${label}</a>`,
  ).join(' ');
  return `<nav class="pages" aria-label="Pages">${links}</nav>`;
}

/**
 * Every page's header: the node, the page's title, the links between the pages and the
 * session region (#session), which web/common/session-ui.ts fills with "Log in" or who is
 * logged in. `current` names the page in the nav ('' for a page the nav does not list).
 */
export function pageHeader(nodeName: string, title: string, current: string): string {
  return `<header class="top"><a href="../">${escapeHtml(nodeName)}</a> <span aria-hidden="true">›</span> <h1>${escapeHtml(title)}</h1> ${pagesNav(current)}
<div id="session" class="session"></div></header>`;
}

/** Style of pageHeader's header: the nav pushed right, the session region after it. */
export const HEADER_STYLE = `.top{display:flex;gap:.5rem .8rem;align-items:baseline;flex-wrap:wrap}.top h1{font-size:1.4rem;margin:0}
.pages{margin-left:auto;display:flex;gap:.8rem}.pages a[aria-current]{font-weight:600;color:#1b1b1b;text-decoration:none}
.session{display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}.session .who{font-weight:600}
`;
