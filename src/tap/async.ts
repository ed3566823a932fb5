import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import { AdqlError, type CatalogueTable, type CompiledQuery } from '../../adql/index.js';
import { copyFormatFor, encode, errorDocument } from '../../votable/index.js';
import { ANONYMOUS, type Identity } from '../auth/index.js';
import type { CatalogueSource } from '../catalogue/index.js';
import { DaliError, DaliParams } from '../dali/index.js';
import { hasNul, NulInputError } from '../errors/index.js';
import {
  type JobContext,
  JobFailure,
  type JobFiles,
  type JobOutcome,
  type JobParameter,
  type JobRunner,
  UwsError,
} from '../uws/index.js';
import { resultAnnotations } from './annotations.js';
import type { TapLimits } from './capability.js';
import { adqlErrorInfos, compileAdql } from './compile.js';
import type { StatusSpool } from './copy.js';
import { executeQuery, QueryStopped } from './execute.js';
import { parseTapRequest, type UploadSpec } from './request.js';
import { loadUpload, type UploadLimits, UploadSpool, usesStoredUploadScheme } from './upload.js';

/**
 * The groups of the job's owner travel with the job in this parameter, so the query runs
 * with the rights of whoever created it, in whichever process picks it up. Clients can
 * never set it: parseTapJobParameters drops any value they send.
 */
const GROUPS_PARAM = 'VONODE_OWNER_GROUPS';
/**
 * Whether the result carries a MIVOT annotation, decided by the node that accepts the job
 * (VONODE_MIVOT), not by whichever process of the shared queue runs it.
 */
const MIVOT_PARAM = 'VONODE_MIVOT';
/** Inline uploads of an async job are kept on disk under this scheme until the job runs. */
const STORED_UPLOAD = 'vonode-upload:';

export interface TapAsyncOptions {
  readonly pool: pg.Pool;
  /** The node's public URL: DataLink descriptors in results point at its /datalink/links. */
  readonly baseUrl: string;
  readonly limits: TapLimits;
  readonly uploadLimits: UploadLimits;
  /** The published tables; a job compiles against what its owner may see when it runs. */
  readonly catalogues: CatalogueSource;
  /** Where inline uploads wait for their job; they belong to it and go with it (issue 13). */
  readonly files: JobFiles;
  /**
   * Where a result beyond the read-ahead is kept until it ends, so OVERFLOW leads the stored
   * result too (issue 19; src/tap/copy.ts). Absent: the status follows the table.
   */
  readonly statusSpool?: () => StatusSpool | undefined;
  /** Where unexpected failures are reported (the client sees a generic message). */
  readonly logError?: (err: unknown, jobId: string) => void;
  /**
   * Saves a job's result as a user table instead of writing it to the result store, when
   * the job has the parameter SAVE_AS_TABLE (src/usertables/save-result.ts; given by the
   * node, so this module does not depend on user tables). Refusals are DaliErrors.
   */
  readonly saveResult?: (req: SaveResultRequest) => Promise<{ tableName: string; nrows: number }>;
}

/** The job parameter naming the user table a result is saved as (vonode's own, docs/user-tables.md). */
export const SAVE_AS_TABLE_PARAM = 'SAVE_AS_TABLE';

export interface SaveResultRequest {
  readonly identity: Identity;
  readonly tableName: string;
  readonly query: string;
  readonly build: (client: pg.PoolClient, maxrec: number) => Promise<CompiledQuery>;
  readonly timeoutSeconds: number;
  /** The job's MAXREC when the client gave one. */
  readonly maxrec?: number;
}

/** UWS parameters from a TAP request: query string, form or multipart with inline uploads kept for the run. */
export function tapJobParameters(opts: TapAsyncOptions) {
  return async (request: FastifyRequest, job: { readonly id: string }): Promise<JobParameter[]> => {
    const out: JobParameter[] = [];
    const push = (id: string, value: string) => {
      if (id.toUpperCase() === GROUPS_PARAM || id.toUpperCase() === MIVOT_PARAM) return;
      // Multipart fields reach no other NUL check; PostgreSQL cannot store one (issue 13).
      if (hasNul(id) || hasNul(value))
        throw new UwsError(400, new NulInputError(`the parameter ${id}`).message);
      if (id.toUpperCase() === 'UPLOAD' && usesStoredUploadScheme(value)) {
        throw new UwsError(400, `UPLOAD may not use the ${STORED_UPLOAD} scheme`);
      }
      out.push({ id, value });
    };
    for (const [k, v] of new DaliParams().add(request.query).entries()) push(k, v);
    const parts = new Map<string, string>();
    if (request.isMultipart()) {
      for await (const part of request.parts()) {
        if (part.type === 'file') {
          // TAP-51: as many files as tables may be uploaded, each within the byte limit.
          if (parts.size >= opts.uploadLimits.maxTables) {
            part.file.resume();
            throw new UwsError(400, `more than ${opts.uploadLimits.maxTables} uploaded files in one request`);
          }
          const max = opts.uploadLimits.maxBytes;
          parts.set(
            part.fieldname,
            await opts.files.write(job.id, part.file, max, `the uploaded file '${part.fieldname}'`),
          );
        } else push(part.fieldname.toUpperCase(), String(part.value));
      }
    } else {
      for (const [k, v] of new DaliParams().add(request.body).entries()) push(k, v);
    }
    // param:<part> references become references to the stored copy of that part (TAP-47).
    for (const p of out) {
      if (p.id.toUpperCase() !== 'UPLOAD') continue;
      const rewritten = p.value
        .split(';')
        .map((item) => {
          const m = /^\s*([^,]+),param:(.+?)\s*$/.exec(item);
          if (!m) return item;
          const stored = parts.get(m[2]);
          if (!stored)
            throw new UwsError(
              400,
              `UPLOAD '${m[1]}' refers to the part '${m[2]}', which is not in the request`,
            );
          return `${m[1]},${STORED_UPLOAD}${stored}`;
        })
        .join(';');
      (p as { value: string }).value = rewritten;
    }
    const identity = request.identity ?? ANONYMOUS;
    if (identity.groups.length > 0) out.push({ id: GROUPS_PARAM, value: identity.groups.join(' ') });
    if (opts.limits.mivot) out.push({ id: MIVOT_PARAM, value: 'on' });
    return out;
  };
}

/** The UWS runner of TAP jobs: the same query path as /tap/sync, writing into the result store. */
export function tapJobRunner(opts: TapAsyncOptions): JobRunner {
  return async (job: JobContext, signal: AbortSignal): Promise<JobOutcome> => {
    const params = new DaliParams();
    for (const p of job.parameters)
      if (p.id.toUpperCase() !== GROUPS_PARAM && p.id.toUpperCase() !== MIVOT_PARAM)
        params.push(p.id, p.value);
    const identity: Identity = job.owner
      ? { sub: job.owner, groups: (job.parameter(GROUPS_PARAM) ?? '').split(' ').filter((g) => g) }
      : ANONYMOUS;
    const spool = new UploadSpool(opts.uploadLimits);
    try {
      let tap: ReturnType<typeof parseTapRequest>;
      try {
        tap = parseTapRequest(params, opts.limits, [STORED_UPLOAD]);
      } catch (err) {
        throw failure(err);
      }
      const files = new Map<UploadSpec, { path: string; bytes: number }>();
      for (const u of tap.uploads) {
        if (u.source.kind === 'url' && u.source.url.protocol === STORED_UPLOAD) {
          // Only this job's own folder is looked in: no UPLOAD can name another job's file.
          let path: string;
          try {
            path = opts.files.path(job.id, u.source.url.pathname);
          } catch {
            throw failure(new DaliError(`the upload '${u.name}' is not a stored upload of this job`));
          }
          if (!existsSync(path))
            throw failure(new DaliError(`the upload '${u.name}' of this job is no longer available`));
          files.set(u, { path, bytes: 0 });
        } else if (u.source.kind === 'url') {
          await spool.addUrl(u.source.url).catch((e) => {
            throw failure(e);
          });
          files.set(u, spool.fileFor(u));
        }
      }
      const build = async (client: pg.PoolClient, maxrec: number) => {
        const uploaded: CatalogueTable[] = [];
        for (const [i, u] of tap.uploads.entries()) {
          uploaded.push(await loadUpload(client, u, files.get(u)!, opts.uploadLimits, i));
        }
        return compileAdql(tap.query, opts.catalogues.view(identity).adql, uploaded, { maxrec });
      };
      const timeoutSeconds =
        job.executionDuration > 0 ? job.executionDuration : opts.limits.asyncDurationHard;
      const saveAs = params.get(SAVE_AS_TABLE_PARAM);
      if (saveAs !== undefined) {
        if (!opts.saveResult)
          throw failure(new DaliError(`${SAVE_AS_TABLE_PARAM} is not offered by this node`));
        let saved: { tableName: string; nrows: number };
        try {
          saved = await opts.saveResult({
            identity,
            tableName: saveAs,
            query: tap.query,
            build,
            timeoutSeconds,
            ...(params.has('MAXREC') ? { maxrec: tap.maxrec } : {}),
          });
        } catch (err) {
          if (!isExpected(err)) opts.logError?.(err, job.id);
          throw failure(err);
        }
        // The result is the saved table's name and size; its rows stay on the server.
        const summary = encode(tap.format.format, {
          fields: [
            { name: 'table_name', datatype: 'char', arraysize: '*', ucd: 'meta.id;meta.table' },
            { name: 'nrows', datatype: 'long', ucd: 'meta.number' },
          ],
          rows: (async function* () {
            yield [saved.tableName, saved.nrows] as const;
          })(),
          leadingStatus: 'OK',
          trailingStatus: () => undefined,
          infos: [
            { name: 'standardID', value: 'ivo://ivoa.net/std/TAP' },
            { name: 'QUERY', value: tap.query },
            { name: SAVE_AS_TABLE_PARAM, value: saved.tableName },
          ],
        });
        await job.addResult('result', Readable.from(summary), tap.format.contentType);
        return undefined;
      }
      let result: Awaited<ReturnType<typeof executeQuery>>;
      try {
        result = await executeQuery(opts.pool, (client) => build(client, tap.maxrec), {
          identity,
          maxrec: tap.maxrec,
          timeoutSeconds,
          signal,
          copyFormat: copyFormatFor(tap.format.format),
          ...(opts.statusSpool ? { statusSpool: opts.statusSpool } : {}),
        });
      } catch (err) {
        if (!isExpected(err)) opts.logError?.(err, job.id);
        throw failure(err);
      }
      const body = encode(
        tap.format.format,
        {
          fields: result.fields,
          rows: result.rows,
          copy: result.copy,
          leadingStatus: result.leadingStatus,
          trailingStatus: result.trailingStatus,
          ...resultAnnotations(result, tap.format.format, opts.baseUrl, job.parameter(MIVOT_PARAM) === 'on'),
          infos: [
            { name: 'standardID', value: 'ivo://ivoa.net/std/TAP' },
            { name: 'QUERY', value: tap.query },
            { name: 'MAXREC', value: String(tap.maxrec) },
          ],
        },
        { parquetRowGroupRows: opts.limits.parquetRowGroupRows },
      );
      try {
        // TAP-8: the single result of an ADQL query is named 'result'.
        await job.addResult('result', Readable.from(body), tap.format.contentType);
      } finally {
        await result.close();
      }
      return undefined;
    } finally {
      // The job's own uploads stay until the job ends (a run handed back at shutdown runs
      // again); the UWS service removes them then.
      await spool.dispose();
    }
  };
}

function isExpected(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return (
    err instanceof DaliError ||
    err instanceof AdqlError ||
    err instanceof QueryStopped ||
    (typeof code === 'string' && /^(22|42|2F|54)/.test(code))
  );
}

/** A failed run: the message for errorSummary, a DALI error VOTable for /error (TAP-10, TAP-40). */
function failure(err: unknown): JobFailure {
  if (err instanceof JobFailure) return err;
  let message: string;
  if (err instanceof DaliError || err instanceof AdqlError || err instanceof QueryStopped)
    message = err.message;
  else if (
    typeof (err as { code?: string }).code === 'string' &&
    /^(22|42|2F|54)/.test((err as { code: string }).code)
  ) {
    message = `the query failed in the database: ${(err as Error).message}`;
  } else {
    message = 'the query failed inside the service; the problem has been logged';
  }
  return new JobFailure({
    message,
    type: 'fatal',
    detail: {
      mime: 'application/x-votable+xml',
      body: errorDocument(message, err instanceof AdqlError ? adqlErrorInfos(err) : []),
    },
  });
}
