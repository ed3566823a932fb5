/**
 * MOC throughput: building cone/polygon MOCs, set operations and serialisations.
 * Run: npx tsx bench/moc.ts
 */
import { Moc } from '../sky/index.js';

function time(label: string, calls: number, fn: () => unknown): void {
  fn();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) fn();
  const ms = (performance.now() - t0) / calls;
  console.log(`${label.padEnd(46)} ${ms.toFixed(3).padStart(9)} ms/call`);
}

const cone = Moc.fromCone(83.6, 22.0, 3, 13);
const poly = Moc.fromPolygon(
  [
    [80, 18],
    [88, 18],
    [88, 25],
    [84, 21],
    [80, 25],
  ],
  13,
);
console.log(
  `cone MOC: ${cone.cells().length} cells, ${cone.ranges.length} ranges; polygon: ${poly.cells().length} cells`,
);
time('Moc.fromCone r=3° order 13', 20, () => Moc.fromCone(83.6, 22.0, 3, 13));
time('Moc.fromPolygon 5 vertices order 13', 20, () =>
  Moc.fromPolygon(
    [
      [80, 18],
      [88, 18],
      [88, 25],
      [84, 21],
      [80, 25],
    ],
    13,
  ),
);
time('union', 200, () => cone.union(poly));
time('intersection', 200, () => cone.intersection(poly));
time('difference', 200, () => cone.difference(poly));
const ascii = cone.toAscii();
const json = cone.toJson();
time('toAscii', 50, () => cone.toAscii());
time('parseAscii', 50, () => Moc.parseAscii(ascii));
time('toJson', 50, () => cone.toJson());
time('parseJson', 50, () => Moc.parseJson(json));
time('toFits NUNIQ', 50, () => cone.toFits());
time('contains (per point)', 100_000, () => cone.contains(83.7, 22.1));
