import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';
import { BrokerClient, type Doc, demoProducts, IVOA_DATA, PIPELINE, type Product } from './helpers.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

/**
 * Issue 21 item 1 on the local backend: what a session is granted is what its work gets.
 * Cores are a control group's CPU quota (EB-40), storage a watched quota on the work folder
 * (EB-42), and a site pipeline sees none of the node's folders, only its products (EB-34).
 * Root is needed to make control groups and namespaces; as another user the node runs
 * pipelines as itself, with CPU seconds as the only core limit, and says so (cpuLimit).
 */
const root = process.getuid?.() === 0;

/**
 * Two busy loops for 3 s, then the wall time, the CPU time of both (the shell's `times`,
 * not in a pipeline: a subshell has no children) and the CPU quota of the job's own group.
 */
const SPIN = `g=$(grep -E '^[0-9]+:(cpu|cpu,cpuacct):' /proc/self/cgroup | cut -d: -f3)
if [ -n "$g" ]; then echo "quota=$(cat /sys/fs/cgroup/cpu$g/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu$g/cpu.cfs_period_us)";
else echo "quota=$(cat /sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/cpu.max)"; fi
t0=$(date +%s%N)
( while :; do :; done ) & a=$!
( while :; do :; done ) & b=$!
sleep 3
kill $a $b
wait
t1=$(date +%s%N)
echo "wall_ns=$((t1 - t0))"
times`;

/** Writes 64 MiB files into the output folder until 20 of them (1.25 GiB) are there, then waits. */
const FILL = `i=0
while [ $i -lt 20 ]; do head -c 67108864 /dev/zero > "$1/part$i" || exit 9; i=$((i+1)); done
sleep 60`;

/** For each path: whether the pipeline can read it (a file) or list it (a folder). */
const PROBE = `for p in "$@"; do
  if [ -d "$p" ]; then n=$(ls -A "$p" 2>/dev/null | wc -l); echo "$p dir entries=$n";
  elif cat "$p" >/dev/null 2>&1; then echo "$p readable"; else echo "$p unreadable"; fi
done`;

const PIPELINES = JSON.stringify([
  { name: 'spin', command: ['/bin/sh', '-c', SPIN] },
  { name: 'fill', command: ['/bin/sh', '-c', FILL, 'fill', '{output}'] },
  {
    name: 'probe',
    command: ['/bin/sh', '-c', PROBE, 'probe', '{input}', '{param:a}', '{param:b}', '{param:c}', '{param:d}'],
    params: { a: '/', b: '/', c: '/', d: '/' },
  },
  {
    name: 'secret',
    command: ['/bin/sh', '-c', 'echo session-secret > "$1/secret.txt"', 'secret', '{output}'],
  },
]);

function cpuSecondsOf(times: string): number {
  // dash prints children's user and system time as "XmY.YYYs XmY.YYYs"
  return [...times.matchAll(/(\d+)m([\d.]+)s/g)].reduce((t, m) => t + Number(m[1]) * 60 + Number(m[2]), 0);
}

/**
 * The suite for one backend: `backendEnv` selects it; `cores` says whether the backend holds
 * a command to its cores (the local backend's control group; Slurm only with task/cgroup).
 */
export function brokerEnforcement(label: string, backendEnv: Record<string, string>, cores: boolean): void {
  describe(`broker enforcement of a pipeline's grants (${label}, issue 21 item 1)`, () => {
    let issuer: TestIssuer;
    let node: TestNode;
    let alice: BrokerClient; // team-a
    let bob: BrokerClient; // team-b
    let publicProduct: Product;
    let proprietary: Product;
    let databaseFolder: string;

    beforeAll(async () => {
      issuer = await new TestIssuer().start();
      issuer.keys.push(await signingKey('RS256', 'k1'));
      node = await startTestNode({
        VONODE_OIDC_ISSUER: issuer.url,
        VONODE_OIDC_AUDIENCE: 'vonode-test',
        VONODE_BROKER_POLL_MS: '200',
        VONODE_BROKER_PIPELINES: PIPELINES,
        ...backendEnv,
      });
      alice = new BrokerClient(
        node.url,
        await issuer.token({ sub: `alice-enforce-${label}`, groups: ['/team-a'] }, { aud: 'vonode-test' }),
      );
      bob = new BrokerClient(
        node.url,
        await issuer.token({ sub: `bob-enforce-${label}`, groups: ['/team-b'] }, { aud: 'vonode-test' }),
      );
      const products = await demoProducts(testDatabaseUrl());
      publicProduct = products.find((p) => p.owner === null) as Product;
      proprietary = products.find((p) => p.owner === 'team-a') as Product;
      const db = new pg.Client({ connectionString: testDatabaseUrl() });
      await db.connect();
      databaseFolder = (await db.query<{ d: string }>("SELECT current_setting('data_directory') AS d"))
        .rows[0].d;
      await db.end();
    });

    afterAll(async () => {
      await node?.stop();
      await issuer?.stop();
    });

    async function run(client: BrokerClient, body: unknown): Promise<Doc> {
      const os = await client.call('POST', '/broker/offersets', body);
      expect(os.status, os.text).toBe(200);
      const uuid = os.json.offers[0].meta.uuid as string;
      const acc = await client.setPhase(uuid, 'ACCEPTED');
      expect(acc.status, acc.text).toBe(200);
      return client.waitFor(uuid, ['COMPLETED', 'FAILED'], 1200);
    }

    const log = async (client: BrokerClient, doc: Doc) =>
      (await client.call('GET', `/broker/sessions/${doc.meta.uuid}/logs/stdout.log`)).text;

    if (cores)
      it('EB-40: a job granted 1 core that spins 2 processes gets at most 1 core of CPU time (control group quota)', async () => {
        const done = await run(bob, {
          executable: { kind: PIPELINE, pipeline: 'spin' },
          compute: { cores: { min: 1, max: 1 }, memory: { min: 1, max: 1 } },
        });
        expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
        const out = await log(bob, done);
        const wall = Number(/wall_ns=(\d+)/.exec(out)?.[1]) / 1e9;
        const cpu = cpuSecondsOf(out.trim().split('\n').at(-1) as string);
        console.log(
          `1-core job, 2 busy processes: wall ${wall.toFixed(2)} s, CPU ${cpu.toFixed(2)} s, ratio ${(cpu / wall).toFixed(2)}`,
        );
        expect(wall).toBeGreaterThan(2.9);
        // With a quota the two processes share one core; a CPU-seconds limit would let them use two.
        if (!root) return;
        // The quota is one period per period (1 core), whatever the machine's load; and on an idle
        // machine, where two spinning processes would take two cores, the measured CPU time stays at one.
        expect(/quota=(\d+) (\d+)/.exec(out)?.slice(1, 3)).toEqual(['100000', '100000']);
        expect(cpu / wall).toBeLessThanOrEqual(1.1);
      });

    it('EB-42: a job writing past its storage grant is stopped and FAILS with uri:storage-exceeded', async () => {
      const done = await run(bob, {
        executable: { kind: PIPELINE, pipeline: 'fill' },
        storage: {
          kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/storage/simple-storage-resource-1.0',
          size: { min: 1, max: 1 },
        },
        schedule: { requested: { duration: 'PT5M' } },
      });
      const workDir = join(node.dataDir, 'broker', done.meta.uuid);
      try {
        expect(done.phase, JSON.stringify(done.meta.messages)).toBe('FAILED');
        const last = done.meta.messages.at(-1);
        expect(last.type).toBe('uri:storage-exceeded');
        expect(last.message).toMatch(/more than its storage grant of 1 GiB/);
      } finally {
        rmSync(join(workDir, 'output'), { recursive: true, force: true });
      }
    });

    it("EB-34: a pipeline sees its product read-only and nothing of the node's folders: no embargoed product, database or other session", async () => {
      const first = await run(alice, { executable: { kind: PIPELINE, pipeline: 'secret' } });
      expect(first.phase, JSON.stringify(first.meta.messages)).toBe('COMPLETED');
      const otherScratch = join(node.dataDir, 'broker', first.meta.uuid, 'output', 'secret.txt');
      expect(readFileSync(otherScratch, 'utf8')).toBe('session-secret\n');
      const done = await run(bob, {
        executable: {
          kind: PIPELINE,
          pipeline: 'probe',
          params: { a: proprietary.path, b: databaseFolder, c: otherScratch, d: node.dataDir },
        },
        data: [
          {
            kind: IVOA_DATA,
            meta: { name: 'image' },
            ivoa: { obscore: { obs_publisher_did: publicProduct.did } },
          },
        ],
      });
      expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
      const lines = (await log(bob, done)).trim().split('\n');
      expect(lines[0]).toBe(`${publicProduct.path} readable`);
      if (!root) return; // without root there are no namespaces; see README "Isolation"
      expect(lines[1]).toBe(`${proprietary.path} unreadable`);
      expect(lines[2]).toMatch(new RegExp(`^${databaseFolder} (unreadable|dir entries=0)$`));
      expect(lines[3]).toBe(`${otherScratch} unreadable`);
      // the data folder holds only the paths back to this session's own product and work folder
      expect(lines[4]).toMatch(/ dir entries=[12]$/);
      expect(existsSync(proprietary.path)).toBe(true);
    });

    it('issue 21: an embargoed product and a missing one get the same answer from the SRCNet facade too', async () => {
      const submit = async (dataset: string) => {
        const p = await bob.call('PUT', '/broker/provision', { cpu_cores: 1, memory: 1, runtime: 1 });
        expect(p.status, p.text).toBe(200);
        return bob.call('PUT', `/broker/${p.json.provision_id}/submit`, { container: 'probe', dataset });
      };
      const missing = 'ivo://example.test/none?no-such-product';
      const hidden = await submit(proprietary.did);
      const absent = await submit(missing);
      expect(hidden.status).toBe(absent.status);
      expect(hidden.status).not.toBe(403);
      const strip = (t: string, id: string) => t.replace(id, '<id>').replace(/"time":"[^"]*"/g, '');
      expect(strip(hidden.text, proprietary.did)).toBe(strip(absent.text, missing));
    });
  });
}
