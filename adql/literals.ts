import type { CompiledQuery } from './catalogue.js';

/**
 * The compiled SQL with each `$n` replaced by its string as a literal, for statements that
 * cannot take bind parameters (COPY). The printer's output has only three kinds of token
 * that could hold a `$`: quoted identifiers, its own string literals and the placeholders,
 * so a scan that skips the first two finds exactly the placeholders. Undefined when a string
 * cannot be written as a literal (a NUL character): run such a query with parameters.
 */
export function inlineParameters(compiled: Pick<CompiledQuery, 'sql' | 'params'>): string | undefined {
  if (compiled.params.some((p) => String(p).includes('\u0000'))) return undefined;
  const { sql, params } = compiled;
  let out = '';
  let from = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '"' || c === "'") {
      // A doubled quote inside stays inside: skip to the first lone closing one.
      let j = i + 1;
      for (;;) {
        j = sql.indexOf(c, j);
        if (j < 0) throw new Error(`unterminated ${c} in compiled SQL`);
        if (sql[j + 1] === c) j += 2;
        else break;
      }
      i = j + 1;
      continue;
    }
    if (c === '$') {
      let j = i + 1;
      while (j < sql.length && sql.charCodeAt(j) >= 48 && sql.charCodeAt(j) <= 57) j++;
      const n = Number(sql.slice(i + 1, j));
      if (j === i + 1 || !(n >= 1 && n <= params.length))
        throw new Error(`compiled SQL has "${sql.slice(i, j)}" for ${params.length} parameters`);
      out += sql.slice(from, i) + literal(params[n - 1]);
      from = i = j;
      continue;
    }
    i++;
  }
  return out + sql.slice(from);
}

/** A PostgreSQL string literal that means the same under either standard_conforming_strings. */
function literal(v: unknown): string {
  const s = String(v);
  const quoted = `'${s.replace(/'/g, "''")}'`;
  return s.includes('\\') ? `E${quoted.replace(/\\/g, '\\\\')}` : quoted;
}
