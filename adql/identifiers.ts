// Identifier semantics of ADQL 2.1 §2.1.3 (ADQL-3, ADQL-4) and TAP 1.1's rule that names in
// TAP_SCHEMA may be written delimited (`"size"`): one leaf module, used by every pass that
// compares a name written in a query with a declared one.
import type { Identifier } from './ast.js';

/** A declared name: `exact` when it was declared delimited (case-sensitive). */
export interface DeclaredName {
  readonly name: string;
  readonly exact: boolean;
}

/** A catalogue name as published (`"Obs"` delimited, `obs` regular) -> its text and form. */
export function stripQuotes(name: string): DeclaredName {
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) {
    return { name: name.slice(1, -1).replace(/""/g, '"'), exact: true };
  }
  return { name, exact: false };
}

/**
 * Whether `id`, as written in a query, names the declared `published` (ADQL 2.1 §2.1.3):
 * - a regular identifier is case-insensitive: it matches a regular declared name ignoring
 *   case, and a delimited one only when that name is all lower case and equal to it folded
 *   (so `obs` is `"obs"` but never `"Obs"`, and `magv` never reads `"magV"`);
 * - a delimited identifier matches exactly: the declared name character for character,
 *   whether it was declared delimited or not (`"MixedCase"` reaches a column declared
 *   `MixedCase`, `"mixedcase"` does not).
 */
export function matches(id: Identifier, published: string): boolean {
  return matchesName(id.name, id.delimited, stripQuotes(published));
}

/** A name declared in the query itself (a correlation name, a WITH name, an alias). */
export function asDeclared(id: Identifier): DeclaredName {
  return { name: id.name, exact: id.delimited };
}

/** `matches` for a declared name already read (catalogue columns, result columns, aliases). */
export function matchesId(id: Identifier, declared: DeclaredName): boolean {
  return matchesName(id.name, id.delimited, declared);
}

/** How to write a declared name in a query (for messages and suggestions). */
export function spelling(d: DeclaredName): string {
  return d.exact ? `"${d.name.replace(/"/g, '""')}"` : d.name;
}

export function matchesName(written: string, delimited: boolean, p: DeclaredName): boolean {
  if (!delimited) {
    const folded = written.toLowerCase();
    return p.exact ? p.name === folded : p.name.toLowerCase() === folded;
  }
  return p.name === written;
}

/**
 * Whether two declared names denote the same name (NATURAL JOIN's common columns, a
 * relation named twice): either, read as written in a query, matches the other.
 */
export function sameName(a: DeclaredName, b: DeclaredName): boolean {
  return matchesName(a.name, a.exact, b) || matchesName(b.name, b.exact, a);
}
