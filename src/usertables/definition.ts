/**
 * A user table's definition as a client sends it, turned into the publish description
 * model (src/publish/description.ts): a VOSI table document (`<vosi:table>`, VOSI-24..26,
 * VODataService vs:VOTableType or the legacy vs:TAPType) or the FIELDs of a VOTable.
 * Everything wrong with a definition is reported at once, in one 400 message.
 * Columns whose UCDs say pos.eq.ra;meta.main and pos.eq.dec;meta.main become the table's
 * position, so the table gets the HEALPix index every published catalogue has and cones
 * and crossmatches on it use the index.
 */
import { XMLParser } from 'fast-xml-parser';
import { DATATYPES, type Datatype } from '../../votable/index.js';
import type { ColumnDescription, SourceColumn, TableDescription } from '../publish/index.js';
import { nameProblem, type TableRef, UserTableError } from './names.js';

/** The VOSI table document's root, by local name (the prefix is the client's choice). */
const TABLE_ROOT = 'table';
/** VOTable arraysize (VOT-?? / VOSI-26): dimensions 'NxM', the last may be '*' or 'N*'. */
const ARRAYSIZE = /^([0-9]+x)*([0-9]+\*?|\*)$/;

const TAP_TYPES: Readonly<Record<string, Pick<ColumnDescription, 'datatype' | 'arraysize' | 'xtype'>>> = {
  BOOLEAN: { datatype: 'boolean' },
  SMALLINT: { datatype: 'short' },
  INTEGER: { datatype: 'int' },
  BIGINT: { datatype: 'long' },
  REAL: { datatype: 'float' },
  DOUBLE: { datatype: 'double' },
  TIMESTAMP: { datatype: 'char', arraysize: '*', xtype: 'timestamp' },
  CHAR: { datatype: 'char' },
  VARCHAR: { datatype: 'char', arraysize: '*' },
  CLOB: { datatype: 'char', arraysize: '*' },
  BINARY: { datatype: 'unsignedByte' },
  VARBINARY: { datatype: 'unsignedByte', arraysize: '*' },
  BLOB: { datatype: 'unsignedByte', arraysize: '*' },
  POINT: { datatype: 'double', arraysize: '2', xtype: 'point' },
};

const NUMERIC = new Set<Datatype>(['double', 'float', 'int', 'long', 'short', 'unsignedByte']);

export interface DefinitionLimits {
  readonly maxColumns: number;
}

/** What a column of a definition says, before it is checked. */
interface RawColumn {
  readonly name: string;
  readonly datatype: string;
  readonly arraysize?: string;
  readonly xtype?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly utype?: string;
  readonly description?: string;
  readonly indexed?: boolean;
  readonly principal?: boolean;
}

type Node = Record<string, unknown>;

const text = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') {
    const t = (v as Node)['#text'];
    return t === undefined ? undefined : String(t).trim() || undefined;
  }
  return String(v).trim() || undefined;
};

/** Parses a VOSI table document into a table description at `ref`. */
export function tableFromVosi(xml: string, ref: TableRef, limits: DefinitionLimits): TableDescription {
  // No DTDs: a definition never needs one, and entity expansion is a way to blow up memory.
  if (/<!(DOCTYPE|ENTITY)/i.test(xml))
    throw new UserTableError(400, 'the table definition may not contain a DOCTYPE or ENTITY declaration');
  let doc: Node;
  try {
    doc = new XMLParser({
      ignoreAttributes: false,
      removeNSPrefix: true,
      attributeNamePrefix: '@_',
      parseTagValue: false,
      isArray: (name) => name === 'column' || name === 'flag',
    }).parse(xml, true) as Node;
  } catch (err) {
    throw new UserTableError(400, `the table definition is not well-formed XML: ${(err as Error).message}`);
  }
  const root = doc[TABLE_ROOT] as Node | undefined;
  if (!root || typeof root !== 'object')
    throw new UserTableError(
      400,
      'the table definition is not a VOSI table document: its root element must be <vosi:table> (VOSITables 1.1)',
    );
  const named = text(root.name);
  if (named !== undefined && named.toLowerCase() !== ref.qualified && named.toLowerCase() !== ref.table)
    throw new UserTableError(
      400,
      `the definition names the table '${named}' but the request creates ${ref.qualified}; give the same name in both`,
    );
  const problems: string[] = [];
  const columns: RawColumn[] = [];
  for (const [i, c] of ((root.column as Node[] | undefined) ?? []).entries()) {
    const name = text(c.name);
    const dt = c.dataType;
    if (!name) {
      problems.push(`column ${i + 1} has no <name>`);
      continue;
    }
    const datatype = text(dt);
    if (!datatype) {
      problems.push(`column ${name} has no <dataType>`);
      continue;
    }
    const attrs = (typeof dt === 'object' && dt ? dt : {}) as Node;
    const xsiType = typeof attrs['@_type'] === 'string' ? (attrs['@_type'] as string) : 'vs:VOTableType';
    const flags = ((c.flag as unknown[] | undefined) ?? []).map((f) => text(f)?.toLowerCase());
    const base: Omit<RawColumn, 'datatype'> = {
      name,
      ...opt('unit', text(c.unit)),
      ...opt('ucd', text(c.ucd)),
      ...opt('utype', text(c.utype)),
      ...opt('description', text(c.description)),
      ...(flags.includes('indexed') ? { indexed: true } : {}),
      ...(flags.includes('principal') ? { principal: true } : {}),
    };
    if (/TAPType$/i.test(xsiType)) {
      const mapped = TAP_TYPES[datatype.toUpperCase()];
      if (!mapped) {
        problems.push(
          `column ${name}: '${datatype}' is not a TAP type (${Object.keys(TAP_TYPES).join(', ')})`,
        );
        continue;
      }
      const size = text(attrs['@_size']);
      const arraysize =
        size && (datatype.toUpperCase() === 'CHAR' || datatype.toUpperCase() === 'BINARY')
          ? size
          : size && mapped.arraysize === '*'
            ? `${size}*`
            : mapped.arraysize;
      columns.push({ ...base, ...mapped, ...opt('arraysize', arraysize) });
    } else {
      columns.push({
        ...base,
        datatype,
        ...opt('arraysize', text(attrs['@_arraysize'])),
        ...opt('xtype', text(attrs['@_extendedType'])),
      });
    }
  }
  return describe(ref, text(root.description), columns, limits, problems);
}

/** The description of a table whose columns are a VOTable's FIELDs (its rows are loaded after). */
export function tableFromFields(
  fields: readonly SourceColumn[],
  ref: TableRef,
  description: string | undefined,
  limits: DefinitionLimits,
): TableDescription {
  return describe(
    ref,
    description,
    fields.map((f) => ({ ...f, datatype: String(f.datatype) })),
    limits,
    [],
  );
}

function opt<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function describe(
  ref: TableRef,
  description: string | undefined,
  raw: readonly RawColumn[],
  limits: DefinitionLimits,
  problems: string[],
): TableDescription {
  if (raw.length === 0 && problems.length === 0) problems.push('the table has no columns');
  if (raw.length > limits.maxColumns)
    problems.push(
      `the table has ${raw.length} columns; at most ${limits.maxColumns} are allowed (VONODE_USER_TABLE_MAX_COLUMNS)`,
    );
  const seen = new Set<string>();
  const columns: ColumnDescription[] = [];
  for (const c of raw) {
    const nameIssue = nameProblem(c.name, 'column');
    if (nameIssue) problems.push(nameIssue);
    const folded = c.name.toLowerCase();
    if (seen.has(folded)) problems.push(`column ${c.name} is declared twice (names compare without case)`);
    seen.add(folded);
    if (!(DATATYPES as readonly string[]).includes(c.datatype)) {
      problems.push(
        `column ${c.name}: '${c.datatype}' is not a VOTable datatype (${(DATATYPES as readonly string[]).join(', ')})`,
      );
      continue;
    }
    if (c.arraysize !== undefined && !ARRAYSIZE.test(c.arraysize))
      problems.push(
        `column ${c.name}: arraysize '${c.arraysize}' is not a VOTable arraysize (e.g. 10, 10*, *, 2x3)`,
      );
    const datatype = c.datatype as Datatype;
    // A char column with no arraysize holds one character in VOTable; users mean a string.
    const arraysize =
      (datatype === 'char' || datatype === 'unicodeChar') && c.arraysize === undefined ? '*' : c.arraysize;
    columns.push({
      name: c.name,
      datatype,
      ...(arraysize !== undefined ? { arraysize } : {}),
      ...(c.xtype ? { xtype: c.xtype } : {}),
      ...(c.unit ? { unit: c.unit } : {}),
      ...(c.ucd ? { ucd: c.ucd } : {}),
      ...(c.utype ? { utype: c.utype } : {}),
      description: c.description ?? '',
      ...(c.indexed ? { indexed: true } : {}),
      ...(c.principal ? { principal: true } : {}),
    });
  }
  if (problems.length > 0)
    throw new UserTableError(
      400,
      `the definition of ${ref.qualified} has ${problems.length} problem(s): ${problems.join('; ')}`,
    );
  const position = positionOf(columns);
  return {
    schema: ref.schema,
    name: ref.table,
    description: description ?? `a table of ${ref.schema}`,
    columns,
    ...(position ? { position } : {}),
  };
}

/**
 * The position columns, from their UCDs: pos.eq.ra and pos.eq.dec with meta.main (or the only
 * ones of each when none says meta.main), numeric scalars. The HEALPix column gets a name no
 * column has.
 */
export function positionOf(columns: readonly ColumnDescription[]): TableDescription['position'] | undefined {
  const words = (c: ColumnDescription) =>
    (c.ucd ?? '')
      .toLowerCase()
      .split(';')
      .map((w) => w.trim());
  const numeric = columns.filter(
    (c) => NUMERIC.has(c.datatype) && (c.arraysize === undefined || c.arraysize === '1'),
  );
  const pick = (atom: string) => {
    const all = numeric.filter((c) => words(c).includes(atom));
    const main = all.filter((c) => words(c).includes('meta.main'));
    return main.length === 1 ? main[0] : all.length === 1 ? all[0] : undefined;
  };
  const ra = pick('pos.eq.ra');
  const dec = pick('pos.eq.dec');
  if (!ra || !dec) return undefined;
  const taken = new Set(columns.map((c) => c.name.toLowerCase()));
  let healpix = 'healpix';
  while (taken.has(healpix)) healpix = `${healpix}_`;
  return { ra: ra.name, dec: dec.name, frame: 'ICRS', healpixColumn: healpix };
}
