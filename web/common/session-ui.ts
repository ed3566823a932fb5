import { nodeUrl } from './root.js';
import { currentSession, type EndReason, loginConfig, logout, SESSION_EVENT, startLogin } from './session.js';

const el = (tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
};

const ENDED: Record<EndReason, string> = {
  logout: 'Logged out.',
  expired: 'Your login has expired: log in again to see your data.',
  refused: 'The node no longer accepts your login: log in again to see your data.',
};

/**
 * The session region of a page's header: "Log in", or who is logged in with links to the
 * token page and "Log out". Nothing at all on a node that offers no login. `onChange` runs
 * when the session ends while the page is open (default: reload, so everything the page
 * shows is read again with the rights it now has).
 */
export function mountSession(region: HTMLElement, onChange: () => void = () => location.reload()): void {
  region.setAttribute('aria-label', 'Login');
  // Why the last session ended, said until the next login; kept here, not passed along, so
  // that two renders overlapping (each awaits the login settings) show the same.
  let note: string | undefined;
  const render = async () => {
    const s = currentSession();
    if (s) {
      const groups = s.groups.length > 0 ? ` (${s.groups.join(', ')})` : '';
      const out = el('button', { type: 'button', id: 'logout' }, 'Log out');
      out.addEventListener('click', () => logout());
      region.replaceChildren(
        el('span', {}, 'Logged in as ', el('span', { class: 'who' }, s.sub), groups),
        el('a', { href: nodeUrl('web/token'), id: 'token-link' }, 'Personal token'),
        out,
      );
      return;
    }
    const config = await loginConfig();
    if (!config.issuer) return region.replaceChildren(note ? el('span', { role: 'status' }, note) : '');
    const login = el('button', { type: 'button', id: 'login' }, 'Log in');
    const problem = el('span', { role: 'alert', class: 'error', hidden: '' });
    login.addEventListener('click', () => {
      startLogin().catch((err: unknown) => {
        problem.textContent = `Login failed: ${err instanceof Error ? err.message : String(err)}`;
        problem.hidden = false;
      });
    });
    region.replaceChildren(...(note ? [el('span', { role: 'status' }, note)] : []), login, problem);
  };
  window.addEventListener(SESSION_EVENT, (e) => {
    const reason = (e as CustomEvent<{ reason: string }>).detail?.reason;
    note = reason === 'login' ? undefined : ENDED[reason as EndReason];
    if (reason === 'logout') return void render().then(onChange);
    void render();
  });
  void render();
}
