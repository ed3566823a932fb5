/** The node's root: the bundles live at <root>/web/assets/, so this holds behind a proxy too. */
export const NODE_ROOT = new URL('../../', import.meta.url);

/** A node URL from a path relative to the node's root ('tap/sync', 'moc/products?format=json'). */
export const nodeUrl = (path: string) => new URL(path, NODE_ROOT).href;

/** Whether `url` is one of this node's own (same origin, under its root): only those get the token. */
export function isNodeUrl(url: URL): boolean {
  return url.origin === NODE_ROOT.origin && url.pathname.startsWith(NODE_ROOT.pathname);
}
