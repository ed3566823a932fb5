import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { encode, errorDocument, type Field, type Resource } from '../../votable/index.js';
import { ANONYMOUS, isAnonymous } from '../auth/index.js';
import { DaliError, DaliParams, parseResponseFormat, type ResponseFormat } from '../dali/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { malformedBodyMessage, reportInternalError } from '../errors/index.js';
import {
  charParam,
  DATALINK_CONTENT_TYPE,
  DATALINK_STANDARD_ID,
  SODA_PARAM,
  SODA_SYNC_STANDARD_ID,
} from '../sia/index.js';
import { fileMediaType, fileUrl } from './files.js';
import { lookupProducts, type Product } from './product.js';
import { type LocateReplicas, loadRucioDids, remoteRows } from './remote.js';

export interface DataLinkLimits {
  /** Most IDs answered per request; more give OVERFLOW (DL-05). */
  readonly maxIds: number;
}

export const DEFAULT_DATALINK_LIMITS: DataLinkLimits = { maxIds: 100 };

export interface DataLinkDeps {
  readonly pool: pg.Pool;
  readonly baseUrl: string;
  readonly limits?: Partial<DataLinkLimits>;
  /** Locates the replicas of Rucio products (src/rucio); absent: no Data Management API. */
  readonly locateReplicas?: LocateReplicas;
}

/** URL of a product's PNG preview (src/preview serves it). */
export function previewUrl(baseUrl: string, did: string): string {
  return `${baseUrl}/preview/${encodeURIComponent(did)}.png`;
}

/** The links table (DL-20..29b). */
export const LINK_FIELDS: Field[] = [
  {
    name: 'ID',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.id;meta.main',
    description: 'the identifier asked for',
  },
  {
    name: 'access_url',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.ref.url',
    description: 'URL of the linked resource',
  },
  {
    name: 'service_def',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.ref',
    description: 'service descriptor to call',
  },
  {
    name: 'error_message',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.code.error',
    description: 'why no link',
  },
  {
    name: 'description',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.note',
    description: 'what the link is',
  },
  {
    name: 'semantics',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.code',
    description: 'relation to the dataset',
  },
  { name: 'content_type', datatype: 'char', arraysize: '*', ucd: 'meta.code.mime', description: 'MIME type' },
  {
    name: 'content_length',
    datatype: 'long',
    unit: 'byte',
    ucd: 'phys.size;meta.file',
    description: 'size of the resource',
  },
  {
    name: 'content_qualifier',
    datatype: 'char',
    arraysize: '*',
    description: 'product type of the resource',
  },
  {
    name: 'local_semantics',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.id.assoc',
    description: 'site term',
  },
  {
    name: 'link_auth',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.code',
    description: 'false, optional or true',
  },
  {
    name: 'link_authorized',
    datatype: 'boolean',
    ucd: 'meta.code',
    description: 'whether the caller may use the link',
  },
];

type Row = [
  id: string,
  accessUrl: string | null,
  serviceDef: string | null,
  errorMessage: string | null,
  description: string | null,
  semantics: string,
  contentType: string | null,
  contentLength: number | null,
  contentQualifier: string | null,
  localSemantics: string | null,
  linkAuth: string | null,
  linkAuthorized: boolean | null,
];

interface Replica {
  did: string;
  site: string;
  url: string;
  is_local: boolean;
}

const qualifier = (p: Product) => (p.type === 'cube' ? '#cube' : p.type === 'image' ? '#image' : null);

function fmt(v: number): string {
  return String(v);
}

/** A dataset-specific SODA descriptor with ranges taken from the product (DL 6.2, SODA-71). */
export function sodaDescriptor(baseUrl: string, p: Product, xmlId: string): Resource {
  const params = [SODA_PARAM.ID(p.did)];
  params.push(SODA_PARAM.POS());
  if (p.sRa !== null && p.sDec !== null && p.sFov !== null) {
    params.push(SODA_PARAM.CIRCLE(`${fmt(p.sRa)} ${fmt(p.sDec)} ${fmt(p.sFov / 2)}`));
  } else params.push(SODA_PARAM.CIRCLE());
  params.push(SODA_PARAM.POLYGON(p.sRegion ? p.sRegion.map(fmt).join(' ') : undefined));
  params.push(SODA_PARAM.BAND(p.emMin ?? undefined, p.emMax ?? undefined));
  params.push(SODA_PARAM.TIME(p.tMin ?? undefined, p.tMax ?? undefined));
  params.push(SODA_PARAM.POL(p.polStates.length > 0 ? p.polStates : undefined));
  return {
    type: 'meta',
    utype: 'adhoc:service',
    ID: xmlId,
    name: 'cutout',
    description: `Cutout of ${p.did} in position, wavelength, time and polarisation (SODA 1.0 sync)`,
    params: [
      charParam('standardID', SODA_SYNC_STANDARD_ID),
      charParam('accessURL', `${baseUrl}/soda/sync`),
      charParam('contentType', 'application/fits'),
    ],
    groups: [{ name: 'inputParams', params }],
  };
}

function selfDescription(baseUrl: string): Resource {
  return {
    type: 'meta',
    utype: 'adhoc:this',
    name: 'this',
    description: 'DataLink 1.1 links of the data products of this node',
    params: [
      charParam('standardID', DATALINK_STANDARD_ID),
      charParam('accessURL', `${baseUrl}/datalink/links`),
      charParam('contentType', DATALINK_CONTENT_TYPE),
    ],
    groups: [
      {
        name: 'inputParams',
        params: [charParam('ID', '', { description: 'dataset identifier; repeat for several' })],
      },
    ],
  };
}

const DEFAULT_FORMAT: ResponseFormat = { format: 'votable/td', contentType: DATALINK_CONTENT_TYPE };

/** DataLink 1.1 `{links}` at /datalink/links (DL-01..13). */
export function registerLinks(app: FastifyInstance, deps: DataLinkDeps): void {
  const limits = { ...DEFAULT_DATALINK_LIMITS, ...deps.limits };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const params = new DaliParams().add(request.query);
      if (request.method === 'POST') {
        if (request.isMultipart()) {
          for await (const part of request.parts()) {
            if (part.type === 'field') params.push(part.fieldname, String(part.value));
            else part.file.resume();
          }
        } else params.add(request.body);
      }
      const rf = params.get('RESPONSEFORMAT');
      // DL-07: votable and the VOTable MIME type mean TABLEDATA here.
      const format = responseFormat(rf);
      const all = params.all('ID');
      const ids = all.slice(0, limits.maxIds);
      const overflow = all.length > ids.length;
      const identity = request.identity ?? ANONYMOUS;
      // Rucio products, and IDs given as scope:name as SRCNet's DataLink takes them.
      const rucio = await loadRucioDids(deps.pool, [...new Set(ids)]);
      const didOf = (id: string) => rucio.aliases.get(id) ?? id;
      const found = await lookupProducts(deps.pool, identity, [...new Set(ids.map(didOf))]);
      const okDids = [...found.values()].flatMap((f) => (f.status === 'ok' ? [f.product.did] : []));
      const replicas = await loadReplicas(deps.pool, okDids);
      const rows: Row[] = [];
      const resources: Resource[] = [selfDescription(deps.baseUrl)];
      const described = new Map<string, string>();
      let remoteDescriptors = 0;
      for (const id of ids) {
        const f = found.get(didOf(id)) ?? { status: 'not-found' as const };
        if (f.status === 'not-found') {
          rows.push(errorRow(id, `NotFoundFault: no dataset has ID ${id}`));
          continue;
        }
        if (f.status === 'forbidden') {
          rows.push(
            errorRow(
              id,
              isAnonymous(identity)
                ? `FatalFault: ${id} is proprietary; authenticate (Authorization: Bearer <token>) as a member of its group`
                : `FatalFault: ${id} is proprietary and none of your groups may read it yet`,
            ),
          );
          continue;
        }
        const p = f.product;
        const auth = p.proprietary ? 'true' : 'optional';
        const q = qualifier(p);
        const remote = rucio.byDid.get(p.did);
        if (remote) {
          const out = await remoteRows(id, p, remote, {
            sodaDescriptor: (xmlId) => sodaDescriptor(deps.baseUrl, p, xmlId),
            locate: deps.locateReplicas,
            clientAddress: request.ip,
            auth,
            contentType: fileMediaType(remote.name),
            qualifier: q,
            nextId: () => `soda-${described.size + ++remoteDescriptors}`,
          });
          rows.push(...out.rows);
          resources.push(...out.resources);
          continue;
        }
        rows.push([
          id,
          fileUrl(deps.baseUrl, p.did),
          null,
          null,
          `the ${p.type || 'product'} as a FITS file${p.title ? `: ${p.title}` : ''}`,
          '#this',
          fileMediaType(p.filePath),
          p.fileSize,
          q,
          null,
          auth,
          true,
        ]);
        for (const r of replicas.get(p.did) ?? []) {
          if (r.is_local) continue;
          rows.push([
            id,
            r.url,
            null,
            null,
            `copy of the FITS file at ${r.site}`,
            '#this',
            fileMediaType(p.filePath),
            p.fileSize,
            q,
            'replica',
            null,
            null,
          ]);
        }
        rows.push([
          id,
          previewUrl(deps.baseUrl, p.did),
          null,
          null,
          p.type === 'cube'
            ? 'PNG preview of the middle channel (zscale, asinh)'
            : 'PNG preview (zscale, asinh)',
          '#preview',
          'image/png',
          null,
          null,
          null,
          auth,
          true,
        ]);
        rows.push([
          id,
          `${previewUrl(deps.baseUrl, p.did)}?SIZE=thumbnail`,
          null,
          null,
          'small PNG preview (at most 128 pixels a side)',
          '#thumbnail',
          'image/png',
          null,
          null,
          null,
          auth,
          true,
        ]);
        rows.push([
          id,
          `${fileUrl(deps.baseUrl, p.did)}&KIND=header`,
          null,
          null,
          'the FITS header of the file, as text',
          '#detached-header',
          'text/plain',
          null,
          null,
          null,
          auth,
          true,
        ]);
        let xmlId = described.get(p.did);
        if (!xmlId) {
          xmlId = `soda-${described.size + remoteDescriptors + 1}`;
          described.set(p.did, xmlId);
          resources.push(sodaDescriptor(deps.baseUrl, p, xmlId));
        }
        rows.push([
          id,
          null,
          xmlId,
          null,
          'cutout in position, wavelength and polarisation (SODA)',
          '#cutout',
          'application/fits',
          null,
          q,
          null,
          auth,
          true,
        ]);
      }
      const body = encode(format.format, {
        fields: LINK_FIELDS,
        rows,
        rowCount: rows.length,
        leadingStatus: overflow ? 'OVERFLOW' : 'OK',
        leadingMessage: overflow ? `only the first ${limits.maxIds} IDs were answered` : undefined,
        infos: [{ name: 'standardID', value: DATALINK_STANDARD_ID }],
        tableName: 'links',
        extraResources: resources,
      });
      return reply
        .status(200)
        .type(format.contentType)
        .send(Readable.from(body, { objectMode: false }));
    } catch (err) {
      const usage = err instanceof DaliError && err.status < 500 ? err.message : malformedBodyMessage(err);
      if (usage !== undefined) {
        return reply
          .status(400)
          .type('application/x-votable+xml;charset=UTF-8')
          .send(errorDocument(`UsageFault: ${usage}`));
      }
      if (err instanceof ServiceBusy) throw err; // 503 + Retry-After by the app's error handler
      const message = reportInternalError(request.log, err, 'DataLink request failed');
      return reply
        .status(500)
        .type('application/x-votable+xml;charset=UTF-8')
        .send(errorDocument(`FatalFault: ${message}`));
    }
  };
  app.get('/datalink/links', handler);
  app.post('/datalink/links', handler);
}

function responseFormat(raw: string | undefined): ResponseFormat {
  if (raw === undefined || raw.trim() === '') return DEFAULT_FORMAT;
  const t = raw.trim().toLowerCase();
  if (t === 'votable' || t.split(';')[0].trim() === 'application/x-votable+xml') {
    if (!/serialization=/i.test(raw))
      return { format: 'votable/td', contentType: t === 'votable' ? DATALINK_CONTENT_TYPE : raw.trim() };
  }
  return parseResponseFormat(raw);
}

function errorRow(id: string, message: string): Row {
  return [id, null, null, message, null, '#this', null, null, null, null, null, null];
}

async function loadReplicas(pool: pg.Pool, dids: readonly string[]): Promise<Map<string, Replica[]>> {
  const out = new Map<string, Replica[]>();
  if (dids.length === 0) return out;
  // The replica table has no proprietary rows of its own; the caller may already read these products.
  const client = await pool.connect();
  try {
    const r = await client.query<Replica>(
      'SELECT obs_publisher_did AS did, site, url, is_local FROM ivoa.obscore_replicas WHERE obs_publisher_did = ANY($1::text[]) ORDER BY is_local DESC, site',
      [[...dids]],
    );
    for (const row of r.rows) {
      const list = out.get(row.did) ?? [];
      list.push(row);
      out.set(row.did, list);
    }
  } finally {
    client.release();
  }
  return out;
}
