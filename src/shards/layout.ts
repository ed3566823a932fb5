/**
 * A published table's new version laid out over partitions (issue 22 items 1 and 2).
 *
 * The loader builds every version as one plain table in HEALPix order (src/publish). When
 * it has at least `minRows` rows, this module replaces it, before the swap, by a table
 * RANGE-partitioned on its HEALPix column at a coarse order, with boundaries balanced by
 * row count (boundaries.ts). The planner then prunes partitions by the range conditions
 * every spatial predicate compiles to (adql/spatial.ts), and scans partitions in parallel.
 *
 * With shard servers, each partition lives on one of them and the coordinator's partition
 * is a postgres_fdw foreign table reading a view of the partition's own rows: the shard's
 * table also holds the rows within the margin of its edges, flagged `vonode_margin`
 * (Qserv's overlap), so a crossmatch of small radius can be answered on the shard alone;
 * the view hides them, so no query on the coordinator sees a row twice.
 *
 * Row-level security is enforced at the coordinator: the policies are on the partitioned
 * table every query names, their conditions need the caller's groups (a session setting of
 * the coordinator) and are evaluated there for rows from every partition, foreign or not.
 * The shards are reached only through the coordinator's user mapping (docs/scaling.md).
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { balancedRanges, type CellCount, INDEX_ORDER, type Range, shardOf } from './boundaries.js';
import { ensureExtension } from './extension.js';
import {
  ownViewName,
  partitionName,
  quoteIdent,
  quoteLiteral,
  safeUrl,
  serverName,
  XMATCH_INNER,
  XMATCH_OUTER,
  xmatchName,
} from './names.js';
import type { LayoutSettings } from './settings.js';

/** A version the loader built in its staging schema, as the layout needs to know it. */
export interface StagedVersion {
  /** ADQL name of the published table (schema.table). */
  readonly tableName: string;
  readonly version: number;
  /** Schema the version is published into, and its physical name there (`<table>_v<N>`). */
  readonly sqlSchema: string;
  readonly versionTable: string;
  /** The staged table: schema and name (unquoted). */
  readonly stagingSchema: string;
  readonly stagedName: string;
  /** Physical columns of the HEALPix index and the position. */
  readonly healpix: string;
  readonly ra: string;
  readonly dec: string;
  readonly primaryKey: readonly string[];
  readonly indexed: readonly string[];
  readonly rows: number;
  /** The version queries read now (its shard tables stay), if any. */
  servedVersion(): Promise<number | undefined>;
}

export interface PartitionReport {
  readonly part: number;
  readonly lo?: bigint;
  readonly hi?: bigint;
  readonly firstCell: bigint;
  readonly lastCell: bigint;
  readonly rows: number;
  readonly marginRows: number;
  /** 1-based shard, absent on the coordinator itself. */
  readonly shard?: number;
}

export interface LayoutReport {
  readonly kind: 'partitioned' | 'sharded';
  readonly order: number;
  readonly partitions: readonly PartitionReport[];
}

const MARK = 'vonode shard of ';
const XMARK = 'vonode crossmatch side of ';

/**
 * Lays out a staged version when it is big enough; undefined (nothing changed) otherwise.
 * `client` is the loader's connection to the coordinator, outside any transaction.
 */
export async function layOutVersion(
  client: pg.ClientBase,
  v: StagedVersion,
  settings: LayoutSettings,
  log: (line: string) => void = () => {},
): Promise<LayoutReport | undefined> {
  if (settings.minRows <= 0 || v.rows < settings.minRows) return undefined;
  const t0 = Date.now();
  const staged = `${quoteIdent(v.stagingSchema)}.${quoteIdent(v.stagedName)}`;
  const hpx = quoteIdent(v.healpix);
  const shift = 2 * (INDEX_ORDER - settings.order);
  const counted = await client.query<{ cell: string; n: string }>(
    `SELECT (${hpx} >> ${shift})::text AS cell, count(*)::text AS n FROM ${staged}
      WHERE ${hpx} IS NOT NULL GROUP BY ${hpx} >> ${shift} ORDER BY ${hpx} >> ${shift}`,
  );
  const counts: CellCount[] = counted.rows.map((r) => ({ cell: BigInt(r.cell), rows: Number(r.n) }));
  const nulls = await client.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${staged} WHERE ${hpx} IS NULL`,
  );
  const shards = settings.shards;
  const parts = Math.max(settings.partitions, shards.length);
  const ranges = balancedRanges(counts, parts, settings.order);
  const columns = await columnsOf(client, staged);
  const parent = `${quoteIdent(v.stagingSchema)}.${quoteIdent(`${v.stagedName}_l`)}`;
  const schema = quoteIdent(v.sqlSchema);
  const note = await client.query<{ c: string | null }>(
    `SELECT obj_description($1::regclass, 'pg_class') AS c`,
    [staged],
  );
  const reports: PartitionReport[] = [];
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(
    `CREATE TABLE ${parent} (${columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}`).join(', ')}) PARTITION BY RANGE (${hpx})`,
  );
  try {
    if (shards.length === 0) {
      await client.query('BEGIN');
      for (let k = 0; k < ranges.length; k++) {
        const r = ranges[k];
        await client.query(
          `CREATE TABLE ${schema}.${quoteIdent(partitionName(v.versionTable, k))} PARTITION OF ${parent} ${bounds(r)}`,
        );
        reports.push({ part: k, ...r, marginRows: 0 });
      }
      if (Number(nulls.rows[0].n) > 0)
        await client.query(
          `CREATE TABLE ${schema}.${quoteIdent(partitionName(v.versionTable, 'null'))} PARTITION OF ${parent} DEFAULT`,
        );
      await client.query(`INSERT INTO ${parent} SELECT * FROM ${staged} ORDER BY ${hpx}`);
      await client.query('COMMIT');
      await client.query(`CREATE INDEX ON ${parent} (${hpx})`);
      for (const col of v.indexed) await client.query(`CREATE INDEX ON ${parent} (${quoteIdent(col)})`);
      // A key that is not the partition key cannot be one constraint over the partitioned
      // table; the loader has checked it on the whole version, so each partition keeps its own.
      if (v.primaryKey.length > 0)
        for (let k = 0; k < ranges.length; k++)
          await client.query(
            `ALTER TABLE ${schema}.${quoteIdent(partitionName(v.versionTable, k))} ADD PRIMARY KEY (${v.primaryKey.map(quoteIdent).join(', ')})`,
          );
      await client.query(`ANALYZE ${parent}`);
    } else {
      await client.query('CREATE EXTENSION IF NOT EXISTS postgres_fdw');
      const marginDeg = settings.marginArcsec / 3600;
      // The sky functions as an extension the foreign servers name, so postgres_fdw ships
      // their calls (extension.ts); without it queries still work, evaluated here.
      const host = (client as unknown as { host?: string }).host ?? 'localhost';
      const shippable = (await ensureExtension(client, host, false)) === 'extension';
      if (!shippable)
        log(
          `the extension vonode_adql is not installed on the coordinator: calls of adql.* functions stay on the coordinator (docs/scaling.md)`,
        );
      // The crossmatch sides (crossmatch.ts): each partition's own rows with their cover at
      // the margin's radius, and its own rows plus margin, both list-partitioned by partition
      // number so that a join on it runs partition by partition, each pushed to its shard.
      await sweepVersions(client, v, schema, 'p', XMARK);
      const sides = marginDeg > 0 ? [XMATCH_OUTER, XMATCH_INNER] : [];
      for (const side of sides) {
        const extra =
          side === XMATCH_OUTER
            ? ', vonode_part integer NOT NULL, vonode_cover bigint[]'
            : ', vonode_part integer NOT NULL';
        const t = `${schema}.${quoteIdent(xmatchName(v.versionTable, side))}`;
        await client.query(
          `CREATE TABLE ${t} (${columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')}${extra}) PARTITION BY LIST (vonode_part)`,
        );
        await client.query(
          `COMMENT ON TABLE ${t} IS ${quoteLiteral(`${XMARK}${v.tableName} version ${v.version}`)}`,
        );
        // Not in the catalogue and without row-level security: only the coordinator's owner reads them.
        await client.query(`REVOKE ALL ON ${t} FROM PUBLIC`);
      }
      const near = marginDeg > 0 ? await nearEdgeRows(client, staged, v, ranges, marginDeg) : undefined;
      for (let s = 0; s < shards.length; s++) {
        const mine = ranges
          .map((r, k) => ({ r, k }))
          .filter(({ k }) => shardOf(k, ranges.length, shards.length) === s);
        const remote = new pg.Client({
          connectionString: shards[s],
          connectionTimeoutMillis: settings.connectTimeoutSeconds * 1000,
        });
        await remote.connect().catch((err) => {
          throw new Error(
            `shard ${s + 1} (${safeUrl(shards[s])}) cannot be reached: ${(err as Error).message}`,
          );
        });
        try {
          await sweepVersions(remote, v, schema, 'r', MARK);
          // The functions shipped calls name (extension.ts); without the extension's files
          // on that machine they are created plainly, which is all a shard needs.
          const made = await ensureExtension(remote, new URL(shards[s]).hostname, true);
          if (made !== 'extension')
            log(`shard ${s + 1}: vonode_adql is not installed there; its functions were created without it`);
          await remote.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          for (const { r, k } of mine) {
            const name = partitionName(v.versionTable, k);
            const table = `${schema}.${quoteIdent(name)}`;
            await remote.query(
              `CREATE TABLE ${table} (${columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}`).join(', ')}, vonode_margin boolean NOT NULL, vonode_cover bigint[])`,
            );
            await remote.query(
              `COMMENT ON TABLE ${table} IS ${quoteLiteral(`${MARK}${v.tableName} version ${v.version}`)}`,
            );
            const inRange = rangeSql(hpx, r);
            // Each own row's cover at the margin's radius: a superset of the cells any
            // crossmatch circle of radius <= margin around it can reach (adql.xmatch_cover).
            const cover =
              marginDeg > 0
                ? `(SELECT _xc FROM adql.xmatch_cover(${quoteIdent(v.ra)}, ${quoteIdent(v.dec)}, ${marginDeg}::float8) AS _xc)`
                : 'NULL::bigint[]';
            await copyBetween(
              client,
              `COPY (SELECT *, false, ${cover} FROM ${staged} WHERE ${inRange} ORDER BY ${hpx}) TO STDOUT (FORMAT binary)`,
              remote,
              `COPY ${table} FROM STDIN (FORMAT binary)`,
            );
            // The margin: rows of other partitions whose circle of the margin's radius may
            // reach this one (adql.xmatch_cover's ranges cover the circle; a superset).
            let marginRows = 0;
            if (near) {
              const lo = r.lo ?? -1n;
              const hi = r.hi ?? 1n << 62n;
              const reaches = `EXISTS (SELECT 1 FROM generate_series(1, 4) AS i
                 WHERE vonode_xc[2 * i - 1] < ${hi} AND vonode_xc[2 * i] > ${lo})`;
              const before = await remote.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
              await copyBetween(
                client,
                `COPY (SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')}, true, NULL::bigint[] FROM ${near}
                        WHERE NOT (${inRange}) AND ${reaches}) TO STDOUT (FORMAT binary)`,
                remote,
                `COPY ${table} FROM STDIN (FORMAT binary)`,
              );
              const after = await remote.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
              marginRows = Number(after.rows[0].n) - Number(before.rows[0].n);
            }
            await remote.query(`CREATE INDEX ON ${table} (${hpx})`);
            for (const col of v.indexed) await remote.query(`CREATE INDEX ON ${table} (${quoteIdent(col)})`);
            await remote.query(`ANALYZE ${table}`);
            const view = `${schema}.${quoteIdent(ownViewName(name))}`;
            await remote.query(
              `CREATE VIEW ${view} AS SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${table} WHERE NOT vonode_margin`,
            );
            const server = serverName(s, shards[s], settings.order, r.firstCell, r.lastCell);
            await ensureServer(client, server, shards[s], settings, shippable);
            await client.query(
              `CREATE FOREIGN TABLE ${schema}.${quoteIdent(name)} PARTITION OF ${parent} ${bounds(r)}
                 SERVER ${quoteIdent(server)} OPTIONS (schema_name ${quoteLiteral(v.sqlSchema)}, table_name ${quoteLiteral(ownViewName(name))})`,
            );
            const names = columns.map((c) => quoteIdent(c.name)).join(', ');
            for (const side of sides) {
              const sideName = xmatchName(name, side);
              const viewSql =
                side === XMATCH_OUTER
                  ? `SELECT ${names}, ${k}::integer AS vonode_part, vonode_cover FROM ${table} WHERE NOT vonode_margin`
                  : `SELECT ${names}, ${k}::integer AS vonode_part FROM ${table}`;
              await remote.query(`CREATE VIEW ${schema}.${quoteIdent(sideName)} AS ${viewSql}`);
              const f = `${schema}.${quoteIdent(sideName)}`;
              await client.query(
                `CREATE FOREIGN TABLE ${f} PARTITION OF ${schema}.${quoteIdent(xmatchName(v.versionTable, side))} FOR VALUES IN (${k})
                   SERVER ${quoteIdent(server)} OPTIONS (schema_name ${quoteLiteral(v.sqlSchema)}, table_name ${quoteLiteral(sideName)})`,
              );
              await client.query(`ANALYZE ${f}`);
            }
            await client.query(`ANALYZE ${schema}.${quoteIdent(name)}`);
            reports.push({ part: k, ...r, marginRows, shard: s + 1 });
            log(
              `${v.tableName}: partition ${k} (${r.rows} rows, ${marginRows} in its margin) on shard ${s + 1}`,
            );
          }
        } finally {
          await remote.end().catch(() => {});
        }
      }
      if (near) await client.query(`DROP TABLE ${near}`);
      // Rows without a position stay on the coordinator: no cone reaches them.
      if (Number(nulls.rows[0].n) > 0) {
        const name = `${schema}.${quoteIdent(partitionName(v.versionTable, 'null'))}`;
        await client.query(`CREATE TABLE ${name} PARTITION OF ${parent} DEFAULT`);
        await client.query(`INSERT INTO ${name} SELECT * FROM ${staged} WHERE ${hpx} IS NULL`);
        await client.query(`ANALYZE ${name}`);
      }
    }
    await client.query('BEGIN');
    await client.query(`DROP TABLE ${staged}`);
    await client.query(`ALTER TABLE ${parent} RENAME TO ${quoteIdent(v.stagedName)}`);
    if (note.rows[0]?.c) await client.query(`COMMENT ON TABLE ${staged} IS ${quoteLiteral(note.rows[0].c)}`);
    await recordLayout(client, v, settings, reports);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    await client.query(`DROP TABLE IF EXISTS ${parent}`).catch(() => {});
    await client.query('DROP TABLE IF EXISTS pg_temp.vonode_near_edge').catch(() => {});
    for (const side of [XMATCH_OUTER, XMATCH_INNER])
      await client
        .query(`DROP TABLE IF EXISTS ${schema}.${quoteIdent(xmatchName(v.versionTable, side))}`)
        .catch(() => {});
    throw err;
  }
  log(
    `${v.tableName}: ${reports.length} partitions at HEALPix order ${settings.order}${shards.length > 0 ? ` on ${shards.length} shard(s)` : ''} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { kind: shards.length > 0 ? 'sharded' : 'partitioned', order: settings.order, partitions: reports };
}

function bounds(r: Range): string {
  return `FOR VALUES FROM (${r.lo ?? 'MINVALUE'}) TO (${r.hi ?? 'MAXVALUE'})`;
}

/**
 * The rows whose circle of the margin's radius may reach another partition than their own,
 * with that cover (`vonode_xc`, adql.xmatch_cover), as a temporary table of `client`'s
 * session: the only candidates for any partition's margin. A row qualifies when one of its
 * cover's ranges leaves its own partition's bounds, a superset of the rows some other
 * partition's test (`cover meets [lo, hi)`) takes. Covers are computed once per row here,
 * not once per row and partition: at 8 partitions that was 8 passes over the whole table,
 * most of the time of placing 10,000,000 rows on shards.
 */
async function nearEdgeRows(
  client: pg.ClientBase,
  staged: string,
  v: StagedVersion,
  ranges: readonly Range[],
  marginDeg: number,
): Promise<string> {
  const hpx = quoteIdent(v.healpix);
  const edges = ranges.flatMap((r) => (r.lo !== undefined ? [r.lo.toString()] : []));
  const table = 'pg_temp.vonode_near_edge';
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.query(
    `CREATE TEMP TABLE vonode_near_edge AS
       SELECT t.* FROM (
         SELECT s.*, (SELECT _xc FROM adql.xmatch_cover(s.${quoteIdent(v.ra)}, s.${quoteIdent(v.dec)}, ${marginDeg}::float8) AS _xc) AS vonode_xc,
                coalesce((SELECT max(e) FROM unnest($1::bigint[]) AS e WHERE e <= s.${hpx}), -1) AS vonode_lo,
                coalesce((SELECT min(e) FROM unnest($1::bigint[]) AS e WHERE e > s.${hpx}), ${1n << 62n}) AS vonode_hi
           FROM ${staged} AS s WHERE s.${hpx} IS NOT NULL) AS t
        WHERE EXISTS (SELECT 1 FROM generate_series(1, 4) AS i
                       WHERE t.vonode_xc[2 * i - 1] < t.vonode_lo OR t.vonode_xc[2 * i] > t.vonode_hi)`,
    [edges],
  );
  return table;
}

function rangeSql(hpx: string, r: Range): string {
  const parts = [
    ...(r.lo !== undefined ? [`${hpx} >= ${r.lo}`] : []),
    ...(r.hi !== undefined ? [`${hpx} < ${r.hi}`] : []),
  ];
  return parts.length > 0 ? `${hpx} IS NOT NULL AND ${parts.join(' AND ')}` : `${hpx} IS NOT NULL`;
}

interface Column {
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
}

async function columnsOf(client: pg.ClientBase, table: string): Promise<Column[]> {
  const r = await client.query<{ name: string; type: string; notnull: boolean }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS notnull
       FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table],
  );
  return r.rows.map((c) => ({ name: c.name, type: c.type, notNull: c.notnull }));
}

async function copyBetween(from: pg.ClientBase, out: string, to: pg.ClientBase, into: string): Promise<void> {
  const source = from.query(copyTo(out));
  const sink = to.query(copyFrom(into));
  await pipeline(source as unknown as Readable, sink);
}

/**
 * The foreign server of a partition and the mapping every coordinator role uses to reach
 * it: the shard's own user (the URL's), so only the coordinator reads the shards.
 * `async_capable` lets the coordinator's Append wait on several shards at once.
 */
async function ensureServer(
  client: pg.ClientBase,
  name: string,
  url: string,
  settings: LayoutSettings,
  shippable: boolean,
) {
  const u = new URL(url);
  const opt = (k: string, v: string) => `${k} ${quoteLiteral(v)}`;
  const options = [
    opt('host', u.hostname),
    opt('port', u.port || '5432'),
    opt('dbname', decodeURIComponent(u.pathname.slice(1)) || 'postgres'),
    opt('connect_timeout', String(settings.connectTimeoutSeconds)),
    opt('async_capable', 'true'),
    opt('fetch_size', '10000'),
  ].join(', ');
  const exists = await client.query<{ opts: string[] | null }>(
    'SELECT srvoptions AS opts FROM pg_foreign_server WHERE srvname = $1',
    [name],
  );
  const ext = shippable ? `, ${opt('extensions', 'vonode_adql')}` : '';
  if ((exists.rowCount ?? 0) === 0)
    await client.query(
      `CREATE SERVER ${quoteIdent(name)} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (${options}${ext})`,
    );
  else if (shippable && !(exists.rows[0].opts ?? []).some((o) => o.startsWith('extensions=')))
    await client.query(`ALTER SERVER ${quoteIdent(name)} OPTIONS (ADD ${opt('extensions', 'vonode_adql')})`);
  const mapped = await client.query(
    `SELECT 1 FROM pg_user_mappings WHERE srvname = $1 AND usename = 'public'`,
    [name],
  );
  const user = `${opt('user', decodeURIComponent(u.username))}, ${opt('password', decodeURIComponent(u.password))}`;
  if ((mapped.rowCount ?? 0) === 0)
    await client.query(`CREATE USER MAPPING FOR PUBLIC SERVER ${quoteIdent(name)} OPTIONS (${user})`);
  else
    await client.query(
      `ALTER USER MAPPING FOR PUBLIC SERVER ${quoteIdent(name)} OPTIONS (SET user ${quoteLiteral(decodeURIComponent(u.username))}, SET password ${quoteLiteral(decodeURIComponent(u.password))})`,
    );
}

/**
 * Drops the tables of this published table marked `mark` (relkind `relkind`) whose version
 * is neither being built nor still served: on a shard its partitions' tables ('r', which go
 * at the next publish: the coordinator drops its foreign tables with the old version), on
 * the coordinator its crossmatch sides ('p').
 */
async function sweepVersions(
  c: pg.ClientBase,
  v: StagedVersion,
  schema: string,
  relkind: 'r' | 'p',
  mark: string,
): Promise<void> {
  const r = await c.query<{ rel: string; note: string }>(
    `SELECT c.relname AS rel, obj_description(c.oid, 'pg_class') AS note FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = $3 AND obj_description(c.oid, 'pg_class') LIKE $2`,
    [v.sqlSchema, `${mark}${v.tableName} version %`, relkind],
  );
  const served = await v.servedVersion();
  for (const row of r.rows) {
    const version = Number(row.note.slice(`${mark}${v.tableName} version `.length));
    if (version === served) continue;
    await c.query(`DROP TABLE IF EXISTS ${schema}.${quoteIdent(row.rel)} CASCADE`);
  }
}

async function recordLayout(
  client: pg.ClientBase,
  v: StagedVersion,
  settings: LayoutSettings,
  parts: readonly PartitionReport[],
): Promise<void> {
  await client.query('DELETE FROM vonode.table_partitions WHERE table_name = $1 AND version = $2', [
    v.tableName,
    v.version,
  ]);
  for (const p of parts)
    await client.query(
      `INSERT INTO vonode.table_partitions
         (table_name, version, part, healpix_order, first_cell, last_cell, lo, hi, nrows, margin_rows, shard, shard_url)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        v.tableName,
        v.version,
        p.part,
        settings.order,
        p.firstCell.toString(),
        p.lastCell.toString(),
        p.lo?.toString() ?? null,
        p.hi?.toString() ?? null,
        p.rows,
        p.marginRows,
        p.shard ?? null,
        p.shard ? safeUrl(settings.shards[p.shard - 1]) : null,
      ],
    );
}
