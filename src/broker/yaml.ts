/**
 * The YAML subset the broker documents need (EB-16): block mappings and sequences,
 * plain / single / double quoted scalars, flow [..] and {..} collections, comments and
 * one document. Anchors, tags, block scalars (| >) and multiple documents are refused
 * with a message naming the line, rather than misread.
 */
export class YamlError extends Error {
  constructor(message: string, line?: number) {
    super(line === undefined ? message : `YAML line ${line}: ${message}`);
    this.name = 'YamlError';
  }
}

export type YamlValue = string | number | boolean | null | YamlValue[] | { [k: string]: YamlValue };

const MAX_DEPTH = 64;

// ---------------------------------------------------------------- writer

export function toYaml(value: unknown): string {
  const out: string[] = [];
  emit(value, 0, out);
  return `${out.join('\n')}\n`;
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '.nan';
  if (typeof v === 'boolean') return String(v);
  const s = String(v);
  // Plain only when it reads back as the same string (not a number, bool, null, or syntax).
  const plain =
    /^[A-Za-z_/.][A-Za-z0-9_./+@-]*( [A-Za-z0-9_./+@-]+)*$/.test(s) &&
    !/^(true|false|null|yes|no|on|off|~)$/i.test(s) &&
    !/^[-+.]?\d/.test(s);
  return plain ? s : JSON.stringify(s);
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function emit(v: unknown, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) {
      out.push(`${pad}[]`);
      return;
    }
    for (const item of v) {
      if ((isObj(item) && Object.keys(item).length > 0) || (Array.isArray(item) && item.length > 0)) {
        const sub: string[] = [];
        emit(item, indent + 2, sub);
        sub[0] = `${pad}- ${sub[0].slice(indent + 2)}`;
        out.push(...sub);
      } else out.push(`${pad}- ${inline(item)}`);
    }
    return;
  }
  if (isObj(v)) {
    const keys = Object.keys(v).filter((k) => v[k] !== undefined);
    if (keys.length === 0) {
      out.push(`${pad}{}`);
      return;
    }
    for (const k of keys) {
      const item = v[k];
      if ((isObj(item) && Object.keys(item).length > 0) || (Array.isArray(item) && item.length > 0)) {
        out.push(`${pad}${scalar(k)}:`);
        emit(item, Array.isArray(item) ? indent : indent + 2, out);
      } else out.push(`${pad}${scalar(k)}: ${inline(item)}`);
    }
    return;
  }
  out.push(`${pad}${scalar(v)}`);
}

const inline = (v: unknown) => (Array.isArray(v) ? '[]' : isObj(v) ? '{}' : scalar(v));

// ---------------------------------------------------------------- reader

interface Line {
  no: number;
  indent: number;
  text: string;
}

export function parseYaml(source: string): YamlValue {
  const lines: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (raw.includes('\t') && /^\s*\t/.test(raw))
      throw new YamlError('tabs are not allowed for indentation', i + 1);
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '' || text === '---' || text === '...') return;
    if (text.startsWith('%')) throw new YamlError('directives are not supported', i + 1);
    lines.push({ no: i + 1, indent: text.length - text.trimStart().length, text: text.trimStart() });
  });
  if (lines.length === 0) return null;
  const p = { i: 0 };
  const value = block(lines, p, lines[0].indent, 0);
  if (p.i < lines.length) throw new YamlError('unexpected indentation', lines[p.i].no);
  return value;
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i);
  }
  return line;
}

function block(lines: Line[], p: { i: number }, indent: number, depth: number): YamlValue {
  if (depth > MAX_DEPTH) throw new YamlError(`nesting deeper than ${MAX_DEPTH}`, lines[p.i]?.no);
  const first = lines[p.i];
  if (first.text === '-' || first.text.startsWith('- ')) return sequence(lines, p, indent, depth);
  if (keyOf(first.text) !== null) return mapping(lines, p, indent, depth);
  p.i++;
  return flowOrScalar(first.text, first.no);
}

function sequence(lines: Line[], p: { i: number }, indent: number, depth: number): YamlValue[] {
  const out: YamlValue[] = [];
  while (
    p.i < lines.length &&
    lines[p.i].indent === indent &&
    (lines[p.i].text === '-' || lines[p.i].text.startsWith('- '))
  ) {
    const line = lines[p.i];
    const rest = line.text.slice(1).trimStart();
    if (rest === '') {
      p.i++;
      out.push(
        p.i < lines.length && lines[p.i].indent > indent
          ? block(lines, p, lines[p.i].indent, depth + 1)
          : null,
      );
    } else {
      // "- key: v" opens a mapping whose keys sit at the column after "- ".
      const inner = indent + (line.text.length - rest.length);
      lines[p.i] = { no: line.no, indent: inner, text: rest };
      out.push(block(lines, p, inner, depth + 1));
    }
  }
  if (p.i < lines.length && lines[p.i].indent > indent)
    throw new YamlError('unexpected indentation', lines[p.i].no);
  return out;
}

function keyOf(text: string): { key: string; rest: string } | null {
  let key: string;
  let after: number;
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = closingQuote(text, 0);
    if (end < 0) return null;
    key = unquote(text.slice(0, end + 1), 0);
    after = end + 1;
    if (text[after] !== ':') return null;
  } else {
    const m = /^([^\s:[\]{},][^:]*?|[^\s:[\]{},]):(\s|$)/.exec(text);
    if (!m) return null;
    key = m[1];
    after = m[1].length;
  }
  return { key, rest: text.slice(after + 1).trim() };
}

function mapping(lines: Line[], p: { i: number }, indent: number, depth: number): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = Object.create(null);
  while (p.i < lines.length && lines[p.i].indent === indent) {
    const line = lines[p.i];
    const kv = keyOf(line.text);
    if (!kv) throw new YamlError(`expected "key: value", found "${line.text}"`, line.no);
    if (Object.hasOwn(out, kv.key)) throw new YamlError(`duplicate key "${kv.key}"`, line.no);
    p.i++;
    if (kv.rest === '') {
      const next = lines[p.i];
      // A sequence may sit at the same indentation as its key (common YAML style).
      if (
        next &&
        (next.indent > indent ||
          (next.indent === indent && (next.text === '-' || next.text.startsWith('- '))))
      ) {
        out[kv.key] = block(lines, p, next.indent, depth + 1);
      } else out[kv.key] = null;
    } else {
      if (kv.rest === '|' || kv.rest === '>' || /^[|>][+-]?\d*$/.test(kv.rest)) {
        throw new YamlError('block scalars (| and >) are not supported: quote the text instead', line.no);
      }
      out[kv.key] = flowOrScalar(kv.rest, line.no);
    }
  }
  if (p.i < lines.length && lines[p.i].indent > indent)
    throw new YamlError('unexpected indentation', lines[p.i].no);
  return { ...out };
}

function closingQuote(s: string, start: number): number {
  const q = s[start];
  for (let i = start + 1; i < s.length; i++) {
    if (q === '"' && s[i] === '\\') i++;
    else if (s[i] === q) {
      if (q === "'" && s[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

function unquote(s: string, no: number): string {
  if (s.startsWith('"')) {
    try {
      return JSON.parse(s);
    } catch {
      throw new YamlError(`bad double-quoted string ${s}`, no);
    }
  }
  return s.slice(1, -1).replaceAll("''", "'");
}

function flowOrScalar(text: string, no: number): YamlValue {
  if (text.startsWith('&') || text.startsWith('*') || text.startsWith('!')) {
    throw new YamlError('anchors, aliases and tags are not supported', no);
  }
  if (text.startsWith('[') || text.startsWith('{')) {
    const p = { i: 0 };
    const v = flow(text, p, no, 0);
    if (text.slice(p.i).trim() !== '')
      throw new YamlError(`unexpected text after flow collection: ${text.slice(p.i)}`, no);
    return v;
  }
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = closingQuote(text, 0);
    if (end !== text.length - 1) throw new YamlError(`unterminated or trailing text in ${text}`, no);
    return unquote(text, no);
  }
  return plainScalar(text);
}

function plainScalar(t: string): YamlValue {
  if (/^(null|Null|NULL|~)$/.test(t)) return null;
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  if (/^[-+]?(\d+|\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  if (/^0x[0-9a-fA-F]+$/.test(t)) return Number.parseInt(t, 16);
  return t;
}

function flow(s: string, p: { i: number }, no: number, depth: number): YamlValue {
  if (depth > MAX_DEPTH) throw new YamlError(`nesting deeper than ${MAX_DEPTH}`, no);
  const ws = () => {
    while (p.i < s.length && /\s/.test(s[p.i])) p.i++;
  };
  ws();
  const c = s[p.i];
  if (c === '[' || c === '{') {
    const close = c === '[' ? ']' : '}';
    p.i++;
    const arr: YamlValue[] = [];
    const obj: Record<string, YamlValue> = {};
    ws();
    if (s[p.i] === close) {
      p.i++;
      return c === '[' ? arr : obj;
    }
    for (;;) {
      if (c === '[') arr.push(flow(s, p, no, depth + 1));
      else {
        const k = flow(s, p, no, depth + 1);
        ws();
        if (s[p.i] !== ':') throw new YamlError(`expected ':' in flow mapping at column ${p.i + 1}`, no);
        p.i++;
        // defineProperty: a key named __proto__ stays a plain key, never a prototype.
        Object.defineProperty(obj, String(k), {
          value: flow(s, p, no, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      ws();
      if (s[p.i] === ',') {
        p.i++;
        continue;
      }
      if (s[p.i] === close) {
        p.i++;
        return c === '[' ? arr : obj;
      }
      throw new YamlError(`expected ',' or '${close}' at column ${p.i + 1}`, no);
    }
  }
  if (c === '"' || c === "'") {
    const end = closingQuote(s, p.i);
    if (end < 0) throw new YamlError('unterminated string', no);
    const v = unquote(s.slice(p.i, end + 1), no);
    p.i = end + 1;
    return v;
  }
  const start = p.i;
  while (p.i < s.length && !/[,\]}]/.test(s[p.i]) && !(s[p.i] === ':' && /[\s,\]}]/.test(s[p.i + 1] ?? ' ')))
    p.i++;
  const t = s.slice(start, p.i).trim();
  if (t === '') throw new YamlError(`empty value at column ${start + 1}`, no);
  return plainScalar(t);
}
