import { nodeUrl } from '../common/root.js';
import { completeLogin, currentSession, SESSION_EVENT, type Session, startLogin } from '../common/session.js';
import { mountSession } from '../common/session-ui.js';

/**
 * The login's two pages (src/web/login-pages.ts): /web/callback finishes the authorization
 * code flow and goes back to the page that started it; /web/token shows the access token to
 * paste into pyvo, TOPCAT or curl.
 */

const el = (tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
};

const callback = document.getElementById('callback');
const tokenRegion = document.getElementById('token-page');
const sessionRegion = document.getElementById('session');

if (callback) {
  const url = new URL(location.href);
  // The code leaves the address bar (and the history) at once; it is single-use anyway.
  history.replaceState(null, '', location.pathname);
  completeLogin(url).then(
    (back) => {
      callback.replaceChildren(el('p', {}, 'Logged in; going back…'));
      location.replace(back);
    },
    (err: unknown) => {
      callback.setAttribute('role', 'alert');
      callback.replaceChildren(
        el('p', { class: 'error' }, `Login failed: ${err instanceof Error ? err.message : String(err)}`),
        el('p', {}, el('a', { href: nodeUrl('web/query') }, 'Back to the query page'), ' (logged out)'),
      );
    },
  );
}

function when(ms: number): string {
  const minutes = Math.round((ms - Date.now()) / 60000);
  const left = minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${Math.max(minutes, 0)} minutes`;
  return `${new Date(ms).toLocaleString()} (in about ${left})`;
}

function pyvoSnippet(tap: string): string {
  return `import pyvo, requests
from pyvo.auth import AuthSession

token = open("token.txt").read().strip()   # the token above, saved to a file
bearer = requests.Session()
bearer.headers["Authorization"] = f"Bearer {token}"
auth = AuthSession()
auth.credentials.set("ivo://ivoa.net/sso#OAuth", bearer)

tap = pyvo.dal.TAPService("${tap}", session=auth)
print(tap.search("SELECT TOP 5 obs_publisher_did FROM ivoa.obscore").to_table())`;
}

function renderToken(region: HTMLElement, s: Session | undefined): void {
  if (!s) {
    const login = el('button', { type: 'button' }, 'Log in');
    const problem = el('p', { role: 'alert', class: 'error', hidden: '' });
    login.addEventListener('click', () =>
      startLogin(location.href).catch((err: unknown) => {
        problem.textContent = `Login failed: ${err instanceof Error ? err.message : String(err)}`;
        problem.hidden = false;
      }),
    );
    region.replaceChildren(
      el('p', { id: 'logged-out' }, 'You are not logged in: there is no personal token to show.'),
      el(
        'p',
        {},
        'Everything public works without one. ',
        login,
        ' to get a token with your groups’ rights.',
      ),
      problem,
    );
    return;
  }
  const tap = nodeUrl('tap');
  const text = el('textarea', {
    id: 'token',
    class: 'token',
    readonly: '',
    'aria-describedby': 'token-hint',
  });
  (text as HTMLTextAreaElement).value = s.accessToken;
  const copied = el('span', { role: 'status', id: 'copy-status' });
  const copy = el('button', { type: 'button', id: 'copy' }, 'Copy the token');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(s.accessToken);
      copied.textContent = 'Copied.';
    } catch {
      // No clipboard permission: leave it selected for Ctrl+C.
      (text as HTMLTextAreaElement).select();
      copied.textContent = 'Selected: press Ctrl+C to copy.';
    }
  });
  region.replaceChildren(
    el(
      'p',
      {},
      'Logged in as ',
      el('strong', { id: 'token-sub' }, s.sub),
      s.groups.length > 0 ? `, member of ${s.groups.join(', ')}.` : ', in no group.',
    ),
    el('label', { for: 'token' }, 'Your access token'),
    text,
    el('p', {}, copy, ' ', copied),
    el(
      'p',
      { id: 'token-hint' },
      s.expiresAt !== undefined
        ? el('span', { id: 'token-expiry' }, `It expires ${when(s.expiresAt)}. `)
        : 'The identity provider did not say when it expires. ',
      'Whoever holds it has your rights until then: treat it like a password. Logging out forgets it in this tab.',
    ),
    el('h2', {}, 'pyvo'),
    el('pre', {}, el('code', { id: 'pyvo-snippet' }, pyvoSnippet(tap))),
    el('h2', {}, 'TOPCAT and STILTS'),
    el(
      'p',
      {},
      'Use the TAP URL ',
      el('code', {}, nodeUrl('login/tap')),
      ' and, when asked, any user name with the token as the password.',
    ),
    el('h2', {}, 'curl'),
    el(
      'pre',
      {},
      el(
        'code',
        {},
        `curl -H "Authorization: Bearer $TOKEN" "${tap}/sync?LANG=ADQL&QUERY=SELECT+TOP+5+*+FROM+ivoa.obscore"`,
      ),
    ),
  );
}

if (sessionRegion) mountSession(sessionRegion, () => tokenRegion && renderToken(tokenRegion, undefined));
if (tokenRegion) {
  renderToken(tokenRegion, currentSession());
  window.addEventListener(SESSION_EVENT, () => renderToken(tokenRegion, currentSession()));
}
