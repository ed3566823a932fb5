import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import {
  ANONYMOUS,
  type Identity,
  isAnonymous,
  sendAuthenticationRequired,
  withReadOnlyIdentity,
} from '../auth/index.js';

/** What the data services need of one ObsCore row. */
export interface Product {
  did: string;
  type: string;
  title: string | null;
  filePath: string;
  fileSize: number | null;
  sRa: number | null;
  sDec: number | null;
  sFov: number | null;
  sRegion: number[] | null;
  emMin: number | null;
  emMax: number | null;
  tMin: number | null;
  tMax: number | null;
  polStates: string[];
  /** Whether data access needs a group membership (proprietary until obs_release_date). */
  proprietary: boolean;
}

export type ProductLookup =
  | { status: 'ok'; product: Product }
  /** The product exists but the caller may not read its data. */
  | { status: 'forbidden' }
  | { status: 'not-found' };

// file_path is stored relative to the products root when below it (sql/170).
const COLUMNS = `obs_publisher_did, dataproduct_type, obs_title, ivoa.product_file(file_path) AS file_path, file_size, s_ra, s_dec, s_fov, s_region,
  em_min, em_max, t_min, t_max, pol_states,
  (owner_group IS NOT NULL AND (obs_release_date IS NULL OR obs_release_date > now())) AS proprietary,
  auth.may_read(owner_group, obs_release_date) AS readable`;

function toProduct(r: Record<string, unknown>): Product {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    did: String(r.obs_publisher_did),
    type: String(r.dataproduct_type ?? ''),
    title: (r.obs_title as string | null) ?? null,
    filePath: String(r.file_path),
    fileSize: num(r.file_size),
    sRa: num(r.s_ra),
    sDec: num(r.s_dec),
    sFov: num(r.s_fov),
    sRegion: (r.s_region as number[] | null) ?? null,
    emMin: num(r.em_min),
    emMax: num(r.em_max),
    tMin: num(r.t_min),
    tMax: num(r.t_max),
    polStates: String(r.pol_states ?? '')
      .split('/')
      .filter((s) => s !== ''),
    proprietary: r.proprietary === true,
  };
}

/**
 * The products named by `dids` as `identity` may use them. Metadata may be visible while the
 * data are not (auth.collections.metadata_public): such a product is 'forbidden' (its
 * existence is public anyway, and the caller learns it may authenticate). A product whose
 * row the caller cannot see is 'not-found', exactly as an ID that names nothing, so that no
 * status or message tells a non-member that an embargoed product exists (issue 13).
 */
export async function lookupProducts(
  pool: pg.Pool,
  identity: Identity,
  dids: readonly string[],
): Promise<Map<string, ProductLookup>> {
  const out = new Map<string, ProductLookup>();
  if (dids.length === 0) return out;
  const rows = await withReadOnlyIdentity(pool, identity, async (client) => {
    const r = await client.query(
      `SELECT ${COLUMNS} FROM ivoa.obscore WHERE obs_publisher_did = ANY($1::text[])`,
      [[...dids]],
    );
    return r.rows as Record<string, unknown>[];
  });
  for (const r of rows) {
    const did = String(r.obs_publisher_did);
    out.set(
      did,
      r.readable === true && r.file_path ? { status: 'ok', product: toProduct(r) } : { status: 'forbidden' },
    );
  }
  for (const d of dids) if (!out.has(d)) out.set(d, { status: 'not-found' });
  return out;
}

export async function lookupProduct(pool: pg.Pool, identity: Identity, did: string): Promise<ProductLookup> {
  return (await lookupProducts(pool, identity, [did])).get(did) ?? { status: 'not-found' };
}

/**
 * Answers a refused data access: 401 with the node's challenges to an anonymous caller,
 * 403 to an authenticated one (SSO-22), with a text body starting with `labels`' words.
 */
export function sendRefusal(
  request: FastifyRequest,
  reply: FastifyReply,
  did: string,
  labels: { authentication: string; authorization: string },
): FastifyReply {
  const identity = request.identity ?? ANONYMOUS;
  if (isAnonymous(identity)) {
    return sendAuthenticationRequired(
      reply,
      reply.server.authChallenge,
      `${labels.authentication}: ${did} is proprietary; send Authorization: Bearer <token> of a member of its group`,
    );
  }
  return reply
    .status(403)
    .type('text/plain; charset=utf-8')
    .send(`${labels.authorization}: ${did} is proprietary and none of your groups may read it yet\n`);
}
