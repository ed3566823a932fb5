import { once } from 'node:events';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { SkyRegion } from '../../sky/wcs/index.js';
import { ANONYMOUS, type Identity } from '../auth/index.js';
import { DaliParams } from '../dali/index.js';
import { heldElsewhere, lookupProduct } from '../datalink/index.js';
import { FitsFile } from '../fits/index.js';
import { ParamError, POL_LABELS, parseCircle, parseInterval, parsePolygon, parsePos } from '../sia/index.js';
import {
  FileResultStore,
  type JobContext,
  JobFailure,
  type JobParameter,
  type JobRunner,
  UwsService,
  uwsRoutes,
} from '../uws/index.js';
import { planCutout, type SodaFilters } from './plan.js';
import { streamCutout } from './read.js';
import { DEFAULT_SODA_LIMITS, imageHdu } from './sync.js';

/**
 * The owner's groups travel with the job so the cutouts are made with the creator's rights
 * in whichever process runs it; a client can never set it (dropped from requests).
 */
const GROUPS_PARAM = 'VONODE_OWNER_GROUPS';

export interface SodaAsyncLimits {
  /** Most results (combinations of ID × region × BAND × TIME, SODA-32) of one job. */
  readonly maxCombinations: number;
  /** Largest single read from a file, bytes. */
  readonly maxReadBytes: number;
  /** Jobs run at once in this process. */
  readonly concurrency: number;
}

export const DEFAULT_SODA_ASYNC_LIMITS: SodaAsyncLimits = {
  maxCombinations: 100,
  maxReadBytes: DEFAULT_SODA_LIMITS.maxReadBytes,
  concurrency: 2,
};

export interface SodaAsyncDeps {
  readonly pool: pg.Pool;
  /** Results are kept under <dataDir>/soda-results. */
  readonly dataDir: string;
  /** External URL of /soda/async when behind a proxy (else taken from each request). */
  readonly jobListUrl?: string;
  readonly limits?: Partial<SodaAsyncLimits>;
}

interface Combination {
  id: string;
  filters: SodaFilters;
}

/** Every combination of the job's parameter values (SODA-32): POL is one filter for all. */
export function sodaCombinations(job: Pick<JobContext, 'parameterValues'>, max: number): Combination[] {
  try {
    const ids = job.parameterValues('ID');
    if (ids.length === 0) throw new ParamError('ID is required (the obs_publisher_did of the dataset)');
    const regions: (SkyRegion | undefined)[] = [
      ...job.parameterValues('POS').map((v) => parsePos(v)),
      ...job.parameterValues('CIRCLE').map((v) => parseCircle(v)),
      ...job.parameterValues('POLYGON').map((v) => parsePolygon(v)),
    ];
    if (regions.length === 0) regions.push(undefined);
    const bands: ([number, number] | undefined)[] = job
      .parameterValues('BAND')
      .map((v) => parseInterval(v, 'BAND'));
    if (bands.length === 0) bands.push(undefined);
    const times: ([number, number] | undefined)[] = job
      .parameterValues('TIME')
      .map((v) => parseInterval(v, 'TIME'));
    if (times.length === 0) times.push(undefined);
    const pol = job.parameterValues('POL');
    for (const p of pol) {
      if (!POL_LABELS.includes(p))
        throw new ParamError(`POL='${p}' is not a polarisation state; use one of ${POL_LABELS.join(', ')}`);
    }
    const count = ids.length * regions.length * bands.length * times.length;
    if (count > max) {
      throw new ParamError(`the job would make ${count} cutouts; at most ${max} are made per job, split it`);
    }
    const out: Combination[] = [];
    for (const id of ids)
      for (const region of regions)
        for (const band of bands)
          for (const time of times) {
            const filters: SodaFilters = {};
            if (region) filters.region = region;
            if (band) filters.band = band;
            if (time) filters.time = time;
            if (pol.length > 0) filters.pol = pol;
            out.push({ id, filters });
          }
    return out;
  } catch (err) {
    if (err instanceof ParamError) throw new JobFailure({ message: `UsageError: ${err.message}` });
    throw err;
  }
}

function textResult(text: string): Readable {
  return Readable.from([Buffer.from(`${text}\n`)]);
}

/** The job runner: one FITS result per combination, a text/plain error label where none can be made. */
export function sodaJobRunner(pool: pg.Pool, limits: SodaAsyncLimits): JobRunner {
  return async (job, signal) => {
    const identity: Identity = job.owner
      ? { sub: job.owner, groups: (job.parameter(GROUPS_PARAM) ?? '').split(' ').filter((g) => g) }
      : ANONYMOUS;
    const combinations = sodaCombinations(job, limits.maxCombinations);
    for (const [i, c] of combinations.entries()) {
      if (signal.aborted) return undefined;
      const name = `cutout-${i + 1}`;
      const found = await lookupProduct(pool, identity, c.id);
      if (found.status === 'not-found') {
        await job.addResult(name, textResult(`UsageError: no dataset has ID ${c.id}`), 'text/plain');
        continue;
      }
      if (found.status === 'forbidden') {
        const label = identity.sub === null ? 'AuthenticationError' : 'AuthorizationError';
        await job.addResult(
          name,
          textResult(`${label}: ${c.id} is proprietary and the job owner may not read it`),
          'text/plain',
        );
        continue;
      }
      const elsewhere = heldElsewhere(found.product);
      if (elsewhere) {
        await job.addResult(
          name,
          textResult(`UsageError: this SODA cannot cut it: ${elsewhere}`),
          'text/plain',
        );
        continue;
      }
      const file = await FitsFile.open(found.product.filePath);
      try {
        const hdu = await imageHdu(file);
        const plan = planCutout(hdu, found.product, c.filters);
        if ('empty' in plan) {
          // SODA-32: a combination without overlap still gets an entry, an error text.
          await job.addResult(
            name,
            textResult(`Error: no pixel of ${c.id} matches: ${plan.empty}`),
            'text/plain',
          );
          continue;
        }
        const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
        const sink = {
          async write(chunk: Uint8Array) {
            if (signal.aborted) throw new Error('job aborted');
            if (!stream.write(chunk)) await once(stream, 'drain');
          },
        };
        const stored = job.addResult(name, stream, 'application/fits');
        try {
          await streamCutout(file, hdu, plan.box, sink, {
            signal,
            history: plan.history,
            maxReadBytes: limits.maxReadBytes,
          });
          stream.end();
        } catch (err) {
          stream.destroy(err instanceof Error ? err : new Error(String(err)));
          await stored.catch(() => undefined);
          throw err;
        }
        await stored;
      } finally {
        await file.close();
      }
    }
    return undefined;
  };
}

/** Job parameters as sent, minus the rights parameter a client might try to set, plus the owner's groups. */
function jobParameters(request: FastifyRequest): JobParameter[] {
  const params = new DaliParams().add(request.query).add(request.body);
  const out: JobParameter[] = params
    .entries()
    .filter(([name]) => name !== GROUPS_PARAM)
    .map(([id, value]) => ({ id, value }));
  const identity = request.identity ?? ANONYMOUS;
  if (identity.groups.length > 0) out.push({ id: GROUPS_PARAM, value: identity.groups.join(' ') });
  return out;
}

/**
 * SODA 1.0 `{async}` at /soda/async: UWS jobs (src/uws) whose results are the cutouts of
 * every parameter combination. Starts its job service; it stops when the app closes.
 */
export async function registerSodaAsync(app: FastifyInstance, deps: SodaAsyncDeps): Promise<void> {
  const limits = { ...DEFAULT_SODA_ASYNC_LIMITS, ...deps.limits };
  const service = new UwsService({
    pool: deps.pool,
    resultStore: new FileResultStore(join(deps.dataDir, 'soda-results')),
    runners: { soda: sodaJobRunner(deps.pool, limits) },
    limits: { concurrency: limits.concurrency },
    logger: app.log,
  });
  await service.start();
  app.addHook('onClose', async () => {
    await service.stop();
  });
  await app.register(uwsRoutes, {
    prefix: '/soda/async',
    service,
    kind: 'soda',
    identify: (request) => ({ owner: request.identity?.sub ?? null }),
    parseJobParameters: jobParameters,
    multiValuedParameters: ['ID', 'POS', 'CIRCLE', 'POLYGON', 'BAND', 'TIME', 'POL'],
    ...(deps.jobListUrl ? { baseUrl: deps.jobListUrl } : {}),
  });
}
