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

/** The session region of a page's header (web/common/session-ui.ts): log in, who, log out. */
export const SESSION_STYLE = `
.session{margin-left:auto;display:flex;gap:.6rem;align-items:baseline;flex-wrap:wrap}
.session .who{font-weight:600}
`;
