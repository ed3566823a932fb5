import { basename, join } from 'node:path';
import type pg from 'pg';
import { parseScopedName, RUCIO_FILE_PREFIX } from '../datalink/index.js';
import { DmApiClient, rucioSettings } from '../rucio/index.js';
import { BrokerError } from './errors.js';
import type { DataResource, ResolvedData, StageSource } from './model.js';
import type { PeerBroker } from './settings.js';

/**
 * Where a product that is not on this node's storage can be copied from (issue 21, item 3;
 * EB-44, EB-45, EB-93): a URL the client names (a DataLink `#this` of another node, any
 * http(s) download), the `#this` of a peer node that holds a DID this node does not, a
 * replica listed in ivoa.obscore_replicas, or a Rucio replica the DM API locates. Each is
 * probed at offer time (HEAD) with the caller's rights, so an offer is made only for a
 * product the caller may read, and says how long the copy will take.
 *
 * The caller's token (its Authorization header) goes only to origins the site trusts: its
 * peer brokers' nodes and VONODE_BROKER_STAGING_TRUSTED. Anything else is asked without
 * credentials, so only public products come from it.
 */

export const STAGING_VARIABLES = {
  VONODE_BROKER_STAGING_MBPS:
    'transfer rate assumed for staging estimates until one is observed from an origin, MB/s (default 50)',
  VONODE_BROKER_STAGING_TRUSTED:
    "comma-separated origins (scheme://host:port) that receive the caller's token when data is staged from them, besides the peers",
  VONODE_BROKER_STAGING_PROBE_SECONDS:
    'how long a source may take to answer the offer-time probe (default 10)',
} as const;

export interface StagingSettings {
  /** This node's public base URL: URLs under it name local products. */
  readonly ownBase: string;
  readonly assumedBytesPerSecond: number;
  /** Origins the caller's token may be sent to. */
  readonly trusted: ReadonlySet<string>;
  /** Peer nodes (base URLs, without /broker) and their sites. */
  readonly peers: readonly { site: string; base: string }[];
  readonly probeMs: number;
  readonly rucio?: DmApiClient;
}

const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

function positive(env: Readonly<Record<string, string | undefined>>, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new BrokerError(500, 'uri:configuration', `${name}=${raw}: expected a positive number`);
  return n;
}

export function stagingSettings(
  env: Readonly<Record<string, string | undefined>>,
  ownBase: string,
  peers: readonly PeerBroker[],
): StagingSettings {
  const peerNodes = peers.map((p) => ({ site: p.site, base: p.url.replace(/\/broker\/?$/, '') }));
  const trusted = new Set<string>();
  for (const p of peerNodes) {
    const o = originOf(p.base);
    if (o) trusted.add(o);
  }
  for (const t of (env.VONODE_BROKER_STAGING_TRUSTED ?? '').split(',').map((x) => x.trim())) {
    if (!t) continue;
    const o = originOf(t);
    if (!o)
      throw new BrokerError(
        500,
        'uri:configuration',
        `VONODE_BROKER_STAGING_TRUSTED: "${t}" is not a URL origin (scheme://host:port)`,
      );
    trusted.add(o);
  }
  const rucio = rucioSettings(env);
  return {
    ownBase: ownBase.replace(/\/+$/, ''),
    assumedBytesPerSecond: positive(env, 'VONODE_BROKER_STAGING_MBPS', 50) * 1e6,
    trusted,
    peers: peerNodes,
    probeMs: positive(env, 'VONODE_BROKER_STAGING_PROBE_SECONDS', 10) * 1000,
    rucio: rucio ? new DmApiClient(rucio) : undefined,
  };
}

// ------------------------------------------------------------------ the caller's token

/** The Authorization header of the request an identity came with (set by the broker's hook). */
const authorizations = new WeakMap<object, string>();
export function rememberAuthorization(identity: object, header: string | undefined): void {
  if (header) authorizations.set(identity, header);
}
export function authorizationOf(identity: object): string | undefined {
  return authorizations.get(identity);
}

/**
 * Keeps the caller's token for a session it accepts (or submits a job to), for the staging
 * step to use later; only sessions that stage from a trusted origin, or whose job is not
 * known yet (SRCNet provisions), and only the owner's own OFFERED session.
 */
export async function keepAuthorization(
  pool: pg.Pool,
  uuid: string,
  owner: string,
  header: string,
): Promise<void> {
  // Tokens of sessions that ended before staging began are dropped on the way.
  await pool.query(
    `UPDATE broker.staging g SET bearer = NULL FROM broker.sessions x
      WHERE x.uuid = g.session AND g.bearer IS NOT NULL
        AND x.phase IN ('REJECTED', 'EXPIRED', 'COMPLETED', 'FAILED', 'CANCELLED')`,
  );
  await pool.query(
    `INSERT INTO broker.staging (session, bearer)
     SELECT uuid, $3 FROM broker.sessions
      WHERE uuid = $1 AND owner = $2 AND phase = 'OFFERED'
        AND (data @> '[{"stage":{"token":true}}]'::jsonb OR request->'executable'->>'kind' = 'deferred')
     ON CONFLICT (session) DO UPDATE SET bearer = EXCLUDED.bearer, updated = now()
      WHERE broker.staging.state = 'waiting'`,
    [uuid, owner, header],
  );
}

// ------------------------------------------------------------------ naming products

/** The DataLink ID a URL of a DataLink service names (`…/datalink/files?ID=`, `…/links?ID=`). */
export function datalinkIdOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (!/\/datalink\/(files|links)\/?$/.test(u.pathname)) return undefined;
    return u.searchParams.get('ID') ?? undefined;
  } catch {
    return undefined;
  }
}

export const isHttpUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** Identifiers to look up locally: the given ones, plus the ID of a DataLink URL of this node. */
export function localIds(ids: readonly string[], settings: StagingSettings | undefined): string[] {
  const out = [...ids];
  for (const id of ids) {
    if (!isHttpUrl(id)) continue;
    const dl = datalinkIdOf(id);
    if (dl && (!settings || id.startsWith(`${settings.ownBase}/`))) out.push(dl);
  }
  return out;
}

// ------------------------------------------------------------------ probing sources

interface Probe {
  readonly url: string;
  readonly site: string | null;
  readonly token: boolean;
  readonly size: number | null;
  readonly fileName: string | null;
}

/** A safe file name: the source's Content-Disposition, else the URL path's last segment. */
function fileNameFrom(url: string, disposition: string | null): string | null {
  const m = disposition ? /filename="?([^";]+)"?/i.exec(disposition) : null;
  const candidates = [
    m?.[1],
    (() => {
      try {
        return basename(new URL(url).pathname);
      } catch {
        return undefined;
      }
    })(),
  ];
  for (const c of candidates) {
    if (c && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(c) && c !== 'files' && c !== 'links') return c;
  }
  return null;
}

/**
 * A GET of the first byte (`Range: bytes=0-0`), with the caller's token if the origin is
 * trusted: a 206 gives the size in Content-Range, a server without ranges answers 200 with
 * Content-Length and its body is dropped. (HEAD is not used: a HEAD that fastify derives from
 * a streaming GET says Content-Length 0.)
 */
async function probe(
  settings: StagingSettings,
  url: string,
  site: string | null,
  authorization: string | undefined,
): Promise<Probe | undefined> {
  const origin = originOf(url);
  if (!origin) return undefined;
  const token = Boolean(authorization) && settings.trusted.has(origin);
  const headers: Record<string, string> = {
    range: 'bytes=0-0',
    ...(token && authorization ? { authorization } : {}),
  };
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), settings.probeMs);
  try {
    const res = await fetch(url, { headers, signal: ac.signal, redirect: 'follow' });
    ac.abort(); // only the headers were wanted
    if (!res.ok) return undefined;
    const range = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    const len = res.headers.get('content-length');
    const size =
      res.status === 206 ? (range ? Number(range[1]) : null) : len && /^\d+$/.test(len) ? Number(len) : null;
    return { url, site, token, size, fileName: fileNameFrom(url, res.headers.get('content-disposition')) };
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Observed rate of an origin (bytes/s), or the configured assumption. */
async function rateOf(pool: pg.Pool, settings: StagingSettings, url: string): Promise<number> {
  const r = await pool.query<{ bytes_per_second: number }>(
    'SELECT bytes_per_second FROM broker.staging_rates WHERE origin = $1',
    [originOf(url) ?? ''],
  );
  return r.rows[0]?.bytes_per_second ?? settings.assumedBytesPerSecond;
}

export interface RemoteContext {
  readonly pool: pg.Pool;
  readonly settings: StagingSettings;
  readonly authorization: string | undefined;
}

/**
 * A source for a product this node does not hold (the first candidate that answers the
 * caller), or undefined. `local` is the product's own row here when it exists without a file
 * (its replicas and Rucio DID are then the candidates).
 */
export async function locateRemote(
  ctx: RemoteContext,
  d: DataResource,
  local?: { readonly filePath: string | null; readonly replicas: ResolvedData['replicas'] },
): Promise<StageSource | undefined> {
  const { settings } = ctx;
  const candidates: { url: string; site: string | null }[] = [];
  if (local) {
    for (const r of local.replicas)
      if (!r.local && isHttpUrl(r.url)) candidates.push({ url: r.url, site: r.site });
    const did = local.filePath?.startsWith(RUCIO_FILE_PREFIX)
      ? parseScopedName(local.filePath.slice(RUCIO_FILE_PREFIX.length))
      : undefined;
    if (did && settings.rucio) candidates.push(...(await rucioReplicas(settings.rucio, did.scope, did.name)));
  } else {
    for (const id of d.ids) {
      if (isHttpUrl(id)) {
        // A URL of this node names a local product: never fetched from ourselves.
        if (!id.startsWith(`${settings.ownBase}/`)) candidates.push({ url: id, site: siteOf(settings, id) });
        continue;
      }
      const scoped = d.type.endsWith('rucio-data-resource-1.0') ? parseScopedName(id) : undefined;
      if (scoped && settings.rucio) {
        candidates.push(...(await rucioReplicas(settings.rucio, scoped.scope, scoped.name)));
        continue;
      }
      // A DID or DataLink ID this node does not hold: a peer's DataLink #this (one hop).
      for (const p of settings.peers)
        candidates.push({ url: `${p.base}/datalink/files?ID=${encodeURIComponent(id)}`, site: p.site });
    }
  }
  for (const c of candidates) {
    const found = await probe(settings, c.url, c.site, ctx.authorization);
    if (!found) continue;
    const rate = await rateOf(ctx.pool, settings, found.url);
    const checksum = checksumOf(d);
    return {
      url: found.url,
      site: found.site,
      token: found.token,
      sizeBytes: found.size,
      fileName: found.fileName ?? d.name,
      // One second of setup, then the size at the rate seen from that origin.
      estimateSeconds: 1 + Math.ceil((found.size ?? 0) / rate),
      ...(checksum ? { checksum } : {}),
    };
  }
  return undefined;
}

function siteOf(settings: StagingSettings, url: string): string | null {
  const o = originOf(url);
  return settings.peers.find((p) => originOf(p.base) === o)?.site ?? null;
}

async function rucioReplicas(dm: DmApiClient, scope: string, name: string) {
  try {
    const found = await dm.locate(scope, name);
    return found.flatMap((l) => l.replicas.filter(isHttpUrl).map((url) => ({ url, site: l.identifier })));
  } catch {
    return [];
  }
}

/** EB-44 skao-data-resource `skao.checksum {type, value}`, or the same at the top level. */
function checksumOf(d: DataResource): { type: string; value: string } | undefined {
  const spec = d.spec as { skao?: { checksum?: unknown }; checksum?: unknown };
  const c = (spec.skao?.checksum ?? spec.checksum) as { type?: unknown; value?: unknown } | undefined;
  if (c && typeof c.type === 'string' && typeof c.value === 'string')
    return { type: c.type.toLowerCase(), value: c.value.toLowerCase() };
  return undefined;
}

// ------------------------------------------------------------------ offers

export const STAGE_DIR = 'staged';

/** The data as an offer with this work folder sees it: staged products get their scratch path. */
export function placeStaged(data: readonly ResolvedData[], workDir: string): ResolvedData[] {
  return data.map((d) => (d.stage ? { ...d, path: join(workDir, STAGE_DIR, d.name, d.stage.fileName) } : d));
}

/** Bytes and seconds the staging of an offer's data takes (sources are copied one after another). */
export function stagingNeeds(data: readonly ResolvedData[]): { bytes: number; seconds: number } {
  let bytes = 0;
  let seconds = 0;
  for (const d of data) {
    if (!d.stage) continue;
    bytes += d.stage.sizeBytes ?? 0;
    seconds += d.stage.estimateSeconds;
  }
  return { bytes, seconds };
}
