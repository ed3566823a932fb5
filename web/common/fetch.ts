/**
 * Every request the pages make to the node goes through `nodeFetch`: it carries the user's
 * rights (the session's bearer token, web/common/session.ts) for every page and every call,
 * so the query page, the sky view and the product pages all show what the user may see.
 */

import { isNodeUrl, NODE_ROOT } from './root.js';
import { authHeaders, endSession } from './session.js';

/**
 * `fetch` for the node: the URL may be a path relative to the node's root or an absolute URL
 * the node gave (a job's result, a DataLink access_url). Only requests to this node carry the
 * token (it must never go to another host a document names). A 401 to a request that carried
 * it means the node no longer takes the token (expired, revoked, key rotated): the session
 * ends, the page says so (SESSION_EVENT) and the request is sent again without it, so public
 * data keeps working. The pages' bodies (forms, URLSearchParams) can be sent again.
 */
export async function nodeFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const target = new URL(url, NODE_ROOT);
  const auth = isNodeUrl(target) ? authHeaders() : {};
  if (!auth.Authorization) return fetch(target, init);
  const headers = new Headers(init.headers);
  headers.set('Authorization', auth.Authorization);
  const res = await fetch(target, { ...init, headers });
  if (res.status !== 401) return res;
  endSession('refused');
  return fetch(target, init);
}
