import type { Completion } from '@codemirror/autocomplete';
import { SQLDialect, type SQLNamespace, sql } from '@codemirror/lang-sql';
import { type Diagnostic, lintGutter, setDiagnostics } from '@codemirror/lint';
import { Compartment, EditorSelection, Prec } from '@codemirror/state';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';
import type { SchemaInfo } from './schema.js';

/**
 * ADQL 2.1 for the highlighter: SQL-92's keywords plus ADQL's own (TOP, OFFSET, the geometry
 * functions of §2.4 and the optional features this node declares). Regular identifiers are
 * case-insensitive (ADQL 2.1 §2.1.3), so completion never quotes TAP_SCHEMA or Dec.
 */
const ADQL = SQLDialect.define({
  keywords:
    'select top distinct all from where group by having order asc desc offset limit join inner outer left right full natural cross on using as and or not between like ilike in is null exists union intersect except case when then else end with',
  builtin:
    'abs ceiling degrees exp floor log log10 mod pi power radians rand round sqrt truncate sin cos tan asin acos atan atan2 cot count sum avg min max lower upper trim position substring coalesce cast ' +
    'area box centroid circle contains coord1 coord2 coordsys distance intersects point polygon region in_unit',
  types: 'integer smallint bigint real double precision char varchar timestamp point circle polygon',
  caseInsensitiveIdentifiers: true,
});

/** The completion namespace: schemas, their tables, their columns, with units and descriptions. */
export function namespaceOf(schemas: SchemaInfo[]): SQLNamespace {
  const ns: Record<string, SQLNamespace> = {};
  for (const s of schemas) {
    const tables: Record<string, SQLNamespace> = {};
    for (const t of s.tables) {
      const short = t.name.startsWith(`${s.name}.`) ? t.name.slice(s.name.length + 1) : t.name;
      tables[short] = {
        self: { label: short, type: 'type', detail: 'table', info: t.description },
        children: t.columns.map(
          (c): Completion => ({
            label: c.name,
            type: 'property',
            detail: [c.datatype, c.unit].filter(Boolean).join(', '),
            info: [c.description, c.ucd ? `UCD ${c.ucd}` : ''].filter(Boolean).join(' · ') || undefined,
          }),
        ),
      };
    }
    ns[s.name] = {
      self: { label: s.name, type: 'namespace', detail: 'schema', info: s.description },
      children: tables,
    };
  }
  return ns;
}

export interface QueryEditor {
  readonly view: EditorView;
  text(): string;
  setText(text: string): void;
  insert(text: string): void;
  setSchema(schemas: SchemaInfo[], defaultSchema?: string): void;
  /** Marks the place an ADQL error names (1-based line and column); returns its offset. */
  markError(message: string, line: number, column: number, token?: string): number;
  clearError(): void;
  focusAt(offset: number): void;
}

export function createEditor(
  parent: HTMLElement,
  initial: string,
  run: () => void,
  onChange: () => void,
): QueryEditor {
  const language = new Compartment();
  const view = new EditorView({
    parent,
    doc: initial,
    extensions: [
      basicSetup,
      lintGutter(),
      language.of(sql({ dialect: ADQL, upperCaseKeywords: true })),
      Prec.highest(
        keymap.of([
          {
            key: 'Mod-Enter',
            run: () => {
              run();
              return true;
            },
          },
        ]),
      ),
      EditorView.contentAttributes.of({ 'aria-label': 'ADQL query', 'aria-multiline': 'true' }),
      EditorView.lineWrapping,
      EditorView.updateListener.of((u) => {
        if (u.docChanged) onChange();
      }),
    ],
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    insert(text) {
      const { from, to } = view.state.selection.main;
      view.dispatch({
        changes: { from, to, insert: text },
        selection: EditorSelection.cursor(from + text.length),
      });
      view.focus();
    },
    setSchema(schemas, defaultSchema) {
      view.dispatch({
        effects: language.reconfigure(
          sql({
            dialect: ADQL,
            upperCaseKeywords: true,
            schema: namespaceOf(schemas),
            ...(defaultSchema ? { defaultSchema } : {}),
          }),
        ),
      });
    },
    markError(message, line, column, token) {
      const doc = view.state.doc;
      const l = doc.line(Math.max(1, Math.min(doc.lines, line)));
      const from = Math.min(l.to, l.from + Math.max(0, column - 1));
      let to = from + (token ? token.length : 0);
      if (to <= from) {
        // No token: mark the word (or the one character) at the place.
        const rest = doc.sliceString(from, l.to);
        to = from + Math.max(1, /^\w+/.exec(rest)?.[0].length ?? 1);
      }
      to = Math.min(to, doc.length);
      const diagnostic: Diagnostic = { from, to: Math.max(to, from), severity: 'error', message };
      view.dispatch(setDiagnostics(view.state, [diagnostic]));
      return from;
    },
    clearError() {
      view.dispatch(setDiagnostics(view.state, []));
    },
    focusAt(offset) {
      view.dispatch({ selection: EditorSelection.cursor(offset), scrollIntoView: true });
      view.focus();
    },
  };
}
