/**
 * Every request the pages make to the node goes through `nodeFetch`, so a login (issue 18,
 * item 5) adds its Authorization header here, in one place, for every page and every call.
 */

/** The node's root: the bundles live at <root>/web/assets/, so this holds behind a proxy too. */
export const NODE_ROOT = new URL('../../', import.meta.url);

/** A node URL from a path relative to the node's root ('tap/sync', 'moc/products?format=json'). */
export const nodeUrl = (path: string) => new URL(path, NODE_ROOT).href;

/** Headers every request to the node carries; a login sets them (empty while logged out). */
const extraHeaders = new Headers();

/** Sets (or, with null, removes) a header sent with every request to the node. */
export function setNodeHeader(name: string, value: string | null): void {
  if (value === null) extraHeaders.delete(name);
  else extraHeaders.set(name, value);
}

/**
 * `fetch` for the node: the URL may be a path relative to the node's root or an absolute URL
 * the node gave (a job's result, a DataLink access_url). The extra headers go only to the
 * node's own origin, never to another host a document names.
 */
export function nodeFetch(url: string, init: RequestInit = {}): Promise<Response> {
  const target = new URL(url, NODE_ROOT);
  if (target.origin !== NODE_ROOT.origin || [...extraHeaders.keys()].length === 0)
    return fetch(target.href, init);
  const headers = new Headers(init.headers);
  for (const [k, v] of extraHeaders) if (!headers.has(k)) headers.set(k, v);
  return fetch(target.href, { ...init, headers });
}
