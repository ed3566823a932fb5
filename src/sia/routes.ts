import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { encode, errorDocument, type Info, type Param, type Resource } from '../../votable/index.js';
import { ANONYMOUS, withReadOnlyIdentity } from '../auth/index.js';
import {
  DaliError,
  DaliParams,
  parseMaxrec,
  parseResponseFormat,
  type ResponseFormat,
} from '../dali/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { malformedBodyMessage, reportInternalError } from '../errors/index.js';
import {
  charParam,
  genericSodaDescriptor,
  linksDescriptor,
  obscoreFields,
  SIA_STANDARD_ID,
} from './descriptors.js';
import { POL_LABELS, SIA_QUERY_PARAMS, type SiaParamName, siaSql } from './query.js';
import { ParamError } from './shapes.js';

export interface SiaLimits {
  readonly maxrecDefault: number;
  readonly maxrecHard: number;
  /** statement_timeout of one query, ms. */
  readonly timeoutMs: number;
  /** Most order-29 ranges in the HEALPix prefilter of one POS value. */
  readonly maxRanges: number;
  /** Most values of one repeated parameter (each adds to the SQL). */
  readonly maxValuesPerParam: number;
}

export const DEFAULT_SIA_LIMITS: SiaLimits = {
  maxrecDefault: 1000,
  maxrecHard: 100000,
  timeoutMs: 60000,
  maxRanges: 32,
  maxValuesPerParam: 100,
};

export interface SiaDeps {
  readonly pool: pg.Pool;
  /** Public base URL written into descriptors. */
  readonly baseUrl: string;
  readonly limits?: Partial<SiaLimits>;
  /**
   * Change events of the catalogue (an ingest or retract NOTIFYs ivoa.obscore): the option
   * lists of the self-description are read again at once, not after their minute.
   */
  readonly catalogues?: { onChange(listener: (tableName: string) => void): () => void };
}

const VOTABLE_ERROR_TYPE = 'application/x-votable+xml;charset=UTF-8';
const DEFAULT_FORMAT: ResponseFormat = {
  format: 'votable/td',
  contentType: 'application/x-votable+xml;serialization=TABLEDATA;charset=UTF-8',
};

/** Values actually present, for the OPTIONs of the self-description (SIA-63). */
interface Options {
  at: number;
  values: Record<string, string[]>;
}

const OPTION_COLUMNS: Record<string, string> = {
  COLLECTION: 'obs_collection',
  FACILITY: 'facility_name',
  INSTRUMENT: 'instrument_name',
  DPTYPE: 'dataproduct_type',
  CALIB: 'calib_level',
  FORMAT: 'access_format',
};
const OPTIONS_TTL_MS = 60000;

/** SIA 2.0 `{query}` at /sia/query, GET and POST (SIA-01). */
export function registerSia(app: FastifyInstance, deps: SiaDeps): void {
  const limits: SiaLimits = { ...DEFAULT_SIA_LIMITS, ...deps.limits };
  let options: Options | undefined;
  deps.catalogues?.onChange((name) => {
    if (name === 'ivoa.obscore' || name === '*') options = undefined;
  });

  const loadOptions = async (client: pg.ClientBase): Promise<Options['values']> => {
    if (options && Date.now() - options.at < OPTIONS_TTL_MS) return options.values;
    const values: Record<string, string[]> = {};
    for (const [param, column] of Object.entries(OPTION_COLUMNS)) {
      // Only public rows: the self-description is shared by every caller.
      const r = await client.query<{ v: string }>(
        `SELECT DISTINCT ${column}::text AS v FROM ivoa.obscore WHERE dataproduct_type IN ('image', 'cube') AND ${column} IS NOT NULL ORDER BY 1 LIMIT 100`,
      );
      values[param] = r.rows.map((row) => row.v);
    }
    options = { at: Date.now(), values };
    return values;
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const params = await readParams(request);
      const maxrec = parseMaxrec(params.get('MAXREC'), limits);
      const rf = params.get('RESPONSEFORMAT');
      const format = rf === undefined || rf.trim() === '' ? DEFAULT_FORMAT : parseResponseFormat(rf);
      const runId = params.get('RUNID');
      const given = new Map<SiaParamName, readonly string[]>();
      for (const name of SIA_QUERY_PARAMS) {
        const values = params.all(name);
        if (values.length > limits.maxValuesPerParam) {
          throw new ParamError(
            `${name} was given ${values.length} times; at most ${limits.maxValuesPerParam} values are accepted`,
          );
        }
        if (values.length > 0) given.set(name, values);
      }
      const optionValues =
        options && Date.now() - options.at < OPTIONS_TTL_MS
          ? options.values
          : await withReadOnlyIdentity(deps.pool, ANONYMOUS, loadOptions);
      // SIA-50: MAXREC=0 is metadata only; the query is not run.
      const rows =
        maxrec === 0
          ? []
          : await withReadOnlyIdentity(
              deps.pool,
              request.identity ?? ANONYMOUS,
              async (client) => {
                const r = await client.query<{ r: number | null }>(
                  'SELECT max(s_fov) / 2 AS r FROM ivoa.obscore',
                );
                const sql = siaSql(given, maxrec + 1, {
                  maxFootprintRadiusDeg: (r.rows[0]?.r ?? 0) * 1.001 + 1e-6,
                  maxRanges: limits.maxRanges,
                });
                const res = await client.query({ text: sql.text, values: sql.values, rowMode: 'array' });
                return res.rows as unknown[][];
              },
              { statementTimeoutMs: limits.timeoutMs },
            );
      const overflow = rows.length > maxrec;
      if (overflow) rows.length = maxrec;
      const infos: Info[] = [{ name: 'standardID', value: 'ivo://ivoa.net/std/SIA' }];
      for (const [name, values] of given) for (const v of values) infos.push({ name, value: v });
      infos.push({ name: 'MAXREC', value: String(maxrec) });
      if (runId !== undefined) infos.push({ name: 'RUNID', value: runId });
      const body = encode(format.format, {
        fields: obscoreFields(),
        rows,
        rowCount: rows.length,
        // DALI-22, SIA-50: MAXREC=0 is the metadata-only form, which says OVERFLOW.
        leadingStatus: overflow || maxrec === 0 ? 'OVERFLOW' : 'OK',
        infos,
        tableName: 'results',
        extraResources: [
          selfDescription(deps.baseUrl, optionValues),
          linksDescriptor(deps.baseUrl),
          genericSodaDescriptor(deps.baseUrl),
        ],
      });
      return reply
        .status(200)
        .type(format.contentType)
        .send(Readable.from(body, { objectMode: false }));
    } catch (err) {
      return sendError(request, reply, err);
    }
  };
  app.get('/sia/query', handler);
  app.post('/sia/query', handler);
}

/** The service describing itself (SIA-63, DataLink 1.1 form DL-64). */
function selfDescription(baseUrl: string, options: Record<string, string[]>): Resource {
  const opts = (name: string) => {
    const v = options[name];
    return v && v.length > 0 ? { values: { options: v.map((value) => ({ value })) } } : {};
  };
  const interval = (name: string, unit: string, description: string): Param => ({
    name,
    datatype: 'double',
    arraysize: '2',
    xtype: 'interval',
    ...(unit ? { unit } : {}),
    description,
    value: '',
  });
  return {
    type: 'meta',
    utype: 'adhoc:this',
    name: 'this',
    description: 'Simple Image Access 2.0 query of the images and cubes of this node',
    params: [charParam('standardID', SIA_STANDARD_ID), charParam('accessURL', `${baseUrl}/sia/query`)],
    groups: [
      {
        name: 'inputParams',
        params: [
          charParam('POS', '', {
            ucd: 'pos.outline;obs',
            description: 'CIRCLE, RANGE or POLYGON (ICRS deg)',
          }),
          interval('BAND', 'm', 'vacuum wavelength interval that must overlap the product'),
          interval('TIME', 'd', 'MJD interval that must overlap the observation'),
          charParam('POL', '', {
            description: 'polarisation state the product must have',
            values: { options: POL_LABELS.map((value) => ({ value })) },
          }),
          interval('FOV', 'deg', 'range of the field of view'),
          interval('SPATRES', 'arcsec', 'range of the spatial resolution'),
          interval('EXPTIME', 's', 'range of the exposure time'),
          charParam('ID', '', { description: 'publisher dataset identifier (case-insensitive)' }),
          charParam('COLLECTION', '', { description: 'collection name', ...opts('COLLECTION') }),
          charParam('FACILITY', '', { description: 'facility name', ...opts('FACILITY') }),
          charParam('INSTRUMENT', '', { description: 'instrument name', ...opts('INSTRUMENT') }),
          charParam('DPTYPE', '', { description: 'image or cube', ...opts('DPTYPE') }),
          { name: 'CALIB', datatype: 'int', description: 'calibration level', value: '', ...opts('CALIB') },
          charParam('TARGET', '', { description: 'target name' }),
          interval('TIMERES', 's', 'range of the time resolution'),
          interval('SPECRP', '', 'range of the spectral resolving power'),
          charParam('FORMAT', '', { description: 'access format (MIME type)', ...opts('FORMAT') }),
        ],
      },
    ],
  };
}

async function readParams(request: FastifyRequest): Promise<DaliParams> {
  const params = new DaliParams().add(request.query);
  if (request.method !== 'POST') return params;
  if (request.isMultipart()) {
    for await (const part of request.parts()) {
      if (part.type === 'field') params.push(part.fieldname, String(part.value));
      else part.file.resume();
    }
  } else {
    params.add(request.body);
  }
  return params;
}

/** DALI error VOTable, message starting with the SIA fault label (SIA-70/71). */
function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown) {
  let status: number;
  let message: string;
  if (err instanceof ParamError || (err instanceof DaliError && err.status < 500)) {
    status = 400;
    message = `UsageFault: ${err.message}`;
  } else if (malformedBodyMessage(err)) {
    status = 400;
    message = `UsageFault: ${malformedBodyMessage(err)}`;
  } else if ((err as { code?: string }).code === '57014') {
    status = 503;
    message = 'TransientFault: the query took longer than the time limit; narrow the constraints';
  } else {
    if (err instanceof ServiceBusy) throw err; // 503 + Retry-After by the app's error handler
    status = 500;
    message = `FatalFault: ${reportInternalError(request.log, err, 'SIA query failed')}`;
  }
  return reply.status(status).type(VOTABLE_ERROR_TYPE).send(errorDocument(message));
}
