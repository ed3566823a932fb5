/**
 * application/x-www-form-urlencoded bodies (DALI-3: parameters may be POSTed as a form),
 * decoded as they arrive. A whole-body parser holds the event loop for the body's full
 * length at once: node's querystring took 30-360 ms on a 1.3 MB escaped ADQL query, during
 * which no other request was answered. Here each chunk the socket delivers (at most tens
 * of KB) is decoded on its own, so the work per turn of the loop is bounded by the chunk,
 * not the body; only the final join of each value is proportional to its length, and that
 * is a memory copy. No library decodes forms incrementally with querystring's semantics,
 * hence this module.
 *
 * Semantics are node's querystring.parse: '&' separates pairs, the first '=' separates
 * name and value, '+' is a space, %XX is a byte, a malformed escape is kept as written,
 * a repeated name gives an array in order, bytes are UTF-8.
 */
import type { Readable } from 'node:stream';

export type FormFields = Record<string, string | string[]>;

/** The body is longer than the byte limit or has more fields than allowed (413). */
export class FormTooLargeError extends Error {
  readonly statusCode = 413;
}

/** Longest form body accepted, bytes: room for a 1,000,000-character query fully escaped. */
export const MAX_FORM_BYTES = 16 * 1024 * 1024;

/** Most name=value pairs one form may carry (as multipart's field limit). */
export const MAX_FORM_FIELDS = 1000;

const PLUS = 0x2b;
const PERCENT = 0x25;
const EQUALS = 0x3d;
const AMPERSAND = 0x26;

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Incremental decoder: feed chunks in order, then end(). Decoded bytes of the current name
 * or value collect in one growing buffer (doubling), so a value costs one copy per doubling.
 */
export class FormDecoder {
  private readonly fields: FormFields = Object.create(null);
  private buf = Buffer.allocUnsafe(1024);
  private len = 0;
  private name: string | null = null;
  private count = 0;
  /** Bytes of an escape split across chunks ('%' or '%X'), kept until the next chunk. */
  private pending: number[] = [];

  write(chunk: Buffer): void {
    this.reserve(chunk.length + this.pending.length);
    let i = 0;
    if (this.pending.length > 0) {
      const joined = Buffer.concat([Buffer.from(this.pending), chunk.subarray(0, 2)]);
      const carried = this.pending.length;
      this.pending = [];
      const used = this.decodeEscapeAt(joined, 0);
      if (used === -1) {
        // Not enough bytes even now (a chunk of one byte): carry on.
        this.pending = [...joined];
        return;
      }
      // A '%X' carried whose next byte is no hex digit: the X is a plain byte.
      for (let k = used; k < carried; k++) this.buf[this.len++] = joined[k];
      i = Math.max(0, used - carried);
    }
    const n = chunk.length;
    while (i < n) {
      const b = chunk[i];
      if (b === AMPERSAND) {
        this.endPair();
        i++;
      } else if (b === EQUALS && this.name === null) {
        this.name = this.take();
        i++;
      } else if (b === PLUS) {
        this.buf[this.len++] = 0x20;
        i++;
      } else if (b === PERCENT) {
        const used = this.decodeEscapeAt(chunk, i);
        if (used === -1) {
          this.pending = [...chunk.subarray(i)];
          return;
        }
        i += used;
      } else {
        this.buf[this.len++] = b;
        i++;
      }
    }
  }

  end(): FormFields {
    if (this.pending.length > 0) {
      // A body ending in '%' or '%X': kept as written, as querystring does.
      for (const b of this.pending) this.buf[this.len++] = b;
      this.pending = [];
    }
    if (this.len > 0 || this.name !== null) this.endPair();
    return this.fields;
  }

  /** Decodes the escape at text[at] ('%'); returns bytes consumed, or -1 if text ends too soon. */
  private decodeEscapeAt(text: Buffer, at: number): number {
    if (at + 1 >= text.length) return -1;
    const hi = hexValue(text[at + 1]);
    if (hi !== -1) {
      if (at + 2 >= text.length) return -1;
      const lo = hexValue(text[at + 2]);
      if (lo !== -1) {
        this.buf[this.len++] = hi * 16 + lo;
        return 3;
      }
    }
    // Not an escape: the '%' is kept as written and what follows is read normally.
    this.buf[this.len++] = PERCENT;
    return 1;
  }

  private reserve(more: number): void {
    if (this.len + more <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + more) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  private take(): string {
    const s = this.buf.toString('utf8', 0, this.len);
    this.len = 0;
    return s;
  }

  private endPair(): void {
    // An empty pair ('&&') is no field; '=' alone is the empty name with an empty value.
    if (this.name === null && this.len === 0) return;
    let name: string;
    let value: string;
    if (this.name === null) {
      name = this.take();
      value = '';
    } else {
      name = this.name;
      value = this.take();
    }
    this.name = null;
    if (++this.count > MAX_FORM_FIELDS)
      throw new FormTooLargeError(`the form has more than ${MAX_FORM_FIELDS} fields`);
    const prior = this.fields[name];
    if (prior === undefined) this.fields[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else this.fields[name] = [prior, value];
  }
}

/** Reads a form body from its stream, chunk by chunk, refusing it past `limit` bytes. */
export async function readForm(body: Readable, limit: number): Promise<FormFields> {
  const decoder = new FormDecoder();
  let total = 0;
  for await (const chunk of body) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += b.length;
    if (total > limit) {
      body.destroy();
      throw new FormTooLargeError(`the form body is longer than ${limit} bytes`);
    }
    decoder.write(b);
  }
  return decoder.end();
}
