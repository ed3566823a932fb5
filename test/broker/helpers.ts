import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { expect } from 'vitest';
import { testDataDir } from '../support/db.js';

/** A JSON or YAML document under test, walked freely by the assertions. */
// biome-ignore lint/suspicious/noExplicitAny: documents under test are checked field by field at run time
export type Doc = any;

export interface Product {
  did: string;
  path: string;
  owner: string | null;
}

/**
 * Demo products (collection ska-demo: other tests ingest their own) as the database holds them
 * (read with maintenance rights, as the broker does), their files resolved as the test nodes
 * resolve them: below their products root (sql/170), by default the run's shared data folder.
 */
export async function demoProducts(databaseUrl: string, productsRoot = testDataDir()): Promise<Product[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('BEGIN');
    await db.query("SELECT set_config('vonode.maintenance', 'on', true)");
    await db.query("SELECT set_config('vonode.products_root', $1, true)", [productsRoot]);
    const r = await db.query<{ did: string; path: string; owner: string | null }>(
      `SELECT obs_publisher_did AS did, ivoa.product_file(file_path) AS path,
              CASE WHEN obs_release_date > now() THEN owner_group END AS owner
         FROM ivoa.obscore WHERE file_path IS NOT NULL AND obs_collection = 'ska-demo' ORDER BY access_estsize NULLS LAST, obs_publisher_did`,
    );
    await db.query('ROLLBACK');
    return r.rows;
  } finally {
    await db.end();
  }
}

/** The statistics of cutout-stats computed independently with astropy and numpy. */
export function referenceStats(
  path: string,
  size: number,
): { min: number; max: number; mean: number; rms: number; finite: number } {
  const script = `
import json, math, sys
import numpy as np
from astropy.io import fits
with fits.open(sys.argv[1], memmap=False) as hl:
    hdu = next(h for h in hl if h.data is not None and h.data.ndim >= 2)
    d = np.asarray(hdu.data, dtype=np.float64)
size = int(sys.argv[2])
sl = []
for i, n in enumerate(reversed(d.shape)):   # FITS axis order: NAXIS1 first
    if i < 2:
        w = min(size, n); lo = (n - w) // 2
        sl.append(slice(lo, lo + w))
    else:
        c = math.ceil(n / 2) - 1
        sl.append(slice(c, c + 1))
cut = d[tuple(reversed(sl))]
f = cut[np.isfinite(cut)]
print(json.dumps({"min": float(f.min()), "max": float(f.max()), "mean": float(f.mean()),
                  "rms": float(np.sqrt(np.mean(f * f))), "finite": int(f.size)}))
`;
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script, path, String(size)], { encoding: 'utf8' }),
  );
}

export function closeTo(actual: number, expected: number, rel = 1e-9): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

export class BrokerClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: Doc;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, headers: res.headers };
  }

  /** Path of a document URL the node wrote with its public base URL. */
  static path(url: string): string {
    return url.slice(url.indexOf('/broker/'));
  }

  setPhase(uuid: string, value: string) {
    return this.call('POST', `/broker/sessions/${uuid}`, {
      kind: 'uri:enum-value-update',
      path: 'phase',
      value,
    });
  }

  /** Polls a session until its phase is one of `phases`; the cap only guards against a hang. */
  async waitFor(uuid: string, phases: string[], maxPolls = 600): Promise<Doc> {
    let doc: Doc;
    for (let i = 0; i < maxPolls; i++) {
      doc = (await this.call('GET', `/broker/sessions/${uuid}`)).json;
      if (phases.includes(doc?.phase)) return doc;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `session ${uuid} stayed ${doc?.phase}; wanted ${phases.join('|')}: ${JSON.stringify(doc?.meta?.messages)}`,
    );
  }
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export const PIPELINE = 'urn:vonode:broker:types:executable:pipeline-1.0';
export const IVOA_DATA = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/data/ivoa-data-resource-1.0';
