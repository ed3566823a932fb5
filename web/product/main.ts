import { downloadLink, saveBlob } from '../common/download.js';
import { mountSession } from '../common/session-ui.js';
import { formatMhz, metresToMhz, mhzToMetres, mjdToIso, typedNumber } from '../common/units.js';
import { adqlString, NodeError, refusal, request, tapQuery } from '../common/votable.js';
import { byId, h, message, show } from '../query/dom.js';

/**
 * A product's page (issue 18, item 4): its ObsCore record (TAP), its preview and its links
 * (DataLink 1.1 {links}), and a cutout form sent to the SODA service the DataLink document
 * describes (SODA 1.0 sync: ID, CIRCLE or POLYGON, BAND), whose FITS answer is downloaded.
 */

const id = new URLSearchParams(location.search).get('id') ?? '';
const pageError = byId('product-error');
const heading = byId('product-h');

function sayError(box: HTMLElement, text: string): void {
  show(box, text);
  box.hidden = false;
}
window.addEventListener('unhandledrejection', (e) =>
  sayError(pageError, `The page hit a problem: ${(e.reason as Error)?.message ?? e.reason}`),
);

/** The ObsCore record as the page uses it. */
interface ObsCoreRecord {
  readonly [name: string]: string | null;
}

async function loadRecord(): Promise<ObsCoreRecord | undefined> {
  const t = await tapQuery(`SELECT * FROM ivoa.obscore WHERE obs_publisher_did = ${adqlString(id)}`);
  const row = t.rows[0];
  if (!row) return undefined;
  return Object.fromEntries(t.fields.map((f, i) => [f.name, row[i] ?? null]));
}

function showRecord(r: ObsCoreRecord): void {
  const num = (k: string) => (r[k] === null || r[k] === undefined ? undefined : Number(r[k]));
  const emMin = num('em_min');
  const emMax = num('em_max');
  const items: Array<[string, string]> = [
    ['Identifier', r.obs_publisher_did ?? ''],
    ['Collection', r.obs_collection ?? ''],
    ['Type', `${r.dataproduct_type ?? ''}${r.calib_level ? `, calibration level ${r.calib_level}` : ''}`],
    ['Target', r.target_name ?? ''],
    ['Facility', [r.facility_name, r.instrument_name].filter(Boolean).join(', ')],
    [
      'Centre (ICRS)',
      r.s_ra && r.s_dec ? `RA ${Number(r.s_ra).toFixed(5)}°, Dec ${Number(r.s_dec).toFixed(5)}°` : '',
    ],
    ['Field of view', r.s_fov ? `${Number(r.s_fov).toFixed(3)}°` : ''],
    [
      'Frequency',
      emMin && emMax ? `${formatMhz(metresToMhz(emMax))}–${formatMhz(metresToMhz(emMin))} MHz` : '',
    ],
    ['Channels', r.em_xel ?? ''],
    [
      'Observed (UTC)',
      r.t_min && r.t_max ? `${mjdToIso(Number(r.t_min))} – ${mjdToIso(Number(r.t_max))}` : '',
    ],
    ['Size', r.access_estsize ? `${Number(r.access_estsize).toLocaleString('en')} kB` : ''],
  ];
  show(
    byId('product-meta'),
    h(
      'dl',
      { class: 'meta' },
      ...items.filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
  );
}

/** The preview through the node's fetch (a login's rights go with it), not a bare <img src>. */
async function showPreview(label: string): Promise<void> {
  const figure = byId('preview');
  const caption = h('figcaption', {}, `Preview of ${label}`);
  try {
    const res = await request(`preview/${encodeURIComponent(id)}.png`);
    if (!res.ok) throw await refusal(res);
    const img = h('img', { alt: `Preview image of ${label}` });
    img.src = URL.createObjectURL(await res.blob());
    show(figure, img, caption);
  } catch (err) {
    show(figure, message('notice', `No preview: ${(err as Error).message}`), caption);
  }
}

/** The SODA service a DataLink document describes (a service descriptor, DataLink §4). */
interface Soda {
  readonly accessUrl: string;
  readonly idValue: string;
}

/** The name a linked file is saved under: the last segment of its path. */
const fileName = (url: string) =>
  decodeURIComponent(new URL(url, location.href).pathname.split('/').pop() || `${id}.dat`);

async function showLinks(): Promise<Soda | undefined> {
  const res = await request(`datalink/links?ID=${encodeURIComponent(id)}`);
  if (!res.ok) throw await refusal(res);
  const doc = new DOMParser().parseFromString(await res.text(), 'application/xml');
  const results = [...doc.getElementsByTagName('RESOURCE')].find((r) => r.getAttribute('type') === 'results');
  const names = [...(results?.getElementsByTagName('FIELD') ?? [])].map((f) => f.getAttribute('name') ?? '');
  const at = (n: string) => names.indexOf(n);
  const rows = [...(results?.getElementsByTagName('TR') ?? [])].map((tr) =>
    [...tr.getElementsByTagName('TD')].map((td) => td.textContent ?? ''),
  );
  const list = rows.map((row) => {
    const url = row[at('access_url')] ?? '';
    const err = row[at('error_message')] ?? '';
    const semantics = row[at('semantics')] ?? '';
    const description = row[at('description')] ?? '';
    const type = row[at('content_type')] ?? '';
    const size = Number(row[at('content_length')] ?? '');
    const what = `${description}${type ? ` (${type}${size ? `, ${(size / 1024).toFixed(0)} kB` : ''})` : ''}`;
    return h(
      'li',
      {},
      h('code', {}, semantics),
      ' ',
      err
        ? h('span', { class: 'hint' }, err)
        : url
          ? // Logged in, a link cannot carry the token: fetched with it and saved instead.
            downloadLink(
              url,
              fileName(url),
              what || url,
              {},
              {
                open: true,
                onError: (m) => sayError(pageError, m),
              },
            )
          : h('span', {}, `${what} — a service, see the cutout form below`),
    );
  });
  show(
    byId('links'),
    rows.length ? h('ul', {}, ...list) : message('notice', 'The node lists no links for this product.'),
  );
  // The SODA sync descriptor: its accessURL and the ID value to send (DataLink §4.1).
  for (const r of doc.getElementsByTagName('RESOURCE')) {
    if (r.getAttribute('type') !== 'meta' || r.getAttribute('utype') !== 'adhoc:service') continue;
    const params = [...r.getElementsByTagName('PARAM')];
    const value = (n: string) =>
      params.find((p) => p.getAttribute('name') === n)?.getAttribute('value') ?? '';
    if (!/SODA#sync/i.test(value('standardID'))) continue;
    const idParam = params.find((p) => p.getAttribute('name') === 'ID');
    return { accessUrl: value('accessURL'), idValue: idParam?.getAttribute('value') || id };
  }
  return undefined;
}

// --- the cutout form ---

const cutoutStatus = byId('cutout-status');
const cutoutError = byId('cutout-error');
const field = (n: string) => byId<HTMLInputElement>(n);

const shape = () => document.querySelector<HTMLInputElement>('input[name=shape]:checked')?.value ?? 'circle';
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=shape]'))
  radio.addEventListener('change', () => {
    byId('circle-fields').hidden = shape() !== 'circle';
    byId('polygon-fields').hidden = shape() !== 'polygon';
  });

/** The SODA parameters of the form, or what to fix in it. */
function sodaParams(soda: Soda): URLSearchParams | string {
  const p = new URLSearchParams({ ID: soda.idValue });
  if (shape() === 'circle') {
    const [ra, dec, r] = ['c-ra', 'c-dec', 'c-radius'].map((n) => typedNumber(field(n)));
    if (ra === undefined || dec === undefined || r === undefined)
      return 'Give the circle’s RA, Dec and radius.';
    if (![ra, dec, r].every(Number.isFinite))
      return 'The circle’s RA, Dec and radius must be numbers of degrees.';
    if (r <= 0) return 'The radius must be above 0.';
    p.set('CIRCLE', `${ra} ${dec} ${r}`);
  } else {
    const numbers = field('p-vertices')
      .value.trim()
      .split(/[\s,]+/)
      .filter(Boolean)
      .map(Number);
    if (numbers.length < 6 || numbers.length % 2 !== 0 || !numbers.every(Number.isFinite))
      return 'The polygon needs at least three vertices, each an RA and a Dec in degrees.';
    p.set('POLYGON', numbers.join(' '));
  }
  const lo = typedNumber(field('b-min'));
  const hi = typedNumber(field('b-max'));
  if (lo !== undefined || hi !== undefined) {
    if (lo === undefined || hi === undefined || !(lo > 0 && hi > 0))
      return 'Give both ends of the band, in MHz above 0.';
    if (lo > hi) return 'The band’s lower frequency is above its upper one.';
    // SODA BAND is a vacuum wavelength interval in metres (SODA 1.0 §3.3.4).
    p.set('BAND', `${mhzToMetres(hi)} ${mhzToMetres(lo)}`);
  }
  return p;
}

async function cutout(soda: Soda, label: string): Promise<void> {
  cutoutError.hidden = true;
  const p = sodaParams(soda);
  if (typeof p === 'string') return sayError(cutoutError, p);
  show(cutoutStatus, 'Cutting out…');
  const button = byId<HTMLButtonElement>('cutout');
  button.disabled = true;
  try {
    const res = await request(`${soda.accessUrl}?${p}`);
    if (res.status === 204) {
      show(cutoutStatus);
      return sayError(
        cutoutError,
        'The region lies outside the image: no pixel of the product is in it (SODA answered “no data”). Move or widen the region.',
      );
    }
    if (!res.ok) throw await refusal(res);
    const blob = await res.blob();
    const name =
      /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `${label}-cutout.fits`;
    saveBlob(blob, name);
    show(cutoutStatus, message('ok', `Downloaded ${name} (${(blob.size / 1024).toFixed(0)} kB).`));
  } catch (err) {
    show(cutoutStatus);
    sayError(cutoutError, err instanceof NodeError ? `The cutout failed: ${err.message}` : String(err));
  } finally {
    button.disabled = false;
  }
}

async function main(): Promise<void> {
  if (!id) {
    show(heading, 'No product named');
    return sayError(
      pageError,
      'This page shows one product: open it from the product search, or add ?id=<obs_publisher_did>.',
    );
  }
  const record = await loadRecord();
  if (!record) {
    show(heading, 'Product not found');
    byId('preview').hidden = true;
    return sayError(
      pageError,
      `No product ${id} is visible to you in ivoa.obscore. It may not exist, or it may be proprietary.`,
    );
  }
  const label = record.obs_id ?? id;
  show(heading, label);
  document.title = `${label} · ${document.title}`;
  showRecord(record);
  void showPreview(label);
  // Defaults: a circle of a quarter of the field at its centre, and for a cube its middle third.
  field('c-ra').value = record.s_ra ?? '';
  field('c-dec').value = record.s_dec ?? '';
  field('c-radius').value = record.s_fov ? (Number(record.s_fov) / 4).toFixed(4) : '';
  const isCube = record.dataproduct_type === 'cube';
  byId('band-fields').hidden = !isCube;
  if (isCube && record.em_min && record.em_max) {
    const fLo = metresToMhz(Number(record.em_max));
    const fHi = metresToMhz(Number(record.em_min));
    field('b-min').value = formatMhz(fLo + (fHi - fLo) / 3);
    field('b-max').value = formatMhz(fLo + (2 * (fHi - fLo)) / 3);
  }
  const soda = await showLinks().catch((err) => {
    show(byId('links'), message('error', `The links could not be read: ${(err as Error).message}`));
    return undefined;
  });
  const form = byId<HTMLFormElement>('cutout-form');
  if (!soda) {
    form.hidden = true;
    return show(cutoutStatus, message('notice', 'The node offers no cutout service for this product.'));
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void cutout(soda, label);
  });
}

mountSession(byId('session'));
main().catch((err) => sayError(pageError, err instanceof Error ? err.message : String(err)));
