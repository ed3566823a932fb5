import {
  DaliError,
  type DaliParams,
  parseMaxrec,
  parseResponseFormat,
  type ResponseFormat,
} from '../dali/index.js';
import type { TapLimits } from './capability.js';

/** One UPLOAD=name,URI (TAP-45, TAP-46). */
export interface UploadSpec {
  readonly name: string;
  readonly source:
    | { readonly kind: 'param'; readonly part: string }
    | { readonly kind: 'url'; readonly url: URL };
}

/** A TAP query request, parsed once at the edge (TAP-13..TAP-25). */
export interface TapQueryRequest {
  readonly query: string;
  readonly format: ResponseFormat;
  readonly maxrec: number;
  readonly runId: string | undefined;
  readonly uploads: readonly UploadSpec[];
}

const LANGS = new Set(['ADQL', 'ADQL-2.0', 'ADQL-2.1']);
const MAX_RUNID = 64;
const MAX_QUERY_CHARS = 1_000_000;

export function parseTapRequest(
  params: DaliParams,
  limits: TapLimits,
  extraSchemes: readonly string[] = [],
): TapQueryRequest {
  const request = params.get('REQUEST');
  // TAP-17: TAP 1.0 clients still send REQUEST=doQuery; nothing else was ever a query.
  if (request !== undefined && request.toLowerCase() !== 'doquery') {
    throw new DaliError(
      `REQUEST='${request}' is not supported; TAP 1.1 needs no REQUEST (doQuery is accepted)`,
    );
  }
  const lang = params.get('LANG');
  if (lang === undefined) throw new DaliError('LANG is missing: send LANG=ADQL with the query');
  if (!LANGS.has(lang.trim().toUpperCase())) {
    throw new DaliError(
      `LANG='${lang}' is not a query language of this service; use ADQL (ADQL-2.0 and ADQL-2.1 are accepted)`,
    );
  }
  const query = params.get('QUERY');
  if (query === undefined || query.trim() === '')
    throw new DaliError('QUERY is missing or empty: send the ADQL text as QUERY');
  if (query.length > MAX_QUERY_CHARS)
    throw new DaliError(`QUERY is ${query.length} characters; the limit is ${MAX_QUERY_CHARS}`);
  const responseFormat = params.get('RESPONSEFORMAT');
  const format = params.get('FORMAT');
  if (responseFormat !== undefined && format !== undefined && responseFormat !== format) {
    throw new DaliError('RESPONSEFORMAT and FORMAT disagree; give only RESPONSEFORMAT');
  }
  const runId = params.get('RUNID');
  if (runId !== undefined && runId.length > MAX_RUNID)
    throw new DaliError(`RUNID is longer than ${MAX_RUNID} characters`);
  return {
    query,
    format: parseResponseFormat(responseFormat ?? format),
    maxrec: parseMaxrec(params.get('MAXREC'), limits),
    runId,
    uploads: parseUploads(params.all('UPLOAD'), extraSchemes),
  };
}

/** UPLOAD values accumulate (TAP-24); names are ADQL regular identifiers, unique ignoring case (TAP-45, TAP-50). */
export function parseUploads(values: readonly string[], extraSchemes: readonly string[] = []): UploadSpec[] {
  const out: UploadSpec[] = [];
  const seen = new Set<string>();
  for (const raw of values) {
    for (const item of splitUploads(raw)) {
      const comma = item.indexOf(',');
      if (comma < 0) throw new DaliError(`UPLOAD='${item}' is not name,URI`);
      const name = item.slice(0, comma).trim();
      const uri = item.slice(comma + 1).trim();
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
        throw new DaliError(
          `UPLOAD table name '${name}' must start with a letter and hold only letters, digits and _`,
        );
      }
      if (seen.has(name.toLowerCase())) throw new DaliError(`UPLOAD names the table '${name}' twice`);
      seen.add(name.toLowerCase());
      if (uri.startsWith('param:')) {
        const part = uri.slice('param:'.length);
        if (!part) throw new DaliError(`UPLOAD '${name}' names no part after param:`);
        out.push({ name, source: { kind: 'param', part } });
        continue;
      }
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw new DaliError(`UPLOAD '${name}': '${uri}' is not a URI; use param:<part> or an http(s) URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:' && !extraSchemes.includes(url.protocol)) {
        throw new DaliError(
          `UPLOAD '${name}': the scheme ${url.protocol} is not supported; use param:<part>, http or https`,
        );
      }
      out.push({ name, source: { kind: 'url', url } });
    }
  }
  return out;
}

// Some clients send several uploads in one UPLOAD value separated by ';' (TAP 1.0 style).
function splitUploads(raw: string): string[] {
  return raw
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
