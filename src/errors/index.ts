import { randomBytes } from 'node:crypto';

/**
 * Failures of the node itself, as clients and operators see them. A client never reads the
 * text of an internal error (it can name files, tables, addresses or SQL); it reads a short
 * message with a reference that the log line carries too, so an operator finds the cause
 * from what a user reports (issue 13, "internal errors logged with an id").
 */

/** What is needed of a logger: pino's and Fastify's request loggers fit. */
export interface ErrorLog {
  error(obj: object, msg: string): void;
}

/** A fresh error reference: 12 hex digits, enough to be unique in any log. */
export function newErrorId(): string {
  return randomBytes(6).toString('hex');
}

/** The client's text for an internal error with this reference. */
export function internalErrorMessage(id: string): string {
  return `internal error, reference ${id}; the operator can find it in the log`;
}

/**
 * Logs `err` under a new reference and returns the client's message. `what` says where it
 * happened (e.g. 'SIA query failed'); `context` adds fields such as a job id.
 */
export function reportInternalError(log: ErrorLog, err: unknown, what: string, context: object = {}): string {
  const id = newErrorId();
  log.error({ err, errorId: id, ...context }, what);
  return internalErrorMessage(id);
}

/**
 * A request whose text holds a NUL character (U+0000). No protocol of the node has a use
 * for one, PostgreSQL cannot store one in text, and file APIs stop at one: it is refused as
 * a bad request at the edge rather than failing deep inside (400, not 500).
 */
export class NulInputError extends Error {
  readonly statusCode = 400;
  constructor(readonly where: string) {
    super(`${where} holds a NUL character (U+0000), which no parameter of this service may contain`);
    this.name = 'NulInputError';
  }
}

/** Whether a string holds a NUL character. */
export const hasNul = (text: string): boolean => text.includes('\u0000');

/**
 * Where, if anywhere, a parsed body (form fields, JSON) holds a NUL character in a name or
 * a string value; nesting is followed to a fixed depth (deeper bodies are refused elsewhere).
 */
export function findNul(value: unknown, path = 'the request body', depth = 0): string | undefined {
  if (typeof value === 'string') return hasNul(value) ? path : undefined;
  if (!value || typeof value !== 'object' || depth > 32) return undefined;
  if (Buffer.isBuffer(value)) return undefined;
  if (Array.isArray(value)) {
    for (const v of value) {
      const found = findNul(v, path, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (hasNul(k)) return `a parameter name in ${path}`;
    const found = findNul(v, `the parameter ${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Where a request URL holds a NUL character, percent-encoded (%00) in its path or query,
 * or undefined. Overlong or malformed encodings of it are not NUL for any decoder here.
 */
export function nulInUrl(url: string): string | undefined {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (/%00/i.test(path)) return 'the request path';
  if (q >= 0 && /%00/i.test(url.slice(q))) return 'the query string';
  return undefined;
}

// What the multipart reader (busboy, under @fastify/multipart) says of a body that is not
// well-formed multipart/form-data (RFC 7578): the client's fault, so a 400, never a 500.
const MALFORMED_MULTIPART =
  /^(Unexpected end of (multipart data|form)|Multipart: Boundary not found|Malformed part header|Part terminated early|Malformed urlencoded form)/;

/** The client's message when `err` says the request body could not be read as sent, else undefined. */
export function malformedBodyMessage(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : '';
  if ((err as { statusCode?: number }).statusCode === undefined && MALFORMED_MULTIPART.test(message))
    return `the request body is not well-formed multipart/form-data (${message})`;
  return undefined;
}
