// ADQL functions (ADQL-18..24, ADQL-45..50): math, trigonometry, strings, COALESCE, IN_UNIT,
// and the geometry functions that return a value (DISTANCE, COORD1/2, CENTROID, ...).

import type { Expr } from './ast.js';
import { type Ctx, type Cx, type Meta, revalue, unionRels, type Val } from './context.js';
import { AdqlError } from './errors.js';
import { expr } from './expressions.js';
import { num } from './geometry.js';
import { compatible, describeType, geoMeta, numType, STR, widerInt } from './types.js';
import { inferredConversion, inferUnit } from './units.js';

export function call(cx: Cx, e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
  const n = e.name;
  switch (n) {
    case 'POINT':
    case 'CIRCLE':
    case 'BOX':
    case 'POLYGON':
      return cx.shape(e, ctx);
    case 'REGION':
      return cx.region(e, ctx);
    case 'CONTAINS':
    case 'INTERSECTS': {
      const test = cx.spatialTest(e, ctx);
      const args = e.args.map((a) => expr(cx, a, ctx));
      return {
        sql: `CASE WHEN ${test} THEN 1 ELSE 0 END`,
        t: numType(true, 'int'),
        name: n.toLowerCase(),
        agg: args.some((a) => a.agg),
        rels: unionRels(args),
      };
    }
    case 'DISTANCE': {
      const [p, q] = cx.distanceArgs(e, ctx);
      return {
        sql: `adql.distance(${p.lon}, ${p.lat}, ${q.lon}, ${q.lat})`,
        t: numType(false, 'double', { unit: 'deg', ucd: 'pos.angDistance' }),
        name: 'distance',
        agg: p.v.some((v) => v.agg) || q.v.some((v) => v.agg),
        rels: unionRels([...p.v, ...q.v]),
      };
    }
    case 'COORD1':
    case 'COORD2': {
      const g = expr(cx, e.args[0], ctx);
      if (g.t.cat === 'null') return { ...g, name: n.toLowerCase() };
      if (g.t.geo !== 'point')
        throw new AdqlError('semantic', `${n} needs a POINT, got ${describeType(g.t)}`, e.args[0].pos, n);
      const p = cx.pointParts(g);
      const ucd = n === 'COORD1' ? 'pos.eq.ra' : 'pos.eq.dec';
      return {
        sql: n === 'COORD1' ? p.lon : p.lat,
        t: numType(false, 'double', { unit: 'deg', ucd }),
        name: n.toLowerCase(),
        agg: g.agg,
        rels: g.rels,
        k: n === 'COORD1' ? p.klon : p.klat,
      };
    }
    case 'COORDSYS': {
      const g = expr(cx, e.args[0], ctx);
      if (g.t.cat !== 'geo' && g.t.cat !== 'null')
        throw new AdqlError(
          'semantic',
          `COORDSYS needs a geometry, got ${describeType(g.t)}`,
          e.args[0].pos,
          n,
        );
      return { sql: cx.param(g.coordsys || 'ICRS'), t: STR, name: 'coordsys', agg: g.agg, rels: g.rels };
    }
    case 'AREA':
      return cx.area(e, ctx);
    case 'CENTROID': {
      const g = expr(cx, e.args[0], ctx);
      if (g.t.cat !== 'geo')
        throw new AdqlError(
          'semantic',
          `CENTROID needs a geometry, got ${describeType(g.t)}`,
          e.args[0].pos,
          n,
        );
      const meta = geoMeta('point');
      if (g.t.geo === 'point') return revalue(g, g.sql, g.t, g.k, undefined, 'centroid');
      if (g.t.geo === 'circle') {
        const c = cx.circleParts(g);
        return {
          sql: `ARRAY[${c.lon}, ${c.lat}]::float8[]`,
          t: { cat: 'geo', geo: 'point', meta },
          name: 'centroid',
          agg: g.agg,
          rels: g.rels,
        };
      }
      if (g.t.geo === 'polygon')
        return {
          sql: `adql.polygon_centroid(${cx.polygonArray(g)})`,
          t: { cat: 'geo', geo: 'point', meta },
          name: 'centroid',
          agg: g.agg,
          rels: g.rels,
        };
      throw new AdqlError('unsupported', 'CENTROID of a region is not supported', e.pos, n);
    }
    case 'IN_UNIT':
      return inUnit(cx, e, ctx);
    case 'COALESCE': {
      const args = e.args.map((a) => expr(cx, a, ctx));
      let t = args[0].t;
      for (const a of args) {
        if (t.cat === 'null') t = a.t;
        if (!compatible(t, a.t)) {
          throw new AdqlError(
            'semantic',
            `COALESCE arguments must have the same type (${describeType(t)} and ${describeType(a.t)})`,
            e.pos,
            'COALESCE',
          );
        }
        if (t.cat === 'num' && t.integer && !a.t.integer && a.t.cat === 'num') t = a.t;
      }
      return {
        sql: `COALESCE(${args.map((a) => a.sql).join(', ')})`,
        t,
        name: args[0].name,
        agg: args.some((a) => a.agg),
        rels: unionRels(args),
      };
    }
    case 'LOWER':
    case 'UPPER': {
      const a = expr(cx, e.args[0], ctx);
      if (a.t.cat !== 'str' && a.t.cat !== 'null')
        throw new AdqlError('semantic', `${n} needs a string, got ${describeType(a.t)}`, e.args[0].pos, n);
      return {
        sql: `${n.toLowerCase()}(${a.sql})`,
        t: { ...a.t, meta: { datatype: a.t.meta.datatype, arraysize: a.t.meta.arraysize } },
        name: n.toLowerCase(),
        agg: a.agg,
        rels: a.rels,
      };
    }
    default:
      return math(cx, e, ctx);
  }
}

export function math(cx: Cx, e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
  const n = e.name;
  const args = e.args.map((a) => expr(cx, a, ctx));
  args.forEach((a, i) => {
    if (a.t.cat !== 'num' && a.t.cat !== 'null') {
      throw new AdqlError(
        'semantic',
        `${n} needs numeric arguments; argument ${i + 1} is ${describeType(a.t)}`,
        e.args[i].pos,
        n,
      );
    }
  });
  const d = (a: Val) => (a.t.integer || a.t.cat === 'null' ? `CAST(${a.sql} AS double precision)` : a.sql);
  const agg = args.some((a) => a.agg);
  const rels = unionRels(args);
  const name = n.toLowerCase();
  const dbl = (sql: string, meta?: Partial<Meta>): Val => ({
    sql,
    t: numType(false, 'double', meta),
    name,
    agg,
    rels,
  });
  const a = args[0];
  switch (n) {
    case 'ABS':
      return {
        sql: cx.dialect.mathFunction('ABS', [a.sql]),
        t: { ...a.t, meta: { datatype: a.t.meta.datatype, unit: a.t.meta.unit } },
        name,
        agg,
        rels,
        k: a.k !== undefined ? Math.abs(a.k) : undefined,
      };
    case 'CEILING':
      return dbl(
        cx.dialect.mathFunction('CEILING', [d(a)]),
        a.t.meta.unit ? { unit: a.t.meta.unit } : undefined,
      );
    case 'FLOOR':
      return dbl(
        cx.dialect.mathFunction('FLOOR', [d(a)]),
        a.t.meta.unit ? { unit: a.t.meta.unit } : undefined,
      );
    case 'DEGREES':
      return dbl(cx.dialect.mathFunction('DEGREES', [d(a)]), { unit: 'deg' });
    case 'RADIANS':
      return dbl(cx.dialect.mathFunction('RADIANS', [d(a)]), { unit: 'rad' });
    case 'EXP':
      return dbl(cx.dialect.mathFunction('EXP', [d(a)]));
    case 'LOG': // ADQL-60: natural logarithm; PostgreSQL's log() is base 10.
      return dbl(cx.dialect.mathFunction('LOG', [d(a)]));
    case 'LOG10':
      return dbl(cx.dialect.mathFunction('LOG10', [d(a)]));
    case 'SQRT':
      return dbl(cx.dialect.mathFunction('SQRT', [d(a)]));
    case 'PI':
      return { sql: 'pi()', t: numType(false, 'double'), name, agg, rels, k: Math.PI };
    case 'RAND':
      // ADQL-18: the seed's meaning is undefined; PostgreSQL's random() cannot take one per call.
      return dbl('random()');
    case 'POWER':
      return dbl(cx.dialect.mathFunction('POWER', [d(a), d(args[1])]));
    case 'MOD': {
      // ADQL-18: remainder with the sign of x; PostgreSQL mod() does this for integers and numeric.
      if (a.t.integer && args[1].t.integer) {
        return {
          sql: `mod(${a.sql}, ${args[1].sql})`,
          t: numType(true, widerInt(a.t.meta.datatype, args[1].t.meta.datatype)),
          name,
          agg,
          rels,
        };
      }
      return dbl(`CAST(mod(CAST(${a.sql} AS numeric), CAST(${args[1].sql} AS numeric)) AS double precision)`);
    }
    case 'ROUND':
    case 'TRUNCATE': {
      const digits = args[1] ? args[1].sql.replace(/[()]/g, '') : '0';
      const fn = n === 'ROUND' ? 'round' : 'trunc';
      // Through numeric so that ROUND(2.5) = 3 and digits < 0 work (ADQL-60).
      return dbl(
        `CAST(${fn}(CAST(${a.sql} AS numeric), ${digits}) AS double precision)`,
        a.t.meta.unit ? { unit: a.t.meta.unit } : undefined,
      );
    }
    case 'ACOS':
    case 'ASIN':
    case 'ATAN':
      return dbl(cx.dialect.mathFunction(n, [d(a)]), { unit: 'rad' });
    case 'COS':
    case 'SIN':
    case 'TAN':
    case 'COT':
      return dbl(cx.dialect.mathFunction(n, [d(a)]));
    case 'ATAN2':
      return dbl(cx.dialect.mathFunction('ATAN2', [d(a), d(args[1])]), { unit: 'rad' });
    default:
      throw new AdqlError('unsupported', `function ${n} is not supported`, e.pos, n);
  }
}

export function inUnit(cx: Cx, e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
  const a = expr(cx, e.args[0], ctx);
  const target = (e.args[1] as Extract<Expr, { kind: 'string' }>).value;
  if (a.t.cat !== 'num')
    throw new AdqlError(
      'semantic',
      `IN_UNIT needs a number, got ${describeType(a.t)}`,
      e.args[0].pos,
      'IN_UNIT',
    );
  // ADQL-50 with unit inference (adql/units.ts): the unit of any numeric expression.
  const from = inferUnit(e.args[0], (c) => cx.resolveColumn(c.parts, ctx.scope, c.pos).t.meta.unit);
  const f = inferredConversion(from, target);
  if (typeof f !== 'number') {
    const [pos, token] = from.kind === 'number' ? [e.args[0].pos, 'IN_UNIT'] : [e.args[1].pos, target];
    throw new AdqlError('semantic', `IN_UNIT: ${f.error}`, pos, token);
  }
  const meta: Partial<Meta> = { unit: target };
  if (a.t.meta.ucd) meta.ucd = a.t.meta.ucd;
  return {
    sql: `(CAST(${a.sql} AS double precision) * ${num(f)})`,
    t: numType(false, 'double', meta),
    name: a.name,
    agg: a.agg,
    rels: a.rels,
  };
}

// ------------------------------------------------------------------ geometry
