import { type Field, type Info, parseCells, TableDataReader } from '../query/votable-stream.js';
import { nodeFetch } from './fetch.js';

export type { Field, Info };

/** A whole TABLEDATA table as the pages use it: small results (footprints, links, a search). */
export interface Table {
  readonly fields: Field[];
  readonly rows: Array<Array<string | null>>;
  /** QUERY_STATUS: OK, OVERFLOW or ERROR (DALI-47), with its text. */
  readonly status: string;
  readonly statusText: string;
}

/** A failure the page says in words: a refusal of the node, or no answer at all. */
export class NodeError extends Error {
  constructor(
    message: string,
    /** True when the node could not be reached (network down, node stopped). */
    readonly unreachable = false,
  ) {
    super(message);
  }
}

const infoOf = (infos: Info[], name: string) => infos.find((i) => i.name === name);

/** The message of a refusal: a VOTable error document's QUERY_STATUS text, or the text body. */
export async function refusal(res: Response): Promise<NodeError> {
  const body = await res.text().catch(() => '');
  const m = /<INFO[^>]*name="QUERY_STATUS"[^>]*value="ERROR"[^>]*>([\s\S]*?)<\/INFO>/.exec(body);
  const text = (m ? m[1]! : body.replace(/<[^>]+>/g, ' '))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  return new NodeError(`${res.status} ${res.statusText}${text ? `: ${text}` : ''}`);
}

/** A request to the node; a failure before any answer becomes a NodeError saying so. */
export async function request(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await nodeFetch(url, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new NodeError(
      'The node could not be reached: the network connection was lost or the node is down. Try again when it is back.',
      true,
    );
  }
}

/**
 * Reads a TABLEDATA VOTable answer whole (the query page's incremental reader, web/query):
 * an HTTP error or an ERROR status before the table is thrown as a NodeError.
 */
export async function readTable(url: string, init: RequestInit = {}): Promise<Table> {
  const res = await request(url, init);
  if (!res.ok) throw await refusal(res);
  let fields: Field[] = [];
  let head: Info[] = [];
  let tail: Info[] = [];
  let complete = false;
  const raw: string[] = [];
  const reader = new TableDataReader({
    header: (f, i) => {
      fields = f;
      head = i;
    },
    rows: (r) => {
      raw.push(...r);
    },
    end: (i, c) => {
      tail = i;
      complete = c;
    },
  });
  try {
    reader.push(await res.text());
  } catch {
    throw new NodeError('The connection was lost while the answer arrived. Try again.', true);
  }
  reader.end();
  const status = infoOf(tail, 'QUERY_STATUS') ?? infoOf(head, 'QUERY_STATUS');
  if (status?.value === 'ERROR' && raw.length === 0)
    throw new NodeError(status.text || 'the node refused the request');
  if (!complete && fields.length === 0)
    throw new NodeError('The node answered with something that is not a VOTable table.');
  return {
    fields,
    rows: raw.map(parseCells),
    status: status?.value ?? (complete ? 'OK' : 'ERROR'),
    statusText: status?.text ?? (complete ? '' : 'the answer stopped before the table ended'),
  };
}

/** A column's index by name (case-insensitive), or -1. */
export const column = (t: Table, name: string) =>
  t.fields.findIndex((f) => f.name.toLowerCase() === name.toLowerCase());

/** A TAP synchronous query answered as TABLEDATA (TAP 1.1 §3, DALI RESPONSEFORMAT). */
export function tapQuery(query: string, maxrec?: number): Promise<Table> {
  const body = new URLSearchParams({
    REQUEST: 'doQuery',
    LANG: 'ADQL',
    QUERY: query,
    RESPONSEFORMAT: 'votable/td',
  });
  if (maxrec !== undefined) body.set('MAXREC', String(maxrec));
  return readTable('tap/sync', { method: 'POST', body });
}

/** ADQL string literal. */
export const adqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
