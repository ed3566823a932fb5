import { authFetch } from '../common/session.js';
import { h, show } from './dom.js';
import { nodeUrl, responseError } from './tap.js';

export interface ColumnInfo {
  readonly name: string;
  readonly datatype?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly description?: string;
}
export interface TableInfo {
  /** As ADQL names it: schema.table. */
  readonly name: string;
  readonly description?: string;
  readonly columns: ColumnInfo[];
}
export interface SchemaInfo {
  readonly name: string;
  readonly description?: string;
  readonly tables: TableInfo[];
}

const child = (el: Element, name: string) => [...el.children].find((c) => c.localName === name);
const childText = (el: Element, name: string) => child(el, name)?.textContent?.trim() || undefined;
const children = (el: Element, name: string) => [...el.children].filter((c) => c.localName === name);

/** The node's tables as VOSI 1.1 /tables lists them for this caller (what TAP_SCHEMA holds). */
export async function loadTables(): Promise<SchemaInfo[]> {
  const res = await authFetch(nodeUrl('tap/tables?detail=max'));
  if (!res.ok) throw await responseError(res);
  const doc = new DOMParser().parseFromString(await res.text(), 'application/xml');
  if (doc.getElementsByTagName('parsererror').length > 0) throw new Error('the table list is not XML');
  const root = doc.documentElement;
  return children(root, 'schema').map((s) => ({
    name: childText(s, 'name') ?? '',
    description: childText(s, 'description'),
    tables: children(s, 'table').map((t) => ({
      name: childText(t, 'name') ?? '',
      description: childText(t, 'description'),
      columns: children(t, 'column').map((c) => ({
        name: childText(c, 'name') ?? '',
        datatype: childText(c, 'dataType'),
        unit: childText(c, 'unit'),
        ucd: childText(c, 'ucd'),
        description: childText(c, 'description'),
      })),
    })),
  }));
}

/**
 * The table tree: schemas, tables and columns as nested disclosure widgets (<details>, which
 * keyboards and screen readers know); a name's button inserts it into the query.
 */
export function renderTree(
  region: HTMLElement,
  schemas: SchemaInfo[],
  insert: (text: string) => void,
  filter = '',
): void {
  const f = filter.trim().toLowerCase();
  const matches = (s: string | undefined) => !f || (s ?? '').toLowerCase().includes(f);
  const nameButton = (label: string, text: string, what: string) =>
    h(
      'button',
      { type: 'button', class: 'name', onclick: () => insert(text), 'aria-label': `insert ${what} ${label}` },
      label,
    );
  const list = h('div', { class: 'tree' });
  for (const s of schemas) {
    const tables = s.tables.filter(
      (t) => matches(t.name) || t.columns.some((c) => matches(c.name)) || matches(s.name),
    );
    if (tables.length === 0) continue;
    list.append(
      h(
        'details',
        { open: f !== '' || s.name !== 'TAP_SCHEMA' },
        h(
          'summary',
          { title: s.description ?? '' },
          s.name,
          ' ',
          h('span', { class: 'meta' }, `(${tables.length} ${tables.length === 1 ? 'table' : 'tables'})`),
        ),
        ...tables.map((t) => {
          const cols = t.columns.filter((c) => matches(c.name) || matches(t.name) || matches(s.name));
          return h(
            'details',
            { open: f !== '' && cols.length < 30 },
            h('summary', { title: t.description ?? '' }, t.name.slice(t.name.indexOf('.') + 1)),
            h(
              'p',
              { class: 'meta' },
              nameButton(t.name, t.name, 'table'),
              t.description ? ` ${t.description}` : '',
            ),
            h(
              'ul',
              {},
              ...cols.map((c) =>
                h(
                  'li',
                  { title: [c.description, c.ucd ? `UCD: ${c.ucd}` : ''].filter(Boolean).join('\n') },
                  nameButton(c.name, c.name, 'column'),
                  h('span', { class: 'meta' }, [c.datatype, c.unit].filter(Boolean).join(', ')),
                ),
              ),
            ),
          );
        }),
      ),
    );
  }
  show(
    region,
    list.childElementCount
      ? list
      : h(
          'p',
          {},
          f ? `No table or column matches “${filter}”.` : 'This node publishes no tables you may see.',
        ),
  );
}

export interface Example {
  readonly name: string;
  readonly query: string;
}

/** The node's DALI examples document (/tap/examples, DALI-11): each example's name and query. */
export async function loadExamples(): Promise<Example[]> {
  const res = await authFetch(nodeUrl('tap/examples'));
  if (!res.ok) throw await responseError(res);
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  return [...doc.querySelectorAll('[typeof="example"]')]
    .map((el) => ({
      name: el.querySelector('[property="name"]')?.textContent?.trim() ?? el.id,
      query: el.querySelector('[property="query"]')?.textContent?.trim() ?? '',
    }))
    .filter((e) => e.query !== '');
}
