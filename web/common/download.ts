import { nodeFetch } from './fetch.js';
import { loggedIn } from './session.js';

/**
 * A link to a file of the node that still works when logged in. An `<a href>` cannot carry an
 * Authorization header, so while a session is on a click fetches the file with the token and
 * saves it from a blob URL (the file passes through the page's memory; results the page can
 * show are far smaller than a tab can hold). Logged out it is a plain link. Why not a
 * short-lived signed URL: that would put a credential in a URL, where histories, proxies and
 * logs keep it, and need a second credential scheme on the node; fetch+blob needs neither.
 */
export function downloadLink(
  href: string,
  filename: string,
  label: string | Node,
  attrs: Record<string, string> = {},
  options: {
    /** Logged out, let the browser open the link (a document to read) rather than save it. */
    readonly open?: boolean;
    readonly onError?: (message: string) => void;
  } = {},
): HTMLAnchorElement {
  const onError = options.onError ?? ((m: string) => window.alert(m));
  const a = document.createElement('a');
  a.href = href;
  if (!options.open) a.download = filename;
  for (const [k, v] of Object.entries(attrs)) a.setAttribute(k, v);
  a.append(label);
  a.addEventListener('click', (e) => {
    if (!loggedIn()) return;
    e.preventDefault();
    void saveWithRights(href, filename).catch((err: unknown) =>
      onError(`${filename} could not be downloaded: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  return a;
}

/** Fetches `href` with the user's rights and saves the answer as `filename`. */
export async function saveWithRights(href: string, filename: string): Promise<void> {
  const res = await nodeFetch(href);
  if (!res.ok)
    throw new Error(`the node answered ${res.status} ${res.statusText}: ${(await res.text()).slice(0, 500)}`);
  saveBlob(await res.blob(), filename);
}

export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
