import { h, message, show } from './dom.js';
import { connectionError, responseError, type TapError } from './tap.js';
import { type Field, type Info, parseCells, TableDataReader } from './votable-stream.js';

/** Where a result comes from: a request whose answer is a TABLEDATA VOTable. */
export interface ResultSource {
  readonly label: string;
  readonly request: (signal: AbortSignal) => Promise<Response>;
  /** Said before the download links: whether they run the query again. */
  readonly downloadsNote: string;
  /** Links to the same result in every RESPONSEFORMAT. */
  readonly downloads: ReadonlyArray<{
    readonly label: string;
    readonly href?: string;
    readonly fetch?: () => Promise<Response>;
    readonly filename: string;
  }>;
}

export interface ResultRegions {
  readonly status: HTMLElement;
  readonly downloads: HTMLElement;
  readonly table: HTMLElement;
  readonly pager: HTMLElement;
}

/**
 * Most characters of raw rows the page holds. Beyond it the page stops reading and says so:
 * the rest of the result is there to download, not to hold in a browser tab.
 */
export const HELD_CHARS_MAX = 256 * 1024 * 1024;
const PAGE_SIZES = [50, 100, 500];
const NUMERIC = new Set(['short', 'int', 'long', 'float', 'double', 'unsignedByte']);

/**
 * The results view (issue 18 item 2). The answer is read as a stream: the first page shows
 * as soon as its rows arrive, later rows are kept raw (one string each) and only the shown
 * page becomes cells and DOM, so paging through 100,000 rows costs a page's work per click.
 */
export class ResultView {
  private fields: Field[] = [];
  private rows: string[] = [];
  private heldChars = 0;
  /** Row order when sorted: indices into rows. */
  private order: number[] | undefined;
  private sort: { column: number; descending: boolean } | undefined;
  private page = 0;
  private pageSize = 100;
  private done = false;
  private abort: AbortController | undefined;
  private onStateChange: (running: boolean) => void = () => {};
  private pendingRender = false;
  private outcome: HTMLElement | undefined;
  private leadingStatus: Info | undefined;

  constructor(private readonly r: ResultRegions) {}

  /** Called with true when a result starts streaming and false when it ends. */
  onRunning(f: (running: boolean) => void): void {
    this.onStateChange = f;
  }

  stop(): void {
    this.abort?.abort();
  }

  /** Also told to the query editor, which marks an ADQL error's place. */
  onError: (err: TapError) => void = () => {};

  showError(err: TapError, context: string): void {
    show(this.r.status, message('error', `${context}: ${err.message}`));
    this.onError(err);
  }

  async load(source: ResultSource): Promise<void> {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.fields = [];
    this.rows = [];
    this.heldChars = 0;
    this.order = undefined;
    this.sort = undefined;
    this.page = 0;
    this.done = false;
    this.outcome = undefined;
    this.leadingStatus = undefined;
    show(this.r.table);
    show(this.r.pager);
    this.renderDownloads(source);
    show(this.r.status, h('p', {}, `${source.label}: waiting for the first rows…`));
    this.onStateChange(true);
    const started = performance.now();
    try {
      let res: Response;
      try {
        res = await source.request(abort.signal);
      } catch (err) {
        const e = connectionError(err);
        if (e.message !== 'stopped') this.showError(e, `${source.label} failed`);
        else show(this.r.status, message('notice', `${source.label}: stopped before any row arrived.`));
        return;
      }
      if (!res.ok) {
        this.showError(await responseError(res), `${source.label} was refused`);
        return;
      }
      if (!res.body) {
        this.showError({ message: 'the answer has no body' }, source.label);
        return;
      }
      const reader = new TableDataReader({
        header: (fields, infos) => {
          this.fields = fields;
          // DALI-47: OVERFLOW may come before the table (as this node writes it) or after.
          this.leadingStatus = infos.find((i) => i.name === 'QUERY_STATUS');
        },
        rows: (rows) => {
          for (const row of rows) {
            this.rows.push(row);
            this.heldChars += row.length;
          }
          this.scheduleRender();
        },
        end: (infos, complete) => this.finish(infos, complete, source.label, performance.now() - started),
      });
      const decoder = res.body.pipeThrough(new TextDecoderStream());
      const stream = decoder.getReader();
      abort.signal.addEventListener('abort', () => void stream.cancel().catch(() => {}));
      try {
        for (;;) {
          const { value, done } = await stream.read();
          if (done) break;
          reader.push(value);
          if (this.heldChars > HELD_CHARS_MAX) {
            await stream.cancel();
            this.done = true;
            this.outcome = message(
              'notice',
              `Only the first ${this.rows.length.toLocaleString('en')} rows are shown: the result is larger than this page holds (${Math.round(HELD_CHARS_MAX / 1048576)} MB). Download it in full below.`,
            );
            this.render();
            return;
          }
        }
        reader.end();
      } catch (err) {
        if (abort.signal.aborted) {
          this.done = true;
          this.outcome = message('notice', `Stopped after ${this.rows.length.toLocaleString('en')} rows.`);
        } else {
          this.done = true;
          this.outcome = message(
            'error',
            `The connection to the node was lost after ${this.rows.length.toLocaleString('en')} rows (${err instanceof Error ? err.message : String(err)}). The rows shown are incomplete; run the query again.`,
          );
        }
        this.render();
      }
    } finally {
      if (this.abort === abort) this.abort = undefined;
      this.onStateChange(false);
    }
  }

  private finish(infos: Info[], complete: boolean, label: string, ms: number): void {
    this.done = true;
    const trailing = infos.find((i) => i.name === 'QUERY_STATUS');
    const status = trailing?.value === 'ERROR' || !this.leadingStatus ? trailing : this.leadingStatus;
    const n = this.rows.length.toLocaleString('en');
    if (!complete)
      this.outcome = message(
        'error',
        `The answer stopped before the table ended, after ${n} rows: the connection was lost or the node stopped. The rows shown are incomplete; run the query again.`,
      );
    else if (status?.value === 'OVERFLOW')
      this.outcome = message(
        'notice',
        `OVERFLOW: the result was cut at MAXREC, ${n} rows. More rows match the query; raise MAXREC (up to the node's limit) or narrow the query.`,
      );
    else if (status?.value === 'ERROR')
      this.outcome = message(
        'error',
        `The query failed after ${n} rows: ${status.text || 'no reason given'}`,
      );
    else if (!this.outcome)
      this.outcome = message('ok', `${label}: ${n} rows in ${(ms / 1000).toFixed(2)} s.`);
    this.render();
  }

  private scheduleRender(): void {
    if (this.pendingRender) return;
    this.pendingRender = true;
    requestAnimationFrame(() => {
      this.pendingRender = false;
      this.render();
    });
  }

  private get pageCount(): number {
    return Math.max(1, Math.ceil(this.rows.length / this.pageSize));
  }

  private render(): void {
    const { status } = this.r;
    const count = this.rows.length.toLocaleString('en');
    show(
      status,
      this.done
        ? (this.outcome ?? null)
        : h(
            'p',
            {},
            `${count} rows so far, still arriving… `,
            h('span', { class: 'hint' }, '(pages fill as rows come in)'),
          ),
    );
    // Only rebuild the table when the shown page changes, not on every block of rows.
    const first = this.page * this.pageSize;
    const shownKey = `${first}:${this.pageSize}:${this.sort?.column}:${this.sort?.descending}:${Math.min(this.rows.length, first + this.pageSize)}:${this.fields.length}`;
    if (this.r.table.dataset.shown !== shownKey) {
      this.r.table.dataset.shown = shownKey;
      this.renderTable();
    }
    this.renderPager();
  }

  private renderTable(): void {
    if (this.fields.length === 0) {
      show(this.r.table);
      return;
    }
    const first = this.page * this.pageSize;
    const last = Math.min(this.rows.length, first + this.pageSize);
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'row')),
      ...this.fields.map((f, i) => {
        const sorted = this.sort?.column === i;
        const ariaSort = sorted ? (this.sort!.descending ? 'descending' : 'ascending') : 'none';
        const title = [
          f.description,
          f.ucd ? `UCD: ${f.ucd}` : '',
          f.unit ? `unit: ${f.unit}` : '',
          `datatype: ${f.datatype}`,
        ]
          .filter(Boolean)
          .join('\n');
        return h(
          'th',
          { scope: 'col', 'aria-sort': ariaSort, title },
          h(
            'button',
            {
              type: 'button',
              onclick: () => this.sortBy(i),
              disabled: !this.done,
              'aria-label': `${f.name}${f.unit ? ` in ${f.unit}` : ''}: sort ${sorted && !this.sort!.descending ? 'descending' : 'ascending'}`,
            },
            f.name,
            sorted ? (this.sort!.descending ? ' ▼' : ' ▲') : '',
          ),
          f.unit ? h('span', { class: 'unit' }, f.unit) : null,
          f.ucd ? h('span', { class: 'unit' }, f.ucd) : null,
        );
      }),
    );
    const numeric = this.fields.map((f) => NUMERIC.has(f.datatype) && (!f.arraysize || f.arraysize === '1'));
    const body = h('tbody', {});
    for (let k = first; k < last; k++) {
      const index = this.order ? this.order[k]! : k;
      const cells = parseCells(this.rows[index]!);
      body.append(
        h(
          'tr',
          {},
          h('td', { class: 'num hint' }, index + 1),
          ...this.fields.map((_, c) => h('td', numeric[c] ? { class: 'num' } : {}, cells[c] ?? '')),
        ),
      );
    }
    const columns = h(
      'details',
      { class: 'columns' },
      h('summary', {}, `The ${this.fields.length} columns: units, UCDs and descriptions`),
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['name', 'datatype', 'unit', 'UCD', 'description'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          ...this.fields.map((f) =>
            h(
              'tr',
              {},
              h('td', {}, h('code', {}, f.name)),
              h('td', {}, f.datatype + (f.arraysize ? `[${f.arraysize}]` : '')),
              h('td', {}, f.unit ?? ''),
              h('td', {}, f.ucd ?? ''),
              h('td', {}, f.description ?? ''),
            ),
          ),
        ),
      ),
    );
    show(
      this.r.table,
      h(
        'table',
        {
          class: 'rows',
          'aria-label': `Result rows ${first + 1} to ${last}`,
          'aria-rowcount': this.rows.length + 1,
        },
        h('thead', {}, head),
        body,
      ),
      columns,
    );
  }

  private renderPager(): void {
    if (this.rows.length === 0 && this.done) {
      show(this.r.pager);
      return;
    }
    const pages = this.pageCount;
    const first = this.page * this.pageSize;
    const last = Math.min(this.rows.length, first + this.pageSize);
    const go = (p: number) => () => this.goTo(p);
    const pageInput = h('input', {
      id: 'page-number',
      type: 'number',
      min: 1,
      max: pages,
      value: this.page + 1,
      onchange: (e: Event) => this.goTo(Number((e.target as HTMLInputElement).value) - 1),
    });
    const size = h(
      'select',
      {
        id: 'page-size',
        onchange: (e: Event) => {
          const firstRow = this.page * this.pageSize;
          this.pageSize = Number((e.target as HTMLSelectElement).value);
          this.goTo(Math.floor(firstRow / this.pageSize));
        },
      },
      ...PAGE_SIZES.map((n) => h('option', { value: n, selected: n === this.pageSize }, n)),
    );
    show(
      this.r.pager,
      h(
        'nav',
        { class: 'pager', 'aria-label': 'Result pages' },
        h(
          'button',
          { type: 'button', onclick: go(0), disabled: this.page === 0, 'aria-label': 'First page' },
          '« First',
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: go(this.page - 1),
            disabled: this.page === 0,
            'aria-label': 'Previous page',
          },
          '◀ Previous',
        ),
        h('label', { for: 'page-number' }, 'Page'),
        pageInput,
        h('span', { id: 'page-of' }, `of ${pages.toLocaleString('en')}${this.done ? '' : '+'}`),
        h(
          'button',
          {
            type: 'button',
            onclick: go(this.page + 1),
            disabled: this.page >= pages - 1,
            'aria-label': 'Next page',
          },
          'Next ▶',
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: go(pages - 1),
            disabled: this.page >= pages - 1,
            'aria-label': 'Last page',
          },
          'Last »',
        ),
        h('label', { for: 'page-size' }, 'Rows per page'),
        size,
        h(
          'span',
          { id: 'page-rows', 'aria-live': 'polite' },
          this.rows.length === 0
            ? 'no rows yet'
            : `rows ${(first + 1).toLocaleString('en')}–${last.toLocaleString('en')} of ${this.rows.length.toLocaleString('en')}${this.done ? '' : ' so far'}`,
        ),
      ),
    );
  }

  private goTo(page: number): void {
    if (!Number.isFinite(page)) return;
    this.page = Math.max(0, Math.min(this.pageCount - 1, Math.floor(page)));
    this.render();
  }

  /** Sorts every row held, by the column's values: numbers as numbers, nulls last. */
  private sortBy(column: number): void {
    const descending = this.sort?.column === column ? !this.sort.descending : false;
    const numeric = NUMERIC.has(this.fields[column]?.datatype ?? '');
    const keys = this.rows.map((r) => parseCells(r)[column] ?? null);
    const order = keys.map((_, i) => i);
    const sign = descending ? -1 : 1;
    const collator = new Intl.Collator('en', { numeric: true });
    const nums = numeric ? keys.map((k) => (k === null ? Number.NaN : Number(k))) : [];
    order.sort((a, b) => {
      if (numeric) {
        const x = nums[a]!;
        const y = nums[b]!;
        if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
        if (Number.isNaN(y)) return -1;
        return (x - y) * sign;
      }
      const x = keys[a];
      const y = keys[b];
      if (x === null) return y === null ? 0 : 1;
      if (y === null) return -1;
      return collator.compare(x, y) * sign;
    });
    this.order = order;
    this.sort = { column, descending };
    this.page = 0;
    this.render();
    (this.r.table.querySelector(`thead th:nth-child(${column + 2}) button`) as HTMLElement | null)?.focus();
  }

  private renderDownloads(source: ResultSource): void {
    const links = source.downloads.map((d) => {
      if (d.href) return h('a', { href: d.href, download: d.filename, class: 'download' }, d.label);
      return h(
        'button',
        {
          type: 'button',
          class: 'download',
          onclick: async () => {
            try {
              const res = await d.fetch!();
              if (!res.ok) throw await responseError(res);
              const url = URL.createObjectURL(await res.blob());
              const a = h('a', { href: url, download: d.filename });
              document.body.append(a);
              a.click();
              a.remove();
              setTimeout(() => URL.revokeObjectURL(url), 60_000);
            } catch (err) {
              this.showError(
                'message' in (err as object) ? (err as TapError) : connectionError(err),
                `Download as ${d.label} failed`,
              );
            }
          },
        },
        d.label,
      );
    });
    show(
      this.r.downloads,
      links.length ? h('p', { class: 'downloads' }, source.downloadsNote, ' ', ...links) : null,
    );
  }
}
