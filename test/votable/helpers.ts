import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ReaderLimits, type ReadField, readVOTable } from '../../votable/index.js';

export async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

export async function readAll(
  input: Buffer | string | AsyncIterable<Buffer | string>,
  limits?: ReaderLimits,
  pieceSize = 4093,
): Promise<{ fields: ReadField[]; rows: unknown[][]; serialization: string }> {
  async function* pieces(): AsyncGenerator<Buffer | string> {
    if (typeof input === 'string' || Buffer.isBuffer(input)) {
      // Odd piece sizes split tags, UTF-8 sequences and base64 quads on purpose.
      for (let i = 0; i < input.length; i += pieceSize) yield input.slice(i, i + pieceSize);
    } else yield* input;
  }
  let fields: ReadField[] = [];
  let serialization = '';
  const rows: unknown[][] = [];
  for await (const ev of readVOTable(pieces(), limits)) {
    if (ev.kind === 'fields') {
      fields = ev.fields;
      serialization = ev.serialization;
    } else rows.push(...ev.rows);
  }
  return { fields, rows, serialization };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'vonode-votable-'));
}

export function writeTemp(dir: string, name: string, data: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

export function run(
  cmd: string,
  args: string[],
  timeout = 120_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/**
 * Cross-client normal form: clients differ legitimately in how they present nulls (masked,
 * '', [], NaN, magic values in arrays), so all of those become null; numbers compare as
 * numbers, longs as decimal strings.
 */
export function norm(v: unknown, magic?: string): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') {
    if (magic !== undefined && String(v) === magic) return null;
    return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  }
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return null;
    if (magic !== undefined && String(v) === magic) return null;
    return v;
  }
  if (typeof v === 'string') {
    if (v === 'NaN') return null;
    if (v === '+Inf') return Number.POSITIVE_INFINITY;
    if (v === '-Inf') return Number.NEGATIVE_INFINITY;
    // A NUL scalar char (BINARY's empty value, VOT-37) comes back from STIL as an inverted '?'.
    return v.trim() === '' || /^[\u0000\u00bf]+$/.test(v) ? null : v;
  }
  if (Array.isArray(v)) {
    const items = v.map((x) => norm(x, magic));
    return items.length === 0 || items.every((x) => x === null) ? null : items;
  }
  return v;
}

export function normRows(rows: unknown[][], fields: ReadField[], longAsNumber = false): unknown[][] {
  return rows.map((r) =>
    r.map((v, i) => {
      const n = norm(v, fields[i]?.nullValue);
      return longAsNumber && typeof n === 'string' && /^-?\d+$/.test(n) ? Number(n) : n;
    }),
  );
}

export const ASTROPY_DUMP = `
import sys, json, math, warnings
import numpy as np
from astropy.io.votable import parse
warnings.simplefilter('ignore')
t = parse(sys.argv[1]).get_first_table()
arr = t.array
def conv(v):
    if isinstance(v, np.ma.MaskedArray):
        mm = np.ma.getmaskarray(v)
        d = v.data
        if d.ndim == 0:
            return None if mm else conv(d.item())
        return [None if mm.flat[i] else conv(d.flat[i]) for i in range(d.size)]
    if isinstance(v, np.ndarray):
        return [conv(x) for x in v.flat]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bytes): return v.decode('utf-8', 'replace')
    if isinstance(v, complex): return [conv(v.real), conv(v.imag)]
    if isinstance(v, float):
        if math.isnan(v): return 'NaN'
        if math.isinf(v): return '+Inf' if v > 0 else '-Inf'
        return v
    if isinstance(v, bool): return v
    if isinstance(v, int): return str(v) if abs(v) > 2**53 else v
    return v
out = []
for i in range(len(arr)):
    row = []
    for name in arr.dtype.names:
        col = arr[name]
        if isinstance(col, np.ma.MaskedArray) and col.ndim == 1 and np.ma.getmaskarray(col)[i]:
            row.append(None)
        else:
            row.append(conv(col[i]))
    out.append(row)
print(json.dumps({"names": list(arr.dtype.names), "rows": out}))
`;
