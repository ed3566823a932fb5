import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, test } from 'vitest';
import { startTestNode } from '../support/node.js';
import { xsdErrors } from '../support/xsd.js';

// Issue 19 item 3: the TAPRegExt limits in /tap/capabilities are the node's configured
// VONODE_* limits (REG-23, REG-24), and what differs between sync and async is said where
// TAPRegExt 1.0 lets it be said: the capability's description (1.0 has no forMode).

const nodes: Array<Awaited<ReturnType<typeof startTestNode>>> = [];
afterAll(async () => {
  for (const n of nodes) await n.stop();
});

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true });

interface Limit {
  default?: string | { '#text': string; unit: string };
  hard?: string | { '#text': string; unit: string };
}

async function tapCapability(env: Record<string, string>) {
  const node = await startTestNode(env);
  nodes.push(node);
  const text = await (await fetch(`${node.url}/tap/capabilities`)).text();
  const caps = [xml.parse(text).capabilities.capability].flat() as Array<Record<string, unknown>>;
  const tap = caps.find((c) => c.standardID === 'ivo://ivoa.net/std/TAP')!;
  return { node, text, tap };
}

const value = (x: Limit['default']) => (typeof x === 'object' ? Number(x['#text']) : Number(x));
const unit = (x: Limit['default']) => (typeof x === 'object' ? x.unit : undefined);

// The environment each node starts with, and the limits it must advertise, read off it.
const CASES: Array<[label: string, env: Record<string, string>]> = [
  ['defaults', {}],
  [
    'changed settings',
    {
      VONODE_TAP_MAXREC: '7',
      VONODE_TAP_MAXREC_HARD: '20',
      VONODE_TAP_SYNC_TIMEOUT: '42',
      VONODE_TAP_ASYNC_DURATION: '120,900',
      VONODE_TAP_RETENTION: '3600,7200',
      VONODE_UPLOAD_MAX_BYTES: '2000000',
      VONODE_UPLOAD_MAX_ROWS: '5000',
    },
  ],
];

/** The documented defaults of each setting (src/config's table), for the node started without them. */
const DEFAULTS: Record<string, string> = {
  VONODE_TAP_MAXREC: '100000',
  VONODE_TAP_MAXREC_HARD: '50000000',
  VONODE_TAP_SYNC_TIMEOUT: '300',
  VONODE_TAP_ASYNC_DURATION: '3600,14400',
  VONODE_TAP_RETENTION: '604800,2592000',
  VONODE_UPLOAD_MAX_BYTES: '536870912',
  VONODE_UPLOAD_MAX_ROWS: '10000000',
};

describe.each(CASES)('%s', (_label, env) => {
  test('the advertised limits are the configured ones, per mode', async () => {
    const { node, text, tap } = await tapCapability(env);
    expect(xsdErrors(text)).toBe('');
    const setting = (name: string) => env[name] ?? DEFAULTS[name];
    const [durationDefault, durationHard] = setting('VONODE_TAP_ASYNC_DURATION').split(',').map(Number);
    const [retentionDefault, retentionHard] = setting('VONODE_TAP_RETENTION').split(',').map(Number);

    const output = tap.outputLimit as Limit;
    expect([value(output.default), unit(output.default)]).toEqual([
      Number(setting('VONODE_TAP_MAXREC')),
      'row',
    ]);
    expect([value(output.hard), unit(output.hard)]).toEqual([
      Number(setting('VONODE_TAP_MAXREC_HARD')),
      'row',
    ]);
    const duration = tap.executionDuration as Limit;
    expect([value(duration.default), value(duration.hard)]).toEqual([durationDefault, durationHard]);
    const retention = tap.retentionPeriod as Limit;
    expect([value(retention.default), value(retention.hard)]).toEqual([retentionDefault, retentionHard]);
    const upload = tap.uploadLimit as Limit;
    expect([value(upload.hard), unit(upload.hard)]).toEqual([
      Number(setting('VONODE_UPLOAD_MAX_BYTES')),
      'byte',
    ]);

    // TAPRegExt 1.0 has one value per limit: the sync-only one is stated in the description.
    const description = String(tap.description);
    expect(description).toContain(
      `Synchronous queries (/sync) run at most ${setting('VONODE_TAP_SYNC_TIMEOUT')} s`,
    );
    expect(description).toContain(`up to ${durationHard} s`);
    expect(description).toContain(`${setting('VONODE_UPLOAD_MAX_ROWS')} rows per table`);

    // And the node does what it says: no MAXREC gets the default, a larger one the hard limit.
    if (env.VONODE_TAP_MAXREC) {
      const rowsFor = async (maxrec?: number) => {
        const body = new URLSearchParams({
          LANG: 'ADQL',
          QUERY: 'SELECT source_id FROM demo.sources',
          RESPONSEFORMAT: 'csv',
        });
        if (maxrec !== undefined) body.set('MAXREC', String(maxrec));
        const text = await (await fetch(`${node.url}/tap/sync`, { method: 'POST', body })).text();
        return text.trim().split(/\r?\n/).length - 1;
      };
      expect(await rowsFor()).toBe(Number(env.VONODE_TAP_MAXREC));
      expect(await rowsFor(1000)).toBe(Number(env.VONODE_TAP_MAXREC_HARD));
    }
  }, 180000);
});
