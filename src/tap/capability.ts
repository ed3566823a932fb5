import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { type Capability, STANDARD_ID } from '../../registry/index.js';

/** The limits a TAP service states in its capability (REG-23, REG-24) and enforces. */
export interface TapLimits {
  readonly maxrecDefault: number;
  readonly maxrecHard: number;
  readonly syncTimeoutSeconds: number;
  readonly asyncDurationDefault: number;
  readonly asyncDurationHard: number;
  readonly retentionDefault: number;
  readonly retentionHard: number;
  readonly uploadMaxBytes: number;
  readonly uploadMaxRows: number;
  /** Rows per Parquet row group: what one Parquet result holds in memory at a time. */
  readonly parquetRowGroupRows?: number;
  /** MIVOT annotations in VOTable results (VONODE_MIVOT). */
  readonly mivot?: boolean;
}

export interface LanguageFeatureSet {
  readonly type: string;
  readonly forms: readonly string[];
}

/** Output formats: MIME type as the client may send it, short aliases, TAPRegExt ivo-id (REG-21). */
export const OUTPUT_FORMATS: ReadonlyArray<{ mime: string; aliases: string[]; ivoId?: string }> = [
  {
    mime: 'application/x-votable+xml;serialization=BINARY2',
    aliases: ['votable', 'votable/b2'],
    ivoId: 'ivo://ivoa.net/std/TAPRegExt#output-votable-binary2',
  },
  {
    mime: 'application/x-votable+xml;serialization=TABLEDATA',
    aliases: ['votable/td'],
    ivoId: 'ivo://ivoa.net/std/TAPRegExt#output-votable-td',
  },
  {
    mime: 'application/x-votable+xml;serialization=BINARY',
    aliases: ['votable/b'],
    ivoId: 'ivo://ivoa.net/std/TAPRegExt#output-votable-binary',
  },
  { mime: 'text/xml', aliases: [] },
  { mime: 'text/csv;header=present', aliases: ['csv'] },
  { mime: 'text/tab-separated-values', aliases: ['tsv'] },
  { mime: 'application/json', aliases: ['json'] },
  { mime: 'application/fits', aliases: ['fits'] },
  // DALI 1.2's Parquet type and alias; VOParquet (the VOTable metadata in the footer).
  { mime: 'application/vnd.apache.parquet', aliases: ['parquet'] },
];

/**
 * The limits per mode, in words. TAPRegExt 1.0 (the REC, whose schema taplint and the
 * Registry validate against) has one retentionPeriod, executionDuration, outputLimit and
 * uploadLimit per capability, for both modes; the forMode attribute that tells sync from
 * async limits is in TAPRegExt 1.1, still a Working Draft (2026-06-03), and a 1.0 schema
 * rejects it. So the elements state what holds in both modes (outputLimit, uploadLimit) or
 * only for jobs (retentionPeriod, executionDuration), and the capability's description says
 * what differs for /sync.
 */
export function limitsDescription(limits: TapLimits): string {
  return (
    `Limits per mode. Synchronous queries (/sync) run at most ${limits.syncTimeoutSeconds} s, ` +
    'a limit they cannot raise, and their results are not kept. ' +
    `Asynchronous jobs (/async) run ${limits.asyncDurationDefault} s unless EXECUTIONDURATION asks for up to ` +
    `${limits.asyncDurationHard} s, and are kept ${limits.retentionDefault} s unless DESTRUCTION asks for up to ` +
    `${limits.retentionHard} s (the executionDuration and retentionPeriod given here are those of jobs). ` +
    `In both modes a result has ${limits.maxrecDefault} rows unless MAXREC asks for up to ${limits.maxrecHard}, ` +
    `and an upload may have ${limits.uploadMaxBytes} bytes and ${limits.uploadMaxRows} rows per table.`
  );
}

/** The tr:TableAccess capability (TAP-65, REG-17..REG-24), children in the schema's order. */
export function tapCapability(
  tapUrl: string,
  limits: TapLimits,
  features: readonly LanguageFeatureSet[],
): Capability {
  return {
    standardID: STANDARD_ID.tap,
    type: 'tr:TableAccess',
    description: limitsDescription(limits),
    interfaces: [
      { type: 'vs:ParamHTTP', role: 'std', version: '1.1', accessUrls: [{ url: tapUrl, use: 'base' }] },
    ],
    extension: (cap: XMLBuilder) => {
      cap.ele('', 'dataModel', { 'ivo-id': 'ivo://ivoa.net/std/ObsCore#core-1.1' }).txt('ObsCore-1.1');
      const lang = cap.ele('', 'language');
      lang.ele('', 'name').txt('ADQL');
      lang.ele('', 'version', { 'ivo-id': 'ivo://ivoa.net/std/ADQL#v2.1' }).txt('2.1');
      lang.ele('', 'version', { 'ivo-id': 'ivo://ivoa.net/std/ADQL#v2.0' }).txt('2.0');
      lang
        .ele('', 'description')
        .txt('ADQL 2.1, compiled to PostgreSQL; spatial predicates use a HEALPix index');
      for (const set of features) {
        const lf = lang.ele('', 'languageFeatures', { type: set.type });
        for (const form of set.forms) lf.ele('', 'feature').ele('', 'form').txt(form);
      }
      for (const f of OUTPUT_FORMATS) {
        const of = cap.ele('', 'outputFormat', f.ivoId ? { 'ivo-id': f.ivoId } : {});
        of.ele('', 'mime').txt(f.mime);
        for (const a of f.aliases) of.ele('', 'alias').txt(a);
      }
      for (const m of ['upload-inline', 'upload-http', 'upload-https']) {
        cap.ele('', 'uploadMethod', { 'ivo-id': `ivo://ivoa.net/std/TAPRegExt#${m}` });
      }
      const retention = cap.ele('', 'retentionPeriod');
      retention.ele('', 'default').txt(String(limits.retentionDefault));
      retention.ele('', 'hard').txt(String(limits.retentionHard));
      const duration = cap.ele('', 'executionDuration');
      duration.ele('', 'default').txt(String(limits.asyncDurationDefault));
      duration.ele('', 'hard').txt(String(limits.asyncDurationHard));
      const output = cap.ele('', 'outputLimit');
      output.ele('', 'default', { unit: 'row' }).txt(String(limits.maxrecDefault));
      output.ele('', 'hard', { unit: 'row' }).txt(String(limits.maxrecHard));
      const upload = cap.ele('', 'uploadLimit');
      upload.ele('', 'hard', { unit: 'byte' }).txt(String(limits.uploadMaxBytes));
    },
  };
}

export const DEFAULT_TAP_LIMITS: TapLimits = {
  maxrecDefault: 100_000,
  maxrecHard: 50_000_000,
  syncTimeoutSeconds: 300,
  asyncDurationDefault: 3600,
  asyncDurationHard: 4 * 3600,
  retentionDefault: 7 * 86400,
  retentionHard: 30 * 86400,
  uploadMaxBytes: 512 * 1024 * 1024,
  uploadMaxRows: 10_000_000,
  parquetRowGroupRows: 100_000,
};
