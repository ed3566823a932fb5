import { fieldShape, isCharType, isComplexType } from './arraysize.js';
import type { Field } from './types.js';
import { longText, toBoolean, toItems, toNumber, toText } from './values.js';

/* A JSON result's cells, shared by the row encoder (encode-json) and the COPY one (copy-json). */

export function jsonNumber(n: number): string {
  // JSON has no NaN or infinities: they become null (README).
  return Number.isFinite(n) ? String(n) : 'null';
}

function itemJson(f: Field): (x: unknown) => string {
  const col = f.name;
  switch (f.datatype) {
    case 'boolean':
    case 'bit':
      return (x) => (x === null || x === undefined ? 'null' : toBoolean(x, col) ? 'true' : 'false');
    case 'long':
      // Raw digits: JSON numbers have no precision limit (JavaScript readers may round beyond 2^53).
      return (x) => (x === null || x === undefined ? 'null' : longText(x, col));
    default:
      return (x) =>
        x === null || x === undefined
          ? 'null'
          : jsonNumber(typeof x === 'number' ? x : toNumber(x, col, f.datatype));
  }
}

export function cellJson(f: Field): (v: unknown) => string {
  const shape = fieldShape(f);
  const col = f.name;
  if (isCharType(f.datatype)) {
    if (shape.slice > 1)
      return (v) =>
        JSON.stringify((Array.isArray(v) ? v : [v]).map((p) => (p == null ? null : toText(p, col))));
    return (v) => JSON.stringify(toText(v, col));
  }
  const item = itemJson(f);
  const complex = isComplexType(f.datatype);
  if (shape.scalar && !complex) return item;
  if (shape.scalar) return (v) => `[${toItems(v, col).map(item).join(',')}]`;
  return (v) => {
    const items = f.datatype === 'bit' && typeof v === 'string' ? v.split('') : toItems(v, col);
    if (!complex) return `[${items.map(item).join(',')}]`;
    const pairs: string[] = [];
    for (let i = 0; i < items.length; i += 2) pairs.push(`[${item(items[i])},${item(items[i + 1])}]`);
    return `[${pairs.join(',')}]`;
  };
}
