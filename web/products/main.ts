import { mountSession } from '../common/session-ui.js';
import { dateToMjd, formatMhz, metresToMhz, mhzToMetres, mjdToIso, typedNumber } from '../common/units.js';
import { column, NodeError, readTable, request, type Table, tapQuery } from '../common/votable.js';
import { byId, h, message, show } from '../query/dom.js';

/**
 * The product search (issue 18, item 4): the form becomes an SIA 2.0 query (POS, BAND,
 * TIME, COLLECTION, DPTYPE; SIA 2.0 §3), the same a client like pyvo sends, and the
 * ObsCore rows it answers are listed with their thumbnails and a link to each product's page.
 */

const form = byId<HTMLFormElement>('search-form');
const input = (id: string) => byId<HTMLInputElement>(id);
const errorBox = byId('search-error');
const status = byId('search-status');
const results = byId('search-results');

function sayError(text: string): void {
  show(errorBox, text);
  errorBox.hidden = false;
}

/** The SIA2 parameters of the form, or what to fix in it. */
function siaParams(): URLSearchParams | string {
  const p = new URLSearchParams();
  const ra = typedNumber(input('ra'));
  const dec = typedNumber(input('dec'));
  const radius = typedNumber(input('radius'));
  if (ra !== undefined || dec !== undefined) {
    if (ra === undefined || dec === undefined) return 'Give both RA and Dec, or neither.';
    if (!Number.isFinite(ra) || ra < 0 || ra >= 360)
      return `RA must be a number of degrees from 0 to 360, not “${input('ra').value}”.`;
    if (!Number.isFinite(dec) || dec < -90 || dec > 90)
      return `Dec must be a number of degrees from -90 to 90, not “${input('dec').value}”.`;
    if (radius === undefined || !Number.isFinite(radius) || radius <= 0 || radius > 180)
      return `The radius must be a number of degrees above 0 and at most 180, not “${input('radius').value}”.`;
    p.set('POS', `CIRCLE ${ra} ${dec} ${radius}`);
  }
  const fmin = typedNumber(input('freq-min'));
  const fmax = typedNumber(input('freq-max'));
  if (fmin !== undefined || fmax !== undefined) {
    for (const [v, id] of [
      [fmin, 'freq-min'],
      [fmax, 'freq-max'],
    ] as const)
      if (v !== undefined && !(Number.isFinite(v) && v > 0))
        return `A frequency must be a positive number of MHz, not “${input(id).value}”.`;
    if (fmin !== undefined && fmax !== undefined && fmin > fmax)
      return 'The band’s lower frequency is above its upper one.';
    // Higher frequency, shorter wavelength: the interval's ends swap (SIA2 BAND is in metres).
    p.set(
      'BAND',
      `${fmax === undefined ? 0 : mhzToMetres(fmax)} ${fmin === undefined ? '+Inf' : mhzToMetres(fmin)}`,
    );
  }
  const t0 = input('time-min').value;
  const t1 = input('time-max').value;
  if (t0 || t1) {
    if (t0 && t1 && t0 > t1) return 'The first date is after the last one.';
    // The last date is included whole: the interval ends at the next midnight.
    p.set('TIME', `${t0 ? dateToMjd(t0) : '-Inf'} ${t1 ? dateToMjd(t1) + 1 : '+Inf'}`);
  }
  const collection = byId<HTMLSelectElement>('collection').value;
  if (collection) p.set('COLLECTION', collection);
  const type = byId<HTMLSelectElement>('dptype').value;
  if (type) p.set('DPTYPE', type);
  return p;
}

const productLink = (did: string, text: string) =>
  h('a', { href: `product?id=${encodeURIComponent(did)}` }, text);

/** A thumbnail through the node's fetch (so it carries a login's rights), alt text from the product. */
function thumbnail(did: string, label: string): HTMLElement {
  const img = h('img', { alt: `preview of ${label}`, width: 96, height: 96, loading: 'lazy' });
  request(`preview/${encodeURIComponent(did)}.png?SIZE=thumbnail`)
    .then(async (res) => {
      if (!res.ok) throw new Error(String(res.status));
      img.src = URL.createObjectURL(await res.blob());
    })
    .catch(() => img.replaceWith(h('span', { class: 'hint' }, 'no preview')));
  return img;
}

function render(t: Table): void {
  const at = (name: string) => column(t, name);
  const [did, obsId, type, coll, target, emMin, emMax, tMin, fov] = [
    'obs_publisher_did',
    'obs_id',
    'dataproduct_type',
    'obs_collection',
    'target_name',
    'em_min',
    'em_max',
    't_min',
    's_fov',
  ].map(at) as number[];
  const cell = (row: Array<string | null>, i: number) => (i >= 0 ? (row[i] ?? '') : '');
  const rows = t.rows.map((row) => {
    const id = cell(row, did!);
    const label = cell(row, obsId!) || id;
    const lo = Number(cell(row, emMax!));
    const hi = Number(cell(row, emMin!));
    return h(
      'tr',
      {},
      h('td', {}, thumbnail(id, label)),
      h('th', { scope: 'row' }, productLink(id, label)),
      h('td', {}, cell(row, type!)),
      h('td', {}, cell(row, coll!)),
      h('td', {}, cell(row, target!)),
      h('td', {}, lo && hi ? `${formatMhz(metresToMhz(lo))}–${formatMhz(metresToMhz(hi))}` : ''),
      h('td', {}, cell(row, tMin!) ? mjdToIso(Number(cell(row, tMin!))) : ''),
      h('td', {}, cell(row, fov!) ? Number(cell(row, fov!)).toFixed(3) : ''),
    );
  });
  show(
    results,
    h(
      'table',
      { class: 'products' },
      h('caption', { class: 'sr-only' }, 'Products found'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'Preview',
            'Product',
            'Type',
            'Collection',
            'Target',
            'Frequency (MHz)',
            'Start (UTC)',
            'Field (deg)',
          ].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}

async function search(): Promise<void> {
  errorBox.hidden = true;
  const p = siaParams();
  if (typeof p === 'string') return sayError(p);
  byId<HTMLAnchorElement>('search-sky').href = `sky?sia=${encodeURIComponent(p.toString())}`;
  show(status, 'Searching…');
  show(results);
  try {
    const t = await readTable(`sia/query?${p}`);
    if (t.rows.length === 0) {
      show(
        status,
        message(
          'notice',
          'No products match this search. Widen the circle, the band or the dates, or clear a field.',
        ),
      );
      return;
    }
    show(
      status,
      `${t.rows.length} products${t.status === 'OVERFLOW' ? ' (the node stopped at its limit: narrow the search to see the rest)' : ''}.`,
    );
    render(t);
  } catch (err) {
    show(status);
    sayError(err instanceof NodeError ? err.message : `The search failed: ${(err as Error).message}`);
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void search();
});

// The collections offered are the node's (ObsCore obs_collection), read through TAP.
mountSession(byId('session'));
tapQuery('SELECT DISTINCT obs_collection FROM ivoa.obscore ORDER BY obs_collection')
  .then((t) => {
    const select = byId<HTMLSelectElement>('collection');
    for (const [c] of t.rows) if (c) select.append(h('option', { value: c }, c));
  })
  .catch((err) => sayError(`The collections could not be read: ${(err as Error).message}`));
