import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestedIndex } from '../../sky/index.js';
import { tilePath } from '../../src/hips/index.js';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
/** Small tiles, so the 5,000 demo rows spread over several orders. */
const PER_TILE = 40;

const get = (path: string) => fetch(`${node.url}/hips/demo.sources/${path}`);
const parseProperties = (text: string) =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
  );

/** The public rows as TAP gives them to an anonymous caller: id -> [ra, dec, flux_peak]. */
async function publicRows(): Promise<Map<string, number[]>> {
  const body = new URLSearchParams({
    REQUEST: 'doQuery',
    LANG: 'ADQL',
    FORMAT: 'csv',
    MAXREC: '1000000',
    QUERY: 'SELECT source_id, ra, dec, flux_peak FROM demo.sources',
  });
  const text = await (await fetch(`${node.url}/tap/sync`, { method: 'POST', body })).text();
  const out = new Map<string, number[]>();
  for (const line of text.trim().split(/\r?\n/).slice(1)) {
    const [id, ra, dec, flux] = line.split(',');
    out.set(id, [Number(ra), Number(dec), Number(flux)]);
  }
  return out;
}

/** A TSV tile: the completeness comment, the names, then rows as name -> value. */
function parseTsv(text: string) {
  const lines = text.split('\n').filter((l) => l !== '');
  expect(lines[0]).toMatch(/^# Completeness = \d+ \/ \d+$/);
  const names = lines[1].split('\t');
  return lines.slice(2).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [names[i], v])));
}

let props: Record<string, string>;
beforeAll(async () => {
  process.env.VONODE_HIPS_CATALOGUE_TILE_ROWS = String(PER_TILE);
  node = await startTestNode();
  props = parseProperties(await (await get('properties')).text());
}, 120_000);
afterAll(async () => {
  await node?.stop();
});

describe('the catalogue HiPS of demo.sources (HiPS 1.0 §4.3)', () => {
  it('properties say catalog, its row count, orders and where to start (HIPS-21, HIPS-22); the HiPS list carries it (HIPS-31)', async () => {
    const rows = await publicRows();
    expect(props.dataproduct_type).toBe('catalog');
    expect(props.hips_tile_format).toBe('tsv');
    expect(props.hips_version).toBe('1.4');
    expect(props.hips_frame).toBe('equatorial');
    expect(props.hips_release_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
    expect(Number(props.hips_cat_nrows)).toBe(rows.size);
    expect(props.hips_order_min).toBe('1');
    expect(Number(props.hips_order)).toBeGreaterThan(1);
    // It opens on the brightest public source.
    const brightest = [...rows.values()].sort((a, b) => b[2] - a[2])[0];
    expect(Number(props.hips_initial_ra)).toBeCloseTo(brightest[0], 6);
    expect(Number(props.hips_initial_dec)).toBeCloseTo(brightest[1], 6);
    expect(Number(props.hips_initial_fov)).toBeGreaterThan(0);
    const list = await (await fetch(`${node.url}/hips/hipslist`)).text();
    expect(list).toContain('hips_service_url     = http://vo.example.test/node/hips/demo.sources');
    expect(list).toContain('dataproduct_type     = catalog');
  });

  it('Metadata.xml is a VOTable whose FIELDs are the TSV columns, with the position UCDs (HIPS-09)', async () => {
    const xml = await (await get('Metadata.xml')).text();
    const out = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import io, json, sys
from astropy.io.votable import parse
t = parse(io.BytesIO(sys.stdin.buffer.read())).get_first_table()
print(json.dumps([[f.name, f.ucd] for f in t.fields]))`,
      ],
      { input: xml },
    );
    const fields = JSON.parse(out.toString()) as Array<[string, string | null]>;
    const tile = parseTsv(await (await get('Norder1/Allsky.tsv')).text());
    expect(fields.map((f) => f[0])).toEqual(Object.keys(tile[0]));
    expect(fields.find((f) => f[0] === 'ra')?.[1]).toBe('pos.eq.ra;meta.main');
    expect(fields.find((f) => f[0] === 'dec')?.[1]).toBe('pos.eq.dec;meta.main');
  });

  it('is progressive: every public row once, brightest first, at most the configured rows per tile, each in its tile', async () => {
    const rows = await publicRows();
    const deepest = Number(props.hips_order);
    const seen = new Map<string, number>();
    // The order at which each order-`deepest` cell's rows were shown, walking the tiles down.
    let cells = [...new Set([...rows.values()].map((r) => Number(nestedIndex(1, r[0], r[1]))))];
    for (let order = 1; order <= deepest; order++) {
      const next: number[] = [];
      for (const cell of cells) {
        const res = await get(tilePath(order, cell, 'tsv'));
        if (res.status === 404) continue;
        expect(res.status).toBe(200);
        expect(res.headers.get('access-control-allow-origin')).toBe('*');
        const tile = parseTsv(await res.text());
        expect(tile.length).toBeLessThanOrEqual(PER_TILE);
        const flux = tile.map((r) => Number(r.flux_peak));
        expect(flux).toEqual([...flux].sort((a, b) => b - a));
        for (const r of tile) {
          expect(seen.has(r.source_id), `row ${r.source_id} twice`).toBe(false);
          seen.set(r.source_id, order);
          expect(Number(nestedIndex(order, Number(r.ra), Number(r.dec)))).toBe(cell);
        }
        // No row left for a deeper tile is brighter than this tile's faintest.
        const inCell = [...rows.entries()].filter(
          ([id, r]) => !seen.has(id) && Number(nestedIndex(order, r[0], r[1])) === cell,
        );
        for (const [, r] of inCell) expect(r[2]).toBeLessThanOrEqual(Math.min(...flux));
        for (let c = 0; c < 4; c++) next.push(4 * cell + c);
      }
      cells = next.filter((c) =>
        [...rows.entries()].some(
          ([id, r]) => !seen.has(id) && Number(nestedIndex(order + 1, r[0], r[1])) === c,
        ),
      );
    }
    expect(seen.size).toBe(rows.size);
    expect([...seen.keys()].sort()).toEqual([...rows.keys()].sort());
  }, 120_000);

  it('Allsky.tsv of order 1 and 2 is every tile of that order (HIPS-11); absent tiles and bad paths answer 404', async () => {
    const deepest = Number(props.hips_order);
    for (const order of [1, 2]) {
      const all = parseTsv(await (await get(`Norder${order}/Allsky.tsv`)).text());
      const cells = [...new Set(all.map((r) => Number(nestedIndex(order, Number(r.ra), Number(r.dec)))))];
      let n = 0;
      for (const cell of cells) n += parseTsv(await (await get(tilePath(order, cell, 'tsv'))).text()).length;
      expect(all.length).toBe(n);
    }
    for (const path of [
      tilePath(deepest + 1, 0, 'tsv'),
      tilePath(1, 3, 'png'),
      'Norder0/Dir0/Npix1.tsv',
      'Norder1/Dir10000/Npix5.tsv',
    ]) {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 404]);
    }
    expect((await fetch(`${node.url}/hips/no.such/properties`)).status).toBe(404);
  });
});
