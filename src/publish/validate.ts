/**
 * Is a description publishable, and is its metadata good (issue 14 item 6, youcat's
 * levels)? Two kinds of problem:
 * - errors: the description cannot be published as written at any level (a duplicate or
 *   reserved name, a position column that is missing or not a number, a primary key,
 *   rights or foreign key naming a column that does not exist);
 * - warnings: the metadata would trouble clients (no description, no UCD, a unit that is
 *   not a clean VOUnit, a UCD that is not UCD1+). `strict` refuses them, `lax` publishes
 *   and reports them.
 * Every problem is reported, not just the first, so a user fixes the file in one pass.
 */
import { RESERVED } from '../../adql/keywords.js';
import { DATATYPES } from '../../votable/index.js';
import type {
  CatalogueDescription,
  ColumnDescription,
  TableDescription,
  ValidationLevel,
} from './description.js';
import { healpixColumnName, unpublishedColumns } from './published.js';
import { checkUcd } from './ucd.js';
import { checkVOUnit } from './vounit.js';

export interface Problem {
  /** `schema`, `schema.table` or `schema.table.column`. */
  readonly where: string;
  readonly message: string;
  /** error: refused at any level; warning: refused by strict, reported by lax. */
  readonly severity: 'error' | 'warning';
}

export interface Validation {
  readonly problems: readonly Problem[];
  /** Whether the description may be published at the level asked for. */
  readonly ok: boolean;
}

/** ADQL 2.1 §2.1.3 regular identifier (ADQL-10); anything else must be delimited. */
const REGULAR = /^[A-Za-z][A-Za-z0-9_]*$/;
/** A delimited identifier, its quotes kept: "magV" (a doubled quote stands for one). */
const DELIMITED = /^"(?:[^"\x00-\x1f]|"")+"$/;
/** PostgreSQL's limit on identifiers (NAMEDATALEN - 1 bytes). */
const MAX_NAME_BYTES = 63;
/** Columns every PostgreSQL table already has. */
const SYSTEM_COLUMNS = new Set(['ctid', 'oid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']);
const NUMERIC = new Set(['short', 'int', 'long', 'float', 'double', 'unsignedByte']);
const TEXT = new Set(['char', 'unicodeChar']);

export function validateDescription(
  desc: CatalogueDescription,
  level: ValidationLevel = desc.validation ?? 'strict',
): Validation {
  const problems: Problem[] = [];
  const error = (where: string, message: string) => problems.push({ where, message, severity: 'error' });
  const warn = (where: string, message: string) => problems.push({ where, message, severity: 'warning' });

  const schemaNames = new Set<string>();
  for (const s of desc.schemas) {
    checkName(s.name, 'schema', s.name, error);
    if (schemaNames.has(fold(s.name))) error(s.name, `schema '${s.name}' is declared twice`);
    schemaNames.add(fold(s.name));
    if (!s.description?.trim()) warn(s.name, 'the schema has no description');
  }

  const tables = new Map<string, TableDescription>();
  for (const t of desc.tables) {
    const where = `${t.schema}.${t.name}`;
    const key = `${fold(t.schema)}.${fold(t.name)}`;
    if (tables.has(key)) error(where, `table ${where} is described twice`);
    tables.set(key, t);
    if (!schemaNames.has(fold(t.schema))) error(where, `schema '${t.schema}' is not declared`);
  }

  for (const t of desc.tables) validateTable(t, tables, error, warn);

  const blocking =
    problems.some((p) => p.severity === 'error') || (level === 'strict' && problems.length > 0);
  return { problems, ok: !blocking };
}

/** One line per problem, as the CLI prints them. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.severity}: ${p.where}: ${p.message}`).join('\n');
}

type Report = (where: string, message: string) => void;

function validateTable(
  t: TableDescription,
  tables: ReadonlyMap<string, TableDescription>,
  error: Report,
  warn: Report,
): void {
  const tw = `${t.schema}.${t.name}`;
  checkName(t.name, 'table', tw, error);
  if (!t.description.trim()) warn(tw, 'the table has no description');
  if (t.columns.length === 0) error(tw, 'the table has no columns');

  const byName = new Map<string, ColumnDescription>();
  const physical = new Set<string>();
  const hidden = unpublishedColumns(t);
  for (const c of t.columns) {
    const cw = `${tw}.${c.name}`;
    checkName(c.name, 'column', cw, error);
    const duplicate = byName.has(fold(c.name));
    if (duplicate) error(cw, `column '${c.name}' is described twice`);
    byName.set(fold(c.name), c);
    if (c.sqlName !== undefined && !REGULAR.test(c.sqlName)) {
      error(cw, `sqlName '${c.sqlName}' is not a plain identifier (letters, digits, _)`);
    }
    const stored = c.sqlName?.toLowerCase() ?? fold(c.name);
    if (physical.has(stored) && !duplicate) error(cw, `another column is already stored as '${stored}'`);
    physical.add(stored);
    if (SYSTEM_COLUMNS.has(stored)) {
      error(cw, `'${stored}' is a PostgreSQL system column name: rename the column or give a sqlName`);
    }
    // The rights columns are loaded and enforced but never published (published.ts), so
    // clients never see their description or UCD: only their types matter (checked below).
    validateColumn(c, cw, error, hidden.has(c.name) ? () => {} : warn);
  }
  const col = (name: string) => byName.get(fold(name));

  for (const k of t.primaryKey ?? []) {
    if (!col(k)) error(tw, `primaryKey column '${k}' is not a column of the table`);
  }

  if (t.position) {
    const hp = healpixColumnName(t)!;
    if (!REGULAR.test(hp) || RESERVED.has(hp.toUpperCase())) {
      error(tw, `position.healpixColumn '${hp}' is not a plain, unreserved identifier`);
    }
    if (col(hp)) {
      error(
        `${tw}.${hp}`,
        `'${hp}' is the name of the generated HEALPix column: rename the column or set position.healpixColumn`,
      );
    }
    for (const [axis, name] of [
      ['ra', t.position.ra],
      ['dec', t.position.dec],
    ] as const) {
      const c = col(name);
      if (!c) {
        error(tw, `position.${axis} column '${name}' is not a column of the table`);
        continue;
      }
      if (!NUMERIC.has(c.datatype) || c.arraysize !== undefined) {
        error(
          `${tw}.${c.name}`,
          `position.${axis} must be a number in degrees, not ${c.datatype}${c.arraysize ? `[${c.arraysize}]` : ''}`,
        );
      } else if (c.unit !== undefined && c.unit !== 'deg') {
        // the HEALPix index is computed from degrees; any other unit would misplace every row
        error(
          `${tw}.${c.name}`,
          `position.${axis} is in '${c.unit}': positions are read in degrees (unit deg)`,
        );
      } else if (c.unit === undefined) {
        warn(`${tw}.${c.name}`, `position.${axis} has no unit: it is read in degrees, say so with unit: deg`);
      }
    }
  }

  if (t.time && !col(t.time.column)) error(tw, `time.column '${t.time.column}' is not a column of the table`);
  if (t.spectral && !col(t.spectral.column)) {
    error(tw, `spectral.column '${t.spectral.column}' is not a column of the table`);
  }

  const r = t.rights;
  if (r) {
    if (r.ownerGroup !== undefined && r.ownerGroupColumn !== undefined) {
      error(tw, 'rights: give ownerGroup (one group for the table) or ownerGroupColumn (per row), not both');
    }
    if (r.releaseDate !== undefined && r.releaseColumn !== undefined) {
      error(tw, 'rights: give releaseDate (one date for the table) or releaseColumn (per row), not both');
    }
    if (r.ownerGroup !== undefined && !r.ownerGroup.trim()) error(tw, 'rights.ownerGroup is empty');
    if (r.ownerGroup === undefined && r.ownerGroupColumn === undefined) {
      error(
        tw,
        'rights without an owner group: a release date alone restricts nothing (give ownerGroup or ownerGroupColumn)',
      );
    }
    if (r.ownerGroupColumn !== undefined) {
      const c = col(r.ownerGroupColumn);
      if (!c) error(tw, `rights.ownerGroupColumn '${r.ownerGroupColumn}' is not a column of the table`);
      else if (!TEXT.has(c.datatype))
        error(`${tw}.${c.name}`, `rights.ownerGroupColumn must be text (char), not ${c.datatype}`);
    }
    if (r.releaseColumn !== undefined) {
      const c = col(r.releaseColumn);
      if (!c) error(tw, `rights.releaseColumn '${r.releaseColumn}' is not a column of the table`);
      else if (!TEXT.has(c.datatype) || c.xtype !== 'timestamp') {
        error(`${tw}.${c.name}`, 'rights.releaseColumn must be a timestamp (datatype char, xtype timestamp)');
      }
    }
  }

  for (const [i, fk] of (t.foreignKeys ?? []).entries()) {
    const fw = `${tw} foreignKeys[${i}]`;
    const dot = fk.target.lastIndexOf('.');
    if (dot <= 0) {
      error(fw, `target '${fk.target}' must be a qualified table name (schema.table)`);
      continue;
    }
    for (const [from] of fk.columns) {
      if (!col(from)) error(fw, `column '${from}' is not a column of ${tw}`);
    }
    // A target outside this file must already be published; the loader checks that.
    const target = tables.get(`${fold(fk.target.slice(0, dot))}.${fold(fk.target.slice(dot + 1))}`);
    if (target) {
      for (const [, to] of fk.columns) {
        if (!target.columns.some((c) => fold(c.name) === fold(to))) {
          error(fw, `target column '${to}' is not a column of ${fk.target}`);
        }
      }
    }
  }
}

function validateColumn(c: ColumnDescription, cw: string, error: Report, warn: Report): void {
  if (!(DATATYPES as readonly string[]).includes(c.datatype)) {
    error(cw, `'${c.datatype}' is not a VOTable datatype (${DATATYPES.join(', ')})`);
  }
  if (c.arraysize !== undefined && !/^(?:[1-9]\d*x)*(?:[1-9]\d*\*?|\*)$/.test(c.arraysize)) {
    error(cw, `'${c.arraysize}' is not a VOTable arraysize`);
  }
  if (c.xtype === 'timestamp' && !TEXT.has(c.datatype)) {
    error(cw, `xtype timestamp needs datatype char (DALI), not ${c.datatype}`);
  }
  if (!c.description?.trim()) warn(cw, 'no description');
  if (c.ucd === undefined) warn(cw, 'no UCD');
  else for (const m of checkUcd(c.ucd)) warn(cw, `UCD ${m}`);
  if (c.unit !== undefined) {
    for (const m of checkVOUnit(c.unit).problems) warn(cw, `unit ${m}`);
  }
}

/** Legal ADQL identifier, not reserved, not too long for PostgreSQL. */
function checkName(name: string, what: string, where: string, error: Report): void {
  if (DELIMITED.test(name)) {
    if (Buffer.byteLength(unquote(name)) > MAX_NAME_BYTES)
      error(where, `${what} name is longer than ${MAX_NAME_BYTES} bytes`);
    return;
  }
  if (!REGULAR.test(name)) {
    error(
      where,
      `${what} name '${name}' is not an ADQL identifier (a letter, then letters, digits or _); write it delimited as '"${name.replace(/"/g, '""')}"' to keep it`,
    );
    return;
  }
  if (RESERVED.has(name.toUpperCase())) {
    // ADQL-53/54: reserved words are not regular identifiers; ADQL-55: quote them in TAP_SCHEMA
    error(
      where,
      `${what} name '${name}' is an ADQL reserved word: rename it or write it delimited as '"${name}"'`,
    );
  }
  if (Buffer.byteLength(name) > MAX_NAME_BYTES)
    error(where, `${what} name is longer than ${MAX_NAME_BYTES} bytes`);
}

/** The name as ADQL compares it: regular identifiers fold case, delimited ones do not. */
function fold(name: string): string {
  return DELIMITED.test(name) ? unquote(name) : name.toLowerCase();
}

function unquote(name: string): string {
  return DELIMITED.test(name) ? name.slice(1, -1).replace(/""/g, '"') : name;
}
