/**
 * TableDescription <-> PublishedTable. publishedTableOf is the stand-in for
 * src/publish/published.ts (the one conversion, written beside the description parser);
 * it goes when that module lands. descriptionOf writes the built-in tables' declarations
 * (src/tap/tables) as descriptions, so every stored row has one.
 */
import type { ColumnDescription, TableDescription } from '../publish/index.js';
import type { PublishedColumn, PublishedTable } from '../tap/tables/model.js';

export function publishedTableOf(
  desc: TableDescription,
  where: { readonly sqlSchema: string; readonly sqlTable: string },
  nrows?: number,
): PublishedTable {
  const healpix = desc.position ? (desc.position.healpixColumn ?? 'healpix') : undefined;
  const columns: PublishedColumn[] = desc.columns.map(publishedColumnOf);
  if (healpix && !columns.some((c) => c.name === healpix)) {
    columns.push({
      name: healpix,
      datatype: 'long',
      ucd: 'pos.healpix',
      description: 'HEALPix NESTED index at order 29 (ICRS), for spatial indexing',
      indexed: true,
    });
  }
  return {
    schema: desc.schema,
    name: desc.name,
    sql: { schema: where.sqlSchema, table: where.sqlTable },
    type: desc.type ?? 'table',
    description: desc.description,
    ...(desc.utype ? { utype: desc.utype } : {}),
    ...(desc.title ? { title: desc.title } : {}),
    columns,
    ...(desc.foreignKeys?.length
      ? {
          foreignKeys: desc.foreignKeys.map((fk, i) => ({
            id: `${desc.schema}.${desc.name}.fk${i + 1}`,
            target: fk.target,
            columns: fk.columns,
            ...(fk.description ? { description: fk.description } : {}),
          })),
        }
      : {}),
    ...(desc.position && healpix
      ? { spatialIndex: { column: healpix, lon: desc.position.ra, lat: desc.position.dec } }
      : {}),
    ...(desc.primaryKey?.length ? { primaryKey: desc.primaryKey } : {}),
    ...(nrows !== undefined ? { nrows } : {}),
    ...(desc.rights ? { rights: desc.rights } : {}),
    ...(desc.registry ? { registry: desc.registry } : {}),
  };
}

function publishedColumnOf(c: ColumnDescription): PublishedColumn {
  return {
    name: c.name,
    ...(c.sqlName ? { sqlName: c.sqlName } : {}),
    datatype: c.datatype,
    ...(c.arraysize ? { arraysize: c.arraysize } : {}),
    ...(c.xtype ? { xtype: c.xtype } : {}),
    ...(c.unit ? { unit: c.unit } : {}),
    ...(c.ucd ? { ucd: c.ucd } : {}),
    ...(c.utype ? { utype: c.utype } : {}),
    description: c.description ?? '',
    ...(c.principal ? { principal: true } : {}),
    ...(c.indexed ? { indexed: true } : {}),
    ...(c.std ? { std: true } : {}),
  };
}

/** A declared table as a description (what published_tables.description holds for it). */
export function descriptionOf(t: PublishedTable): TableDescription {
  return {
    schema: t.schema,
    name: t.name,
    ...(t.title ? { title: t.title } : {}),
    description: t.description,
    type: t.type,
    ...(t.utype ? { utype: t.utype } : {}),
    columns: t.columns.map((c) => {
      const { fieldId: _f, region: _r, ...rest } = c;
      return rest;
    }),
    ...(t.primaryKey ? { primaryKey: t.primaryKey } : {}),
    ...(t.spatialIndex
      ? {
          position: { ra: t.spatialIndex.lon, dec: t.spatialIndex.lat, healpixColumn: t.spatialIndex.column },
        }
      : {}),
    ...(t.foreignKeys?.length
      ? {
          foreignKeys: t.foreignKeys.map((fk) => ({
            target: fk.target,
            columns: fk.columns,
            ...(fk.description ? { description: fk.description } : {}),
          })),
        }
      : {}),
    ...(t.rights ? { rights: t.rights } : {}),
    ...(t.registry ? { registry: t.registry } : {}),
  };
}
