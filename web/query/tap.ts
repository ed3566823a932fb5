/**
 * The node's TAP service as the page uses it: the same requests any TAP client sends
 * (TAP 1.1 sync and async, DALI parameters, UWS job documents), no private API.
 */

import { nodeFetch } from '../common/fetch.js';
import { nodeUrl } from '../common/root.js';

export { nodeUrl };

export interface QueryParams {
  readonly query: string;
  /** Empty: the node's default MAXREC. */
  readonly maxrec: string;
  readonly format: string;
  readonly upload?: { readonly name: string; readonly file: Blob };
}

/** A refusal or failure as the page shows it: the message and, for ADQL errors, where. */
export interface TapError {
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  readonly token?: string;
}

const UPLOAD_PART = 'upload1';

/** The request body: urlencoded, or multipart when a table is uploaded (TAP-30, DALI-26). */
export function queryBody(p: QueryParams, extra: Record<string, string> = {}): URLSearchParams | FormData {
  const fields: Record<string, string> = {
    REQUEST: 'doQuery',
    LANG: 'ADQL',
    QUERY: p.query,
    RESPONSEFORMAT: p.format,
    ...extra,
  };
  if (p.maxrec.trim() !== '') fields.MAXREC = p.maxrec.trim();
  if (!p.upload) return new URLSearchParams(fields);
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('UPLOAD', `${p.upload.name},param:${UPLOAD_PART}`);
  form.append(UPLOAD_PART, p.upload.file, `${p.upload.name}.xml`);
  return form;
}

/** A GET URL of the synchronous query in a format: a plain link downloads it (no upload). */
export function syncUrl(p: QueryParams): string {
  const body = queryBody({ ...p, upload: undefined });
  return `${nodeUrl('tap/sync')}?${(body as URLSearchParams).toString()}`;
}

const text = (el: Element | null | undefined) => el?.textContent ?? '';

/**
 * The DALI error document (DALI-43): QUERY_STATUS=ERROR's text, and where an ADQL error lies
 * (the ADQL_ERROR_* INFOs the node adds; older nodes only say "at line L, column C").
 */
export function parseErrorDocument(body: string): TapError | undefined {
  const doc = new DOMParser().parseFromString(body, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length > 0) return undefined;
  const infos = [...doc.getElementsByTagName('INFO')];
  const info = (name: string) => infos.find((i) => i.getAttribute('name') === name);
  const status = infos.find(
    (i) => i.getAttribute('name') === 'QUERY_STATUS' && i.getAttribute('value') === 'ERROR',
  );
  if (!status) return undefined;
  const message = text(status).trim() || 'the service refused the query without saying why';
  let line = Number(info('ADQL_ERROR_LINE')?.getAttribute('value') ?? Number.NaN);
  let column = Number(info('ADQL_ERROR_COLUMN')?.getAttribute('value') ?? Number.NaN);
  if (!Number.isFinite(line)) {
    const m = /\(at line (\d+), column (\d+)/.exec(message);
    if (m) [line, column] = [Number(m[1]), Number(m[2])];
  }
  const token = info('ADQL_ERROR_TOKEN')?.getAttribute('value') ?? undefined;
  return Number.isFinite(line) && Number.isFinite(column) ? { message, line, column, token } : { message };
}

/** What a failed response says, whatever its form (error VOTable, text, an HTTP status alone). */
export async function responseError(res: Response): Promise<TapError> {
  const body = await res.text().catch(() => '');
  const parsed = body.includes('QUERY_STATUS') ? parseErrorDocument(body) : undefined;
  if (parsed) return parsed;
  const retry = res.headers.get('Retry-After');
  const said = body.trim().slice(0, 2000);
  return {
    message:
      `the node answered ${res.status} ${res.statusText}${said ? `: ${said}` : ''}` +
      (retry ? ` (it asks to try again in ${retry} s)` : ''),
  };
}

/** A fetch that failed before any answer: the node is down or the network is gone. */
export const connectionError = (err: unknown): TapError => ({
  message:
    err instanceof DOMException && err.name === 'AbortError'
      ? 'stopped'
      : `the node could not be reached (${err instanceof Error ? err.message : String(err)}); check the network connection and try again`,
});

// --- UWS (async jobs) ---

const UWS_NS = 'http://www.ivoa.net/xml/UWS/v1.0';
const XLINK_NS = 'http://www.w3.org/1999/xlink';

export interface JobInfo {
  readonly id: string;
  readonly url: string;
  readonly phase: string;
  readonly creationTime?: string;
  readonly startTime?: string;
  readonly endTime?: string;
  readonly results: ReadonlyArray<{ readonly id: string; readonly href: string }>;
  readonly errorSummary?: string;
  readonly query?: string;
}

export function parseJob(xml: string, url: string): JobInfo {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const one = (name: string) => doc.getElementsByTagNameNS(UWS_NS, name)[0];
  const opt = (name: string) => {
    const el = one(name);
    return el && el.getAttribute('xsi:nil') !== 'true' && text(el).trim() !== ''
      ? text(el).trim()
      : undefined;
  };
  const id = opt('jobId');
  if (!id) throw new Error('the node answered with something that is not a UWS job document');
  const results = [...doc.getElementsByTagNameNS(UWS_NS, 'result')].map((r) => ({
    id: r.getAttribute('id') ?? 'result',
    href: r.getAttributeNS(XLINK_NS, 'href') ?? r.getAttribute('xlink:href') ?? '',
  }));
  const query = [...doc.getElementsByTagNameNS(UWS_NS, 'parameter')].find(
    (p) => p.getAttribute('id')?.toUpperCase() === 'QUERY',
  );
  const summary = one('errorSummary');
  return {
    id,
    url,
    phase: opt('phase') ?? 'UNKNOWN',
    creationTime: opt('creationTime'),
    startTime: opt('startTime'),
    endTime: opt('endTime'),
    results,
    errorSummary: summary
      ? text(summary.getElementsByTagNameNS(UWS_NS, 'message')[0]).trim() || undefined
      : undefined,
    query: query ? text(query) : undefined,
  };
}

/** Creates and starts a TAP async job (TAP-8: POST to the job list with PHASE=RUN). */
export async function startJob(p: QueryParams): Promise<JobInfo> {
  const res = await nodeFetch(nodeUrl('tap/async'), { method: 'POST', body: queryBody(p, { PHASE: 'RUN' }) });
  if (!res.ok) throw await responseError(res);
  return parseJob(await res.text(), res.url);
}

export async function readJob(url: string, signal?: AbortSignal): Promise<JobInfo> {
  const res = await nodeFetch(url, { signal, headers: { Accept: 'application/xml' } });
  if (!res.ok) throw await responseError(res);
  return parseJob(await res.text(), url);
}

export async function deleteJob(url: string): Promise<void> {
  const res = await nodeFetch(url, { method: 'DELETE' });
  // A job already destroyed is as good as deleted.
  if (!res.ok && res.status !== 404) throw await responseError(res);
}

/** The DALI error document of a failed job (UWS /error), with the position if the ADQL was wrong. */
export async function jobError(job: JobInfo): Promise<TapError> {
  try {
    const res = await nodeFetch(`${job.url}/error`);
    const body = await res.text();
    return parseErrorDocument(body) ?? { message: job.errorSummary ?? (body.trim() || 'the job failed') };
  } catch {
    return { message: job.errorSummary ?? 'the job failed' };
  }
}
