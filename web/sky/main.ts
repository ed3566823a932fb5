import { contains, parseRegion, type Region } from '../common/regions.js';
import { nodeUrl } from '../common/root.js';
import { mountSession } from '../common/session-ui.js';
import { NodeError, readTable, request, type Table, tapQuery } from '../common/votable.js';
import { byId, h, message, show } from '../query/dom.js';
import { type Aladin, type AladinModule, loadAladin } from './aladin.js';

/** What the node wrote into the page (src/web/sky-page.ts). */
interface SkyConfig {
  readonly aladinUrl: string;
  readonly hipsPath: string;
  /** The catalogue whose MOC is /moc/sources, and whose positions show by default. */
  readonly catalogueTable: string;
  readonly footprintsMax: number;
  readonly positionsMax: number;
}

const config = JSON.parse(byId('vonode-config').textContent ?? '{}') as SkyConfig;
const params = new URLSearchParams(location.search);
const status = byId('sky-status');
const errors = byId('sky-error');

/** Each failure is said on the page, in the alert region, never a blank map. */
function fail(what: string, err: unknown): void {
  const text = err instanceof Error ? err.message : String(err);
  errors.append(message('error', `${what}: ${text}`));
  errors.hidden = false;
}
window.addEventListener('unhandledrejection', (e) => fail('The page hit a problem', e.reason));

/** A footprint as drawn and as clicked: the product it opens. */
interface Footprint {
  readonly id: string;
  readonly label: string;
  readonly region: Region;
}

const plural = (n: number, word: string) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

const productUrl = (id: string) => `product?id=${encodeURIComponent(id)}`;

const colIndex = (t: Table, ...names: string[]) => {
  for (const n of names) {
    const i = t.fields.findIndex((f) => f.name.toLowerCase() === n);
    if (i >= 0) return i;
  }
  return -1;
};

/** The footprints of a table with ObsCore columns (s_region, obs_publisher_did). */
function footprintsOf(t: Table): Footprint[] {
  const region = colIndex(t, 's_region');
  const id = colIndex(t, 'obs_publisher_did');
  if (region < 0 || id < 0) return [];
  const obsId = colIndex(t, 'obs_id');
  const type = colIndex(t, 'dataproduct_type');
  const collection = colIndex(t, 'obs_collection');
  const out: Footprint[] = [];
  for (const row of t.rows) {
    const r = parseRegion(row[region] ?? null, t.fields[region]!.xtype);
    const did = row[id];
    if (!r || !did) continue;
    const extra = [type >= 0 ? row[type] : null, collection >= 0 ? row[collection] : null].filter(Boolean);
    out.push({
      id: did,
      label: `${(obsId >= 0 && row[obsId]) || did}${extra.length ? ` (${extra.join(', ')})` : ''}`,
      region: r,
    });
  }
  return out;
}

/** The positions of a table: the main RA/Dec by UCD (pos.eq.ra;meta.main), else by name. */
function positionsOf(t: Table): Array<[number, number, string]> {
  const byUcd = (ucd: string) => t.fields.findIndex((f) => (f.ucd ?? '').toLowerCase() === ucd);
  let ra = byUcd('pos.eq.ra;meta.main');
  let dec = byUcd('pos.eq.dec;meta.main');
  if (ra < 0 || dec < 0) {
    ra = colIndex(t, 'ra', 's_ra', 'raj2000');
    dec = colIndex(t, 'dec', 's_dec', 'dej2000');
  }
  if (ra < 0 || dec < 0) return [];
  const out: Array<[number, number, string]> = [];
  for (const row of t.rows) {
    const a = Number(row[ra]);
    const d = Number(row[dec]);
    if (row[ra] !== null && row[dec] !== null && Number.isFinite(a) && Number.isFinite(d))
      out.push([a, d, row.map((c) => c ?? '').join(' | ')]);
  }
  return out;
}

/** A centre and field of view holding every point (unit-vector mean; at most the whole sky). */
function framing(points: Array<[number, number]>): { ra: number; dec: number; fov: number } | undefined {
  if (points.length === 0) return undefined;
  const rad = Math.PI / 180;
  let [x, y, z] = [0, 0, 0];
  for (const [a, d] of points) {
    x += Math.cos(d * rad) * Math.cos(a * rad);
    y += Math.cos(d * rad) * Math.sin(a * rad);
    z += Math.sin(d * rad);
  }
  const ra = (Math.atan2(y, x) / rad + 360) % 360;
  const dec = Math.atan2(z, Math.hypot(x, y)) / rad;
  let far = 0;
  for (const [a, d] of points) {
    const cos =
      Math.sin(d * rad) * Math.sin(dec * rad) +
      Math.cos(d * rad) * Math.cos(dec * rad) * Math.cos((a - ra) * rad);
    far = Math.max(far, Math.acos(Math.min(1, cos)) / rad);
  }
  return { ra, dec, fov: Math.min(180, Math.max(0.5, far * 2.4)) };
}

/** A region's size for choosing among overlapping footprints: its span in RA·cos(Dec) and Dec. */
function extent(r: Region): number {
  if (r.kind === 'circle') return 2 * r.radius;
  const decs = r.vertices.map((v) => v[1]);
  const mid = ((Math.max(...decs) + Math.min(...decs)) / 2) * (Math.PI / 180);
  // RA differences across 0h are taken the short way round.
  const ras = r.vertices.map((v) => ((v[0] - r.vertices[0]![0] + 540) % 360) - 180);
  return (Math.max(...ras) - Math.min(...ras)) * Math.cos(mid) + (Math.max(...decs) - Math.min(...decs));
}

const regionPoints = (fs: Footprint[]): Array<[number, number]> =>
  fs.flatMap((f) =>
    f.region.kind === 'polygon' ? f.region.vertices : [[f.region.ra, f.region.dec] as [number, number]],
  );

/**
 * Ties a layer to its checkbox; the function returned shows or hides it as the box says, to
 * be called again after the layer's content changes (a result drawn after the person
 * switched the layer off must stay hidden).
 */
function layerToggle(id: string, layer: { show(): void; hide(): void }): () => void {
  const box = byId<HTMLInputElement>(id);
  box.disabled = false;
  const sync = () => (box.checked ? layer.show() : layer.hide());
  box.addEventListener('change', sync);
  return sync;
}

async function drawMoc(
  A: AladinModule,
  aladin: Aladin,
  path: string,
  toggle: string,
  color: string,
  name: string,
) {
  const res = await request(path);
  if (!res.ok) throw new NodeError(`${res.status} ${(await res.text()).trim()}`);
  const moc = A.MOCFromJSON(await res.json(), { color, opacity: 0.35, lineWidth: 2, fill: true, name });
  aladin.addMOC(moc);
  layerToggle(toggle, moc);
}

function listFootprints(fs: Footprint[], source: string): void {
  const list = byId('footprint-list');
  if (fs.length === 0) {
    show(list, h('p', {}, `No footprints in ${source}.`));
    return;
  }
  show(
    list,
    h(
      'p',
      {},
      `${plural(fs.length, 'footprint')} from ${source}; click one on the map or here to open its product.`,
    ),
    h('ul', {}, ...fs.map((f) => h('li', {}, h('a', { href: productUrl(f.id) }, f.label)))),
  );
}

async function main(): Promise<void> {
  const queryBox = byId<HTMLTextAreaElement>('sky-query');
  const query = params.get('query');
  const sia = params.get('sia');
  queryBox.value = query ?? `SELECT TOP ${config.positionsMax} * FROM ${config.catalogueTable}`;

  show(status, 'Loading Aladin Lite…');
  const A = await loadAladin(new URL(config.aladinUrl, location.href).href);
  const hips = nodeUrl(config.hipsPath);
  const aladin = A.aladin(byId('aladin'), {
    survey: hips,
    // Nothing from another host (nodes may run without internet, issue 18): no HiPS list,
    // no usage log, no name resolver, no share or SIMBAD buttons.
    hipsList: [hips],
    log: false,
    samp: false,
    showSimbadPointerControl: false,
    showShareControl: false,
    showContextMenu: false,
    showFullscreenControl: false,
    showReticle: false,
    showCooGridControl: true,
    backgroundColor: 'rgb(0, 0, 0)',
    fov: 20,
    target: '0 0',
  });
  document.body.dataset.aladin = 'ready';

  const footprintLayer = A.graphicOverlay({ color: '#ffd400', lineWidth: 2, name: 'ObsCore footprints' });
  aladin.addOverlay(footprintLayer);
  const syncFootprints = layerToggle('layer-footprints', footprintLayer);
  const positionLayer = A.catalog({ name: 'Positions', sourceSize: 10, color: '#00e5ff', shape: 'circle' });
  aladin.addCatalog(positionLayer);
  const syncPositions = layerToggle('layer-positions', positionLayer);

  let footprints: Footprint[] = [];
  const drawFootprints = (fs: Footprint[], source: string) => {
    footprints = fs;
    footprintLayer.removeAll();
    for (const f of fs)
      footprintLayer.add(
        f.region.kind === 'polygon'
          ? A.polygon(f.region.vertices.map((v) => [v[0], v[1]]))
          : A.circle(f.region.ra, f.region.dec, f.region.radius),
      );
    syncFootprints();
    listFootprints(fs, source);
    const frame = framing(regionPoints(fs));
    if (frame) {
      aladin.gotoRaDec(frame.ra, frame.dec);
      aladin.setFoV(frame.fov);
    }
  };
  // Clicking inside a footprint opens its product (the smallest one when they overlap).
  aladin.on('click', (e) => {
    if (e.isDragging) return;
    const hit = footprints
      .filter((f) => contains(f.region, e.ra, e.dec))
      .sort((a, b) => extent(a.region) - extent(b.region));
    if (hit.length > 0) location.assign(productUrl(hit[0]!.id));
  });

  // What is drawn, said in a fixed order whichever request answers first.
  const done: string[] = [];
  const said = (i: number, what: string) => {
    done[i] = what;
  };
  const tasks: Array<Promise<void>> = [
    drawMoc(A, aladin, 'moc/sources?format=json', 'layer-moc-catalogue', '#ff3df5', 'catalogue MOC')
      .then(() => said(0, 'the catalogue MOC'))
      .catch((err) => fail('The catalogue MOC could not be drawn', err)),
    drawMoc(A, aladin, 'moc/products?format=json', 'layer-moc-products', '#39ff14', 'products MOC')
      .then(() => said(1, 'the products MOC'))
      .catch((err) => fail('The products MOC could not be drawn', err)),
  ];

  const showQuery = async (q: string, withFootprints: boolean) => {
    positionLayer.removeAll();
    const t = await tapQuery(q, config.footprintsMax);
    const pos = positionsOf(t);
    positionLayer.addSources(pos.map(([ra, dec, text]) => A.source(ra, dec, { row: text })));
    syncPositions();
    const fs = footprintsOf(t);
    if (withFootprints && fs.length > 0) drawFootprints(fs, 'the query');
    const overflow = t.status === 'OVERFLOW' ? ' (the result stopped at MAXREC)' : '';
    show(
      byId('query-status'),
      pos.length === 0 && fs.length === 0
        ? message(
            'notice',
            `The query's ${t.rows.length} rows have no positions (RA/Dec) and no s_region to draw.`,
          )
        : `${plural(pos.length, 'position')}${fs.length ? ` and ${plural(fs.length, 'footprint')}` : ''} from ${plural(t.rows.length, 'row')}${overflow}.`,
    );
    if (!frameSet) {
      const frame = framing(pos.map(([a, d]) => [a, d]));
      if (frame) {
        aladin.gotoRaDec(frame.ra, frame.dec);
        aladin.setFoV(frame.fov);
      }
    }
  };
  let frameSet = false;

  // Footprints: of a product search (SIA2 parameters from the products page), else of every
  // product in ObsCore; a query with s_region from the query page replaces them below.
  const footprintTask = (
    sia
      ? readTable(`sia/query?${sia}`).then((t) => drawFootprints(footprintsOf(t), 'the product search'))
      : tapQuery(
          'SELECT obs_publisher_did, obs_id, obs_collection, dataproduct_type, s_ra, s_dec, s_region FROM ivoa.obscore',
          config.footprintsMax,
        ).then((t) => drawFootprints(footprintsOf(t), 'ivoa.obscore'))
  )
    .then(() => {
      frameSet = footprints.length > 0;
      said(2, plural(footprints.length, 'footprint'));
    })
    .catch((err) => {
      listFootprints([], 'the search');
      fail('The footprints could not be read', err);
    });
  tasks.push(footprintTask);
  tasks.push(
    footprintTask
      .then(() => showQuery(queryBox.value, Boolean(query) && !sia))
      .then(() => said(3, 'the query’s positions'))
      .catch((err) => fail('The query could not be shown', err)),
  );

  byId('sky-form').addEventListener('submit', (e) => {
    e.preventDefault();
    errors.replaceChildren();
    errors.hidden = true;
    show(byId('query-status'), 'Running the query…');
    showQuery(queryBox.value, true).catch((err) => {
      show(byId('query-status'));
      fail('The query could not be shown', err);
    });
  });

  await Promise.all(tasks);
  if (done[2]) said(2, plural(footprints.length, 'footprint'));
  show(status, `Drawn: the node's HiPS, ${done.filter(Boolean).join(', ')}.`);
  document.body.dataset.sky = 'drawn';
  performance.mark('vonode:sky');
}

mountSession(byId('session'));
main().catch((err) => {
  show(status);
  fail('The sky view could not start', err);
});
