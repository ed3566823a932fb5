/**
 * `vonode describe FILE [--schema S] [--name T]`: prints a draft description file (YAML,
 * docs/publishing.md) for a data file, with a TODO comment wherever a description, unit or
 * UCD is missing or was guessed, so publishing is describe, edit, publish.
 */
import { Document, isMap, isSeq, type YAMLMap, type YAMLSeq } from 'yaml';
import { ConfigError } from '../config/index.js';
import { type Draft, draftTable } from '../publish/draft.js';
import { openDataSource } from '../publish/readers/index.js';
import { DataFileError, type DataSource } from '../publish/source.js';

const USAGE = `usage: vonode describe FILE [--schema NAME] [--name TABLE] [--sample ROWS]

Prints a draft table description (YAML) for a FITS binary table, VOTable, CSV/TSV or
Parquet file: columns with their datatype, unit, UCD and description as the file gives
them, position and primary key columns guessed. Fill in the TODOs, then
  vonode publish DESCRIPTION.yaml FILE
--sample: CSV/TSV rows read to infer column types (default 1000).`;

interface DescribeArgs {
  file: string;
  schema?: string;
  name?: string;
  sample?: number;
}

function parseArgs(argv: readonly string[]): DescribeArgs | 'help' {
  let file: string | undefined;
  const args: Omit<DescribeArgs, 'file'> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--'))
        throw new ConfigError(`${a} needs a value`, USAGE.split('\n')[0]);
      return v;
    };
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--schema') args.schema = value();
    else if (a === '--name') args.name = value();
    else if (a === '--sample') {
      const v = value();
      if (!/^[1-9][0-9]*$/.test(v))
        throw new ConfigError(`--sample '${v}' is not a row count`, 'give a positive integer');
      args.sample = Number(v);
    } else if (a.startsWith('--')) throw new ConfigError(`unknown option ${a}`, USAGE.split('\n')[0]);
    else if (file === undefined) file = a;
    else throw new ConfigError(`one data file at a time (got '${file}' and '${a}')`, USAGE.split('\n')[0]);
  }
  if (file === undefined) throw new ConfigError('no data file given', USAGE.split('\n')[0]);
  for (const [k, v] of [
    ['--schema', args.schema],
    ['--name', args.name],
  ] as const)
    if (v !== undefined && !/^[A-Za-z][A-Za-z0-9_]*$/.test(v))
      throw new ConfigError(
        `${k} '${v}' is not a regular ADQL name`,
        'use letters, digits and _, starting with a letter',
      );
  return { file, ...args };
}

/** The draft as YAML text with TODO comments. */
export function draftYaml(draft: Draft, source: Pick<DataSource, 'path' | 'format' | 'columns'>): string {
  const t = draft.table;
  const table: Record<string, unknown> = { name: t.name, title: t.title ?? '', description: t.description };
  if (t.primaryKey) table.primaryKey = t.primaryKey;
  if (t.position) table.position = t.position;
  table.columns = t.columns;
  const doc = new Document({
    validation: 'strict',
    schema: { name: t.schema, description: '' },
    tables: [table],
  });
  doc.commentBefore =
    ` Drafted by vonode describe from ${source.path} (${source.format}, ${source.columns.length} columns).` +
    `\n Fill in the TODOs (docs/publishing.md lists every key), then: vonode publish THIS.yaml ${source.path}`;
  const root = doc.contents as YAMLMap;
  const schema = root.get('schema', true) as unknown as YAMLMap;
  schema.flow = true;
  schema.comment = ' TODO: schema description';
  const tables = root.get('tables', true) as unknown as YAMLSeq;
  const tmap = tables.items[0] as YAMLMap;
  const tableTodos = [...draft.notes.table];
  if (!t.title) tableTodos.unshift('title');
  if (tableTodos.length > 0) tmap.commentBefore = tableTodos.map((s) => ` TODO: ${s}`).join('\n');
  for (const key of ['primaryKey', 'position']) {
    const n = tmap.get(key, true);
    if (isMap(n) || isSeq(n)) n.flow = true;
  }
  const cols = tmap.get('columns', true) as unknown as YAMLSeq;
  for (const item of cols.items) {
    if (!isMap(item)) continue;
    item.flow = true;
    const todos = draft.notes.columns.get(String(item.get('name')));
    if (todos && todos.length > 0) item.comment = ` TODO: ${todos.join('; ')}`;
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

export async function runDescribeCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let source: DataSource;
  try {
    source = await openDataSource(args.file, args.sample ? { sampleRows: args.sample } : {});
  } catch (e) {
    if (e instanceof DataFileError) throw new Error(`${args.file}: ${e.message}`);
    throw e;
  }
  try {
    const draft = draftTable(source, { schema: args.schema, name: args.name });
    process.stdout.write(draftYaml(draft, source));
  } finally {
    await source.close();
  }
  return 0;
}
