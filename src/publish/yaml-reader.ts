/**
 * Reading a YAML description file node by node, so every problem names its file, line,
 * column and path ("demo.yaml:12:5: tables[0].columns[3].datatype ..."). The description
 * readers (parse.ts, felis.ts) type the document once, here at the edge; nothing after
 * them sees untyped YAML. Problems are collected, not thrown one at a time, so a user
 * fixes a file in one pass.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

/** One thing wrong in a description file, where it is. */
export interface DescriptionIssue {
  readonly line: number;
  readonly col: number;
  /** Where in the document: `tables[0].columns[3].datatype`. */
  readonly path: string;
  readonly message: string;
}

/** A description file that cannot be read: every issue found, each on its own line. */
export class DescriptionError extends Error {
  constructor(
    readonly file: string,
    readonly issues: readonly DescriptionIssue[],
  ) {
    super(issues.map((i) => formatIssue(file, i)).join('\n'));
    this.name = 'DescriptionError';
  }
}

export function formatIssue(file: string, i: DescriptionIssue): string {
  const where = i.path ? `${i.path} ` : '';
  // line 0: about the file as a whole (it cannot be read)
  return i.line > 0 ? `${file}:${i.line}:${i.col}: ${where}${i.message}` : `${file}: ${where}${i.message}`;
}

/** A parsed YAML document and the issues found while reading it. */
export class YamlFile {
  readonly issues: DescriptionIssue[] = [];
  readonly root: At;
  private readonly lines = new LineCounter();
  private readonly doc;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    for (const e of this.doc.errors) {
      const pos = this.lines.linePos(e.pos[0]);
      this.issues.push({ line: pos.line, col: pos.col, path: '', message: yamlMessage(e.message) });
    }
    this.root = new At(this, this.doc.contents as Node | null, '', 0);
  }

  /** Records an issue at a node (or at `offset` when the node is absent). */
  report(node: Node | null | undefined, offset: number, path: string, message: string): void {
    const at = node?.range ? node.range[0] : offset;
    const pos = this.lines.linePos(at);
    this.issues.push({ line: pos.line, col: pos.col, path, message });
  }

  resolve(node: Node | null | undefined): Node | null | undefined {
    return isAlias(node) ? (node.resolve(this.doc) as Node | undefined) : node;
  }

  /** Throws the collected issues, if any. */
  check(): void {
    if (this.issues.length > 0) {
      const sorted = [...this.issues].sort((a, b) => a.line - b.line || a.col - b.col);
      throw new DescriptionError(this.file, sorted);
    }
  }
}

function yamlMessage(m: string): string {
  // The yaml package appends its own "at line L, column C" and a code excerpt; the
  // position is already in front of the message.
  return `YAML: ${m.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`;
}

const kindOf = (n: Node | null | undefined): string =>
  n == null
    ? 'nothing'
    : isMap(n)
      ? 'a mapping'
      : isSeq(n)
        ? 'a list'
        : isScalar(n)
          ? n.value === null
            ? 'empty'
            : typeof n.value === 'string'
              ? `'${n.value}'`
              : String(n.value)
          : 'a value';

/** A node of the document at a path (possibly absent). */
export class At {
  constructor(
    readonly file: YamlFile,
    readonly node: Node | null | undefined,
    readonly path: string,
    /** Where to report when the node is absent (the parent's start). */
    readonly offset: number,
  ) {}

  /** Absent, or an explicit null (`key:` with nothing after it). */
  get missing(): boolean {
    const n = this.file.resolve(this.node);
    return n == null || (isScalar(n) && n.value === null);
  }

  /** What the node is: a mapping, a list, a single value, or missing (absent or null). */
  get kind(): 'map' | 'list' | 'scalar' | 'missing' {
    const n = this.file.resolve(this.node);
    if (n == null || (isScalar(n) && n.value === null)) return 'missing';
    return isMap(n) ? 'map' : isSeq(n) ? 'list' : 'scalar';
  }

  /** The keys of a mapping, as written (no checks). */
  keys(): string[] {
    const n = this.file.resolve(this.node);
    return isMap(n) ? n.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
  }

  fail(message: string): undefined {
    this.file.report(this.file.resolve(this.node), this.offset, this.path, message);
    return undefined;
  }

  private scalar(): unknown {
    const n = this.file.resolve(this.node);
    if (n == null) return undefined;
    if (!isScalar(n)) return this.fail(`must be a single value, not ${kindOf(n)}`);
    return n.value ?? undefined;
  }

  /** A string; numbers are accepted (and written as YAML wrote them) when `numbers` is set. */
  str(opts: { numbers?: boolean } = {}): string | undefined {
    const n = this.file.resolve(this.node);
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v === 'string') return v;
    if (opts.numbers && typeof v === 'number' && isScalar(n)) return n.source ?? String(v);
    return this.fail(`must be text, not ${kindOf(n)}`);
  }

  /** A boolean; `bits` also accepts 0 and 1 (Felis writes tap:principal so). */
  bool(opts: { bits?: boolean } = {}): boolean | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    if (opts.bits && (v === 0 || v === 1)) return v === 1;
    return this.fail(`must be true or false${opts.bits ? ' (or 1 or 0)' : ''}, not ${kindOf(this.node)}`);
  }

  int(): number | undefined {
    const v = this.scalar();
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    return this.fail(`must be an integer, not ${kindOf(this.node)}`);
  }

  /** One of the allowed strings, with a suggestion when it is not. */
  oneOf<T extends string>(allowed: readonly T[], what: string): T | undefined {
    const v = this.str();
    if (v === undefined) return undefined;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    const near = nearest(v, allowed);
    return this.fail(
      `'${v}' is not ${what} (${near ? `did you mean '${near}'? ` : ''}one of ${allowed.join(', ')})`,
    );
  }

  /** The items of a list; `single` also takes one scalar as a list of one. */
  list(opts: { single?: boolean } = {}): At[] {
    const n = this.file.resolve(this.node);
    if (n == null || (isScalar(n) && n.value === null)) return [];
    if (isSeq(n)) {
      return n.items.map((it, i) => new At(this.file, it as Node, `${this.path}[${i}]`, n.range?.[0] ?? 0));
    }
    if (opts.single && isScalar(n)) return [this];
    this.fail(`must be a list, not ${kindOf(n)}`);
    return [];
  }

  /** A list of strings (or one string when `single`). */
  strings(opts: { single?: boolean } = {}): string[] | undefined {
    if (this.missing) return undefined;
    const out: string[] = [];
    for (const it of this.list(opts)) {
      const s = it.str();
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /**
   * The entries of a mapping whose keys must be among `known`: an unknown key is reported
   * with the nearest known one. Returns a getter for the entries by key.
   */
  fields(known: readonly string[]): Fields {
    const n = this.file.resolve(this.node);
    const entries = new Map<string, At>();
    const start = n?.range?.[0] ?? this.offset;
    let broken = false;
    if (n != null && !(isScalar(n) && n.value === null)) {
      if (!isMap(n)) {
        this.fail(`must be a mapping of keys to values, not ${kindOf(n)}`);
        broken = true;
      } else {
        for (const pair of n.items) {
          const keyNode = pair.key as Node | null;
          const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
          const keyPath = this.path ? `${this.path}.${key}` : String(key);
          if (key === undefined || !known.includes(key)) {
            const near = key === undefined ? undefined : nearest(key, known);
            this.file.report(
              keyNode,
              start,
              this.path,
              `has unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ''}`,
            );
            continue;
          }
          entries.set(
            key,
            new At(this.file, pair.value as Node | null, keyPath, keyNode?.range?.[0] ?? start),
          );
        }
      }
    }
    return new Fields(this, entries, start, broken);
  }
}

export class Fields {
  constructor(
    readonly at: At,
    private readonly entries: Map<string, At>,
    private readonly start: number,
    /** Not a mapping at all (already reported): missing keys are not reported again. */
    private readonly broken = false,
  ) {}

  has(key: string): boolean {
    const e = this.entries.get(key);
    return e !== undefined && !e.missing;
  }

  get(key: string): At {
    const path = this.at.path ? `${this.at.path}.${key}` : key;
    return this.entries.get(key) ?? new At(this.at.file, undefined, path, this.start);
  }

  /** A key that must be present: reported at the mapping when absent. */
  required(key: string): At {
    const e = this.get(key);
    if (e.missing && !this.broken) this.at.fail(`needs '${key}'`);
    return e;
  }
}

/** The closest of `candidates` to `word` (edit distance), when close enough to be a likely typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const d = c.toLowerCase() === w ? 0 : editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: a swap of two neighbours ("dataype") is one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The object without its undefined members (descriptions are stored as JSON). */
export function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}
