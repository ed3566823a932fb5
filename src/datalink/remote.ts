/**
 * Products whose files live in Rucio (src/rucio, docs/rucio.md): their `#this` links are the
 * replicas the Data Management API locates when asked, in its order (nearest to the caller, or
 * random) with the sites the node prefers first; the first is the link to use, the others are
 * alternatives. A `#cutout` is offered for each replica's storage that has a SODA beside it,
 * with a descriptor pointing at that SODA. The DM API down gives an error row for those
 * products only; every other product's links are as always.
 */
import type pg from 'pg';
import type { Resource } from '../../votable/index.js';
import { charParam, SODA_SYNC_STANDARD_ID } from '../sia/index.js';
import type { Product } from './product.js';

/** file_path of a product whose file is in Rucio (no file on this node): `rucio:scope:name`. */
export const RUCIO_FILE_PREFIX = 'rucio:';

/**
 * Why this node cannot read the product's file itself, for the services that would (SODA,
 * previews): undefined for a file on this node's storage.
 */
export function heldElsewhere(p: { readonly did: string; readonly filePath: string }): string | undefined {
  return p.filePath.startsWith(RUCIO_FILE_PREFIX)
    ? `${p.did} is held in Rucio, not on this node's storage: its DataLink document lists its copies and the SODA services beside them`
    : undefined;
}

/** A SODA service beside a replica. */
export interface RemoteSoda {
  readonly url: string;
  readonly resourceIdentifier: string | null;
}

/** The copies of a product at one storage (a Rucio RSE). */
export interface RemoteLocation {
  readonly site: string;
  readonly urls: readonly string[];
  /** Synchronous SODA services beside this storage. */
  readonly soda: readonly RemoteSoda[];
}

/** Finds the copies of a Rucio DID, best first; throws with a clear message when it cannot. */
export type LocateReplicas = (
  scope: string,
  name: string,
  clientAddress: string | undefined,
) => Promise<readonly RemoteLocation[]>;

export interface RucioDid {
  readonly did: string;
  readonly scope: string;
  readonly name: string;
}

/** A Rucio DID as SRCNet's DataLink takes it: `scope:name` (ivo:, http: ... are not scopes). */
export function parseScopedName(id: string): { scope: string; name: string } | undefined {
  const m = /^([A-Za-z0-9_.-]+):([^\s]+)$/.exec(id);
  if (!m || m[2].startsWith('//')) return undefined;
  return { scope: m[1], name: m[2] };
}

/**
 * The Rucio DIDs among the products named by `dids` and the IDs given as `scope:name`: by
 * publisher DID, and the `scope:name` IDs mapped to their publisher DIDs.
 */
export async function loadRucioDids(
  pool: pg.Pool,
  ids: readonly string[],
): Promise<{ byDid: Map<string, RucioDid>; aliases: Map<string, string> }> {
  const byDid = new Map<string, RucioDid>();
  const aliases = new Map<string, string>();
  if (ids.length === 0) return { byDid, aliases };
  const scoped = ids.flatMap((id) => {
    const p = parseScopedName(id);
    return p ? [{ id, ...p }] : [];
  });
  const r = await pool.query<RucioDid>(
    `SELECT obs_publisher_did AS did, scope, name FROM rucio.products
      WHERE obs_publisher_did = ANY($1::text[]) OR (scope || ':' || name) = ANY($2::text[])`,
    [[...ids], scoped.map((s) => `${s.scope}:${s.name}`)],
  );
  for (const row of r.rows) byDid.set(row.did, row);
  for (const s of scoped) {
    const hit = r.rows.find((x) => x.scope === s.scope && x.name === s.name);
    if (hit) aliases.set(s.id, hit.did);
  }
  return { byDid, aliases };
}

/** One row of the links table, in LINK_FIELDS order. */
export type LinkRow = [
  string,
  string | null,
  string | null,
  string | null,
  string | null,
  string,
  string | null,
  number | null,
  string | null,
  string | null,
  string | null,
  boolean | null,
];

/** The descriptor of a SODA beside a replica: the product's parameters, that service's URL. */
function remoteSodaDescriptor(local: Resource, p: Product, soda: RemoteSoda, site: string): Resource {
  return {
    ...local,
    description: `Cutout of ${p.did} by the SODA beside its copy at ${site} (SODA 1.0 sync)`,
    params: [
      charParam('standardID', SODA_SYNC_STANDARD_ID),
      charParam('accessURL', soda.url),
      ...(soda.resourceIdentifier ? [charParam('resourceIdentifier', soda.resourceIdentifier)] : []),
      charParam('contentType', 'application/fits'),
    ],
  };
}

/**
 * The rows (and SODA descriptors) of a Rucio product: `#this` per replica in order, the first
 * the one to use and the others `alternative` (local_semantics), and `#cutout` per storage with
 * a co-located SODA. `nextId` names the descriptors uniquely in the document.
 */
export async function remoteRows(
  id: string,
  p: Product,
  did: RucioDid,
  opts: {
    /** The product's own SODA descriptor under an XML ID: its parameters are reused. */
    readonly sodaDescriptor: (xmlId: string) => Resource;
    readonly locate: LocateReplicas | undefined;
    readonly clientAddress: string | undefined;
    readonly auth: string;
    readonly contentType: string;
    readonly qualifier: string | null;
    readonly nextId: () => string;
  },
): Promise<{ rows: LinkRow[]; resources: Resource[] }> {
  const error = (message: string): LinkRow => [
    id,
    null,
    null,
    message,
    null,
    '#this',
    null,
    null,
    null,
    null,
    null,
    null,
  ];
  if (!opts.locate)
    return {
      rows: [
        error(
          `FatalFault: ${did.scope}:${did.name} is held in Rucio and this node has no Data Management API configured`,
        ),
      ],
      resources: [],
    };
  let locations: readonly RemoteLocation[];
  try {
    locations = await opts.locate(did.scope, did.name, opts.clientAddress);
  } catch (err) {
    return {
      rows: [
        error(
          `FatalFault: the replicas of ${did.scope}:${did.name} could not be located: ${(err as Error).message}`,
        ),
      ],
      resources: [],
    };
  }
  const rows: LinkRow[] = [];
  const resources: Resource[] = [];
  let first = true;
  for (const loc of locations) {
    for (const url of loc.urls) {
      rows.push([
        id,
        url,
        null,
        null,
        first ? `the file, at ${loc.site} (first choice)` : `copy of the file at ${loc.site} (alternative)`,
        '#this',
        opts.contentType,
        p.fileSize && p.fileSize > 0 ? p.fileSize : null,
        opts.qualifier,
        first ? null : 'alternative',
        opts.auth,
        true,
      ]);
      first = false;
    }
  }
  for (const loc of locations) {
    if (loc.urls.length === 0) continue;
    for (const soda of loc.soda) {
      const xmlId = opts.nextId();
      resources.push(remoteSodaDescriptor(opts.sodaDescriptor(xmlId), p, soda, loc.site));
      rows.push([
        id,
        null,
        xmlId,
        null,
        `cutout by the SODA beside the copy at ${loc.site}`,
        '#cutout',
        'application/fits',
        null,
        opts.qualifier,
        null,
        opts.auth,
        true,
      ]);
    }
  }
  if (rows.length === 0)
    rows.push(error(`NotFoundFault: ${did.scope}:${did.name} has no replica at any site at the moment`));
  return { rows, resources };
}
