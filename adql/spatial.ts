// Spatial planning: geometry constructors (POINT, CIRCLE, BOX, POLYGON, REGION) and the
// CONTAINS/INTERSECTS/AREA tests, with HEALPix range prefilters for constant shapes
// (ADQL-25..40). Crossmatches (a moving circle) are planned in adql/crossmatch.ts.

import { type PixelRange, polygonCoverage } from '../sky/index.js';
import type { Expr } from './ast.js';
import {
  type CircleParts,
  type Ctx,
  type Cx,
  newVal,
  type PointParts,
  type Rel,
  revalue,
  type Shape,
  unionRels,
  type Val,
} from './context.js';
import { cachedCoverage, SKY_END } from './coverage.js';
import { AdqlError } from './errors.js';
import { expr } from './expressions.js';
import { boxVertices, num, polygonCap, polygonInfo } from './geometry.js';
import { stripQuotes } from './identifiers.js';
import { describeType, geoMeta, NUM_DOUBLE, numType } from './types.js';

export function constVerts(shape: Shape): Array<[number, number]> | undefined {
  if (shape.kind === 'box') {
    const { lon, lat, w, h } = shape;
    if (lon.k === undefined || lat.k === undefined || w.k === undefined || h.k === undefined)
      return undefined;
    return boxVertices(lon.k, lat.k, w.k, h.k);
  }
  if (shape.kind !== 'polygon') return undefined;
  const out: Array<[number, number]> = [];
  for (const [a, b] of shape.verts) {
    if (a.k === undefined || b.k === undefined) return undefined;
    out.push([a.k, b.k]);
  }
  return out;
}

// The argument checks of shape(): module functions, not closures per call (under tsx each
// named closure costs a defineProperty when it is made).
function needNum(e: Extract<Expr, { kind: 'call' }>, v: Val, i: number, what: string): void {
  if (v.t.cat !== 'num' && v.t.cat !== 'null') {
    throw new AdqlError(
      'semantic',
      `${e.name}: ${what} must be a number, got ${describeType(v.t)}`,
      e.args[i].pos,
      e.name,
    );
  }
}

function needPoint(e: Extract<Expr, { kind: 'call' }>, v: Val, i: number): void {
  if (v.t.geo !== 'point' && v.t.cat !== 'null') {
    throw new AdqlError(
      'semantic',
      `${e.name}: argument ${i + 1} must be a POINT or a number pair, got ${describeType(v.t)}`,
      e.args[i].pos,
      e.name,
    );
  }
}

function pointOf(cx: Cx, v: Val): [Val, Val] {
  const p = pointParts(cx, v);
  return [revalue(v, p.lon, NUM_DOUBLE, p.klon), revalue(v, p.lat, NUM_DOUBLE, p.klat)];
}

export function shape(cx: Cx, e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
  const args = e.args.map((a) => expr(cx, a, ctx));
  const agg = args.some((a) => a.agg);
  const rels = unionRels(args);
  switch (e.name) {
    case 'POINT': {
      for (const [i, a] of args.entries()) needNum(e, a, i, i === 0 ? 'the longitude' : 'the latitude');
      const [lon, lat] = args;
      if (lat.k !== undefined && Math.abs(lat.k) > 90)
        throw new AdqlError('semantic', `latitude ${lat.k} is outside [-90, 90]`, e.args[1].pos, e.name);
      return {
        agg,
        rels,
        coordsys: e.coordsys,
        sql: `ARRAY[${lon.sql}, ${lat.sql}]::float8[]`,
        t: { cat: 'geo', geo: 'point', meta: geoMeta('point') },
        name: 'point',
        shape: { kind: 'point', lon, lat },
      };
    }
    case 'CIRCLE': {
      let lon: Val;
      let lat: Val;
      let r: Val;
      if (args.length === 2) {
        needPoint(e, args[0], 0);
        [lon, lat] = pointOf(cx, args[0]);
        r = args[1];
        needNum(e, r, 1, 'the radius');
      } else {
        for (const [i, a] of args.entries()) needNum(e, a, i, i === 2 ? 'the radius' : 'a centre coordinate');
        [lon, lat, r] = args;
      }
      if (r.k !== undefined && r.k < 0)
        throw new AdqlError('semantic', `CIRCLE radius ${r.k} is negative`, e.pos, e.name);
      if (lat.k !== undefined && Math.abs(lat.k) > 90)
        throw new AdqlError('semantic', `latitude ${lat.k} is outside [-90, 90]`, e.pos, e.name);
      return {
        agg,
        rels,
        coordsys: e.coordsys,
        sql: `ARRAY[${lon.sql}, ${lat.sql}, ${r.sql}]::float8[]`,
        t: { cat: 'geo', geo: 'circle', meta: geoMeta('circle') },
        name: 'circle',
        shape: { kind: 'circle', lon, lat, r },
      };
    }
    case 'BOX': {
      let lon: Val;
      let lat: Val;
      let w: Val;
      let h: Val;
      if (args.length === 3) {
        needPoint(e, args[0], 0);
        [lon, lat] = pointOf(cx, args[0]);
        [w, h] = args.slice(1);
        needNum(e, w, 1, 'the width');
        needNum(e, h, 2, 'the height');
      } else {
        for (const [i, a] of args.entries()) needNum(e, a, i, 'a BOX argument');
        [lon, lat, w, h] = args;
      }
      for (const v of [w, h]) {
        if (v.k !== undefined && (v.k < 0 || v.k >= 180))
          throw new AdqlError('semantic', `BOX size ${v.k} must be in [0, 180)`, e.pos, e.name);
      }
      const shape: Shape = { kind: 'box', lon, lat, w, h };
      const verts = constVerts(shape);
      const sql = verts
        ? `ARRAY[${verts.flat().map(num).join(', ')}]::float8[]`
        : `adql.box_polygon(${lon.sql}, ${lat.sql}, ${w.sql}, ${h.sql})`;
      return {
        agg,
        rels,
        coordsys: e.coordsys,
        sql,
        t: { cat: 'geo', geo: 'polygon', meta: geoMeta('polygon') },
        name: 'box',
        shape,
      };
    }
    default: {
      const verts: Array<[Val, Val]> = [];
      const points = args.every((a) => a.t.geo === 'point');
      if (points) {
        for (const a of args) verts.push(pointOf(cx, a));
      } else {
        if (args.some((a) => a.t.cat === 'geo'))
          throw new AdqlError(
            'semantic',
            'POLYGON vertices must be all POINTs or all number pairs',
            e.pos,
            e.name,
          );
        if (args.length % 2 !== 0 || args.length < 6) {
          throw new AdqlError(
            'syntax',
            `POLYGON needs at least 3 vertices as number pairs; got ${args.length} numbers`,
            e.pos,
            e.name,
          );
        }
        for (const [i, a] of args.entries()) needNum(e, a, i, 'a vertex coordinate');
        for (let i = 0; i < args.length; i += 2) verts.push([args[i], args[i + 1]]);
      }
      const shape: Shape = { kind: 'polygon', verts };
      const cv = constVerts(shape);
      if (cv) {
        try {
          polygonInfo(cv);
        } catch (err) {
          throw new AdqlError('semantic', `invalid POLYGON: ${(err as Error).message}`, e.pos, e.name);
        }
      }
      const sql = `ARRAY[${verts.flatMap(([a, b]) => [a.sql, b.sql]).join(', ')}]::float8[]`;
      return {
        agg,
        rels,
        coordsys: e.coordsys,
        sql,
        t: { cat: 'geo', geo: 'polygon', meta: geoMeta('polygon') },
        name: 'polygon',
        shape,
      };
    }
  }
}

/** REGION('STC-S'): the common shapes are rewritten into the constructors. */
export function region(cx: Cx, e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
  const text = (e.args[0] as Extract<Expr, { kind: 'string' }>).value;
  const words = text.trim().split(/\s+/);
  const shape = words.shift()?.toUpperCase() ?? '';
  const name = { POSITION: 'POINT', CIRCLE: 'CIRCLE', BOX: 'BOX', POLYGON: 'POLYGON' }[shape];
  if (!name) {
    throw new AdqlError(
      'unsupported',
      `REGION: only POSITION, CIRCLE, BOX and POLYGON are supported, not '${shape}'`,
      e.args[0].pos,
      shape,
    );
  }
  const nums: number[] = [];
  for (const w of words) {
    if (/^[A-Za-z]/.test(w)) {
      if (nums.length)
        throw new AdqlError('unsupported', `REGION: cannot read '${w}' in '${text}'`, e.args[0].pos, w);
      continue;
    }
    const v = Number(w);
    if (!Number.isFinite(v))
      throw new AdqlError('semantic', `REGION: '${w}' is not a number`, e.args[0].pos, w);
    nums.push(v);
  }
  const counts: Record<string, (n: number) => boolean> = {
    POINT: (n) => n === 2,
    CIRCLE: (n) => n === 3,
    BOX: (n) => n === 4,
    POLYGON: (n) => n >= 6 && n % 2 === 0,
  };
  if (!name)
    throw new AdqlError(
      'unsupported',
      `REGION: only POSITION, CIRCLE, BOX and POLYGON are supported, not '${shape}'`,
      e.args[0].pos,
      shape,
    );
  if (!counts[name](nums.length))
    throw new AdqlError('semantic', `REGION: wrong number of values for ${shape}`, e.args[0].pos, shape);
  const args: Expr[] = nums.map((v) =>
    v < 0
      ? {
          kind: 'unary',
          pos: e.pos,
          op: '-',
          arg: { kind: 'number', pos: e.pos, text: String(-v), value: -v, integer: false },
        }
      : { kind: 'number', pos: e.pos, text: String(v), value: v, integer: false },
  );
  return cx.shape(
    { kind: 'call', pos: e.pos, name, args, coordsys: words.find((w) => /^[A-Za-z]/.test(w)) },
    ctx,
  );
}

export function pointParts(_cx: Cx, v: Val): PointParts {
  if (v.shape?.kind === 'point')
    return {
      lon: v.shape.lon.sql,
      lat: v.shape.lat.sql,
      klon: v.shape.lon.k,
      klat: v.shape.lat.k,
      lonV: v.shape.lon,
      latV: v.shape.lat,
    };
  return { lon: `(${v.sql})[1]`, lat: `(${v.sql})[2]` };
}

export function circleParts(_cx: Cx, v: Val): CircleParts {
  if (v.shape?.kind === 'circle') {
    const { lon, lat, r } = v.shape;
    const k: [number, number, number] | undefined =
      lon.k !== undefined && lat.k !== undefined && r.k !== undefined ? [lon.k, lat.k, r.k] : undefined;
    return { lon: lon.sql, lat: lat.sql, r: r.sql, k, rels: unionRels([lon, lat, r]) };
  }
  return { lon: `(${v.sql})[1]`, lat: `(${v.sql})[2]`, r: `(${v.sql})[3]`, rels: v.rels };
}

export function polygonArray(_cx: Cx, v: Val): string {
  return v.sql;
}

export function area(cx: Cx, e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
  const g = expr(cx, e.args[0], ctx);
  if (g.t.cat !== 'geo')
    throw new AdqlError('semantic', `AREA needs a geometry, got ${describeType(g.t)}`, e.args[0].pos, 'AREA');
  const t = numType(false, 'double', { unit: 'deg**2', ucd: 'phys.area' });
  const base = { name: 'area', agg: g.agg, rels: g.rels };
  if (g.t.geo === 'point') return { sql: '0::float8', t, name: 'area', agg: g.agg, rels: g.rels, k: 0 };
  if (g.t.geo === 'circle') {
    const c = circleParts(cx, g);
    // Spherical cap: 2π(1 − cos r) steradians, in square degrees.
    return newVal(base, `(2 * pi() * (1 - cosd(least(${c.r}, 180))) * power(180 / pi(), 2))`, t);
  }
  if (g.t.geo === 'polygon') return newVal(base, `adql.polygon_area(${g.sql})`, t);
  throw new AdqlError('unsupported', 'AREA of a region is not supported', e.pos, 'AREA');
}

export function distanceArgs(
  cx: Cx,
  e: Extract<Expr, { kind: 'call' }>,
  ctx: Ctx,
): Array<{ lon: string; lat: string; v: Val[]; lonV?: Val; latV?: Val }> {
  const args = e.args.map((a) => expr(cx, a, ctx));
  if (args.length === 4) {
    args.forEach((a, i) => {
      if (a.t.cat !== 'num' && a.t.cat !== 'null')
        throw new AdqlError(
          'semantic',
          `DISTANCE: argument ${i + 1} must be a number, got ${describeType(a.t)}`,
          e.args[i].pos,
          'DISTANCE',
        );
      if ((i === 1 || i === 3) && a.k !== undefined && Math.abs(a.k) > 90) {
        throw new AdqlError('semantic', `latitude ${a.k} is outside [-90, 90]`, e.args[i].pos, 'DISTANCE');
      }
    });
    return [
      { lon: args[0].sql, lat: args[1].sql, v: [args[0], args[1]], lonV: args[0], latV: args[1] },
      { lon: args[2].sql, lat: args[3].sql, v: [args[2], args[3]], lonV: args[2], latV: args[3] },
    ];
  }
  return args.map((a, i) => {
    if (a.t.geo !== 'point' && a.t.cat !== 'null') {
      throw new AdqlError(
        'semantic',
        `DISTANCE: argument ${i + 1} must be a POINT, got ${describeType(a.t)}`,
        e.args[i].pos,
        'DISTANCE',
      );
    }
    const p = pointParts(cx, a);
    return { lon: p.lon, lat: p.lat, v: [a], lonV: p.lonV, latV: p.latV };
  });
}

/** The boolean SQL of CONTAINS/INTERSECTS (ADQL-37, ADQL-38). */
export function spatialTest(cx: Cx, e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): string {
  const a = expr(cx, e.args[0], ctx);
  const b = expr(cx, e.args[1], ctx);
  e.args.forEach((arg, i) => {
    const v = i === 0 ? a : b;
    if (v.t.cat !== 'geo' && v.t.cat !== 'null')
      throw new AdqlError(
        'semantic',
        `${e.name}: argument ${i + 1} must be a geometry, got ${describeType(v.t)}`,
        arg.pos,
        e.name,
      );
    if (v.t.geo === 'region')
      throw new AdqlError('unsupported', `${e.name} on a region column is not supported`, arg.pos, e.name);
  });
  if (a.t.cat === 'null' || b.t.cat === 'null') return 'NULL::boolean';
  if (a.t.geo === 'polygon' && b.t.geo === 'polygon') return polygonPair(cx, e.name, a, b, ctx);
  if (e.name === 'INTERSECTS') {
    // ADQL-38: with a POINT, INTERSECTS is CONTAINS with the point first.
    if (b.t.geo === 'point' && a.t.geo !== 'point') return contains(cx, b, a);
    if (a.t.geo === 'point') return contains(cx, a, b);
    if (a.t.geo === 'circle' && b.t.geo === 'circle') {
      const c1 = circleParts(cx, a);
      const c2 = circleParts(cx, b);
      return `adql.chord2(${c1.lon}, ${c1.lat}, ${c2.lon}, ${c2.lat}) <= adql.chord2_of(${c1.r} + ${c2.r})`;
    }
    return `adql.geom_intersects(${a.sql}, '${a.t.geo}', ${b.sql}, '${b.t.geo}')`;
  }
  return contains(cx, a, b);
}

/**
 * Polygon against polygon (ADQL-37, ADQL-38): bounding caps first, a few multiplications
 * per pair (sql/037_adql_polygon_filter.sql), then the exact O(n*m) test only for pairs
 * whose caps meet. A constant polygon's cap is computed here; in a join condition a
 * column polygon's cap is computed once per row of its table (an extra column, as
 * crossmatch ranges are) rather than once per pair.
 */
function polygonPair(cx: Cx, name: string, a: Val, b: Val, ctx: Ctx): string {
  const fn = name === 'CONTAINS' ? 'adql.geom_contains' : 'adql.geom_intersects';
  const q = (id: string) => cx.dialect.quoteIdent(id);
  const cap = (p: Val, other: Val): string => {
    const verts = p.shape ? constVerts(p.shape) : undefined;
    if (verts) return `ARRAY[${polygonCap(verts).map(num).join(', ')}]::float8[]`;
    const [rel, more] = [...p.rels];
    // Only a join needs it: against a constant the cap is computed once per row anyway,
    // and the subquery holding the extra column would hide the table's indexes.
    const hoist = (ctx.clause === 'WHERE' || ctx.clause === 'ON') && !p.agg && !more && other.rels.size > 0;
    if (!hoist || !rel?.table || !cx.rels.includes(rel) || other.rels.has(rel))
      return `adql.polygon_cap(${p.sql})`;
    const col = `_pc${++cx.xmCount}`;
    rel.extras.push({ name: col, sql: `adql.polygon_cap(${p.sql})` });
    return `${q(rel.alias)}.${q(col)}`;
  };
  return `adql.caps_meet(${cap(a, b)}, ${cap(b, a)}) AND ${fn}(${a.sql}, 'polygon', ${b.sql}, 'polygon')`;
}

export function contains(cx: Cx, a: Val, b: Val): string {
  if (a.t.geo === 'point' && b.t.geo === 'circle') return cx.pointInCircle(a, b, false);
  if (a.t.geo === 'point' && b.t.geo === 'polygon') return pointInPolygon(cx, a, b);
  return `adql.geom_contains(${a.sql}, '${a.t.geo}', ${b.sql}, '${b.t.geo}')`;
}

/** The relation and HEALPix column when `p` is POINT(t.lon, t.lat) of a table with a spatial index. */
export function indexOf(cx: Cx, p: Val): { rel: Rel; hpx: string } | undefined {
  if (p.shape?.kind !== 'point') return undefined;
  const lon = p.shape.lon.column;
  const lat = p.shape.lat.column;
  if (!lon || !lat || lon.rel !== lat.rel) return undefined;
  const rel = lon.rel;
  const si = rel.table?.spatialIndex;
  if (!si) return undefined;
  const same = (a: string, b: string) => stripQuotes(a).name.toLowerCase() === b.toLowerCase();
  if (!same(si.lon, lon.col.name) || !same(si.lat, lat.col.name)) return undefined;
  const col = rel.table!.columns.find((c) => same(c.name, stripQuotes(si.column).name));
  const phys = col?.sqlName ?? stripQuotes(col?.name ?? si.column).name;
  return { rel, hpx: `${cx.dialect.quoteIdent(rel.alias)}.${cx.dialect.quoteIdent(phys)}` };
}

export function rangeSql(_cx: Cx, hpx: string, ranges: ReadonlyArray<PixelRange>): string | undefined {
  if (ranges.length === 0) return 'false';
  if (ranges.length === 1 && ranges[0][0] === 0n && ranges[0][1] >= SKY_END) return undefined;
  return ranges
    .map(([lo, hi]) => (hi - lo === 1n ? `${hpx} = ${lo}` : `(${hpx} >= ${lo} AND ${hpx} < ${hi})`))
    .join(' OR ');
}

export function pointInPolygon(cx: Cx, p: Val, poly: Val): string {
  const pp = pointParts(cx, p);
  const verts = poly.shape ? constVerts(poly.shape) : undefined;
  const idx = indexOf(cx, p);
  if (!verts) return `adql.polygon_contains(${poly.sql}, ${pp.lon}, ${pp.lat})`;
  const info = polygonInfo(verts);
  const exact = info.convexNormals
    ? info.convexNormals
        .map((n) => `adql.dotv(${pp.lon}, ${pp.lat}, ${num(n[0])}, ${num(n[1])}, ${num(n[2])}) >= 0`)
        .join(' AND ')
    : `adql.polygon_contains(${poly.sql}, ${pp.lon}, ${pp.lat})`;
  const ranges = idx
    ? rangeSql(
        cx,
        idx.hpx,
        cachedCoverage(`p ${verts.join(' ')} ${cx.maxRanges}`, () =>
          polygonCoverage(verts, { maxRanges: cx.maxRanges }),
        ),
      )
    : undefined;
  return ranges ? `(${ranges}) AND ${exact}` : exact;
}
