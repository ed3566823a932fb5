import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../test/auth/issuer.js';
import { BrokerClient, type Doc } from '../test/broker/helpers.js';
import { startTestNode } from '../test/support/node.js';

/**
 * Issue 21 item 1 on a real engine: what a container session is granted is what its
 * container gets, and a container past its time limit or cancelled is gone — no process,
 * no further writes — within 10 s. Shared by conformance/broker-podman.test.ts (local
 * backend) and conformance/broker-slurm.test.ts (the container runs inside a Slurm job).
 */

const DOCKER = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/docker-container-1.0';
const STORAGE = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/storage/simple-storage-resource-1.0';
/** The acceptance bound: a stopped container is gone within this many milliseconds. */
const GONE_WITHIN_MS = 10_000;

/** Appends a timestamp to /output/ticks.txt five times a second, for ever. */
const TICK = 'while :; do date >> /output/ticks.txt; sleep 0.2; done';

/**
 * Two busy loops for 3 s inside the container, then its CPU quota (cgroup v1 or v2), the CPU
 * time its group used (nanoseconds) and the wall time (centiseconds of /proc/uptime).
 */
const SPIN = `q=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max)
usage() { cat /sys/fs/cgroup/cpuacct/cpuacct.usage 2>/dev/null || echo $(( $(sed -n 's/^usage_usec //p' /sys/fs/cgroup/cpu.stat) * 1000 )); }
up() { read u _ < /proc/uptime; echo "\${u%.*}\${u#*.}"; }
c0=$(usage); w0=$(up)
( while :; do :; done ) & a=$!
( while :; do :; done ) & b=$!
sleep 3
kill $a $b; wait
c1=$(usage); w1=$(up)
echo "quota=$q cpu_ns=$((c1 - c0)) wall_cs=$((w1 - w0))" > /output/spin.txt`;

/** One 1.5 GB buffer filled from /dev/zero (busybox dd): past a 1 GiB memory grant. */
const HOG = 'dd if=/dev/zero of=/dev/null bs=1500M count=1 && echo held > /output/hog.txt';

/** Writes 64 MiB files into /output until there are 20 (1.25 GiB), then waits. */
const FILL = `i=0
while [ $i -lt 20 ]; do head -c 67108864 /dev/zero > /output/part$i || exit 9; i=$((i+1)); done
sleep 120`;

function containers(): string[] {
  return execFileSync('podman', ['ps', '-a', '--format', '{{.Names}}'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

/** Processes on this machine whose command line holds the marker (the container's own shell). */
function processesWith(marker: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** Polls until the container of a session and every process of its command are gone; returns how long that took. */
async function goneAfter(since: number, uuid: string, marker: string): Promise<number> {
  for (;;) {
    const alive = containers().includes(`vonode-${uuid}`) || processesWith(marker) > 0;
    const waited = Date.now() - since;
    if (!alive) return waited;
    if (waited > GONE_WITHIN_MS) return waited;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);

export function containerLimits(
  label: string,
  backendEnv: Record<string, string>,
  runtime: string,
  image: string,
): void {
  describe(`broker enforcement of container grants (${label}, ${runtime})`, () => {
    let issuer: TestIssuer;
    let node: Awaited<ReturnType<typeof startTestNode>>;
    let carol: BrokerClient;

    beforeAll(async () => {
      issuer = await new TestIssuer().start();
      issuer.keys.push(await signingKey('RS256', 'k1'));
      node = await startTestNode({
        VONODE_OIDC_ISSUER: issuer.url,
        VONODE_OIDC_AUDIENCE: 'vonode-test',
        VONODE_BROKER_POLL_MS: '200',
        VONODE_BROKER_CONTAINER_RUNTIME: runtime,
        VONODE_BROKER_CONTAINER_IMAGES: 'localhost/',
        ...backendEnv,
      });
      carol = new BrokerClient(
        node.url,
        await issuer.token({ sub: `carol-${label}`, groups: ['/team-c'] }, { aud: 'vonode-test' }),
      );
    });

    afterAll(async () => {
      await node?.stop();
      await issuer?.stop();
    });

    const request = (script: string, marker: string, extra: Record<string, unknown> = {}) => ({
      executable: {
        kind: DOCKER,
        image: { locations: [image] },
        entrypoint: '/bin/sh',
        command: ['-c', script, marker],
      },
      compute: { cores: { min: 1, max: 1 }, memory: { min: 1, max: 1 } },
      schedule: { requested: { duration: 'PT5M' } },
      ...extra,
    });

    async function start(body: unknown): Promise<string> {
      const os = await carol.call('POST', '/broker/offersets', body);
      expect(os.status, os.text).toBe(200);
      const uuid = os.json.offers[0].meta.uuid as string;
      expect((await carol.setPhase(uuid, 'ACCEPTED')).status).toBe(200);
      return uuid;
    }

    const output = (uuid: string, name: string) => join(node.dataDir, 'broker', uuid, 'output', name);

    /** Waits for the container to have written its first ticks (it is really running). */
    async function ticking(uuid: string): Promise<void> {
      const doc = await carol.waitFor(uuid, ['RUNNING', 'FAILED', 'COMPLETED'], 1200);
      expect(doc.phase, JSON.stringify(doc.meta.messages)).toBe('RUNNING');
      for (let i = 0; i < 1200 && size(output(uuid, 'ticks.txt')) === 0; i++) {
        const now = (await carol.call('GET', `/broker/sessions/${uuid}`)).json;
        expect(now.phase, `ended before its first tick: ${JSON.stringify(now.meta.messages)}`).toBe(
          'RUNNING',
        );
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(size(output(uuid, 'ticks.txt'))).toBeGreaterThan(0);
    }

    /** After the container is gone, its output no longer grows. */
    async function noFurtherWrites(uuid: string): Promise<void> {
      const before = size(output(uuid, 'ticks.txt'));
      // a container still alive would have ticked five times in this second
      await new Promise((r) => setTimeout(r, 1000));
      expect(size(output(uuid, 'ticks.txt'))).toBe(before);
    }

    it('EB-73: a container past its time limit is gone (container, processes, writes) within 10 s; the session FAILS with uri:time-limit', async () => {
      const marker = `tick-${randomUUID()}`;
      // 15 s: long enough for a loaded machine to start the engine and write its first ticks
      const uuid = await start(request(TICK, marker, { schedule: { requested: { duration: 'PT15S' } } }));
      await ticking(uuid);
      const done: Doc = await carol.waitFor(uuid, ['FAILED', 'COMPLETED'], 1200);
      expect(done.phase).toBe('FAILED');
      expect(done.meta.messages.at(-1).type).toBe('uri:time-limit');
      // measured from the moment the limit was reached: the start of the work plus its 15 s
      const deadline = Date.parse(done.schedule.started) + 15_000;
      const waited = await goneAfter(deadline, uuid, marker);
      console.log(`${label}: time-limited container gone ${waited} ms after its time limit`);
      expect(waited).toBeLessThanOrEqual(GONE_WITHIN_MS);
      await noFurtherWrites(uuid);
    });

    it('EB-72: a cancelled container is gone (container, processes, writes) within 10 s', async () => {
      const marker = `tick-${randomUUID()}`;
      const uuid = await start(request(TICK, marker));
      await ticking(uuid);
      const cancelledAt = Date.now();
      const r = await carol.setPhase(uuid, 'CANCELLED');
      expect(r.status, r.text).toBe(200);
      const waited = await goneAfter(cancelledAt, uuid, marker);
      console.log(`${label}: cancelled container gone ${waited} ms after the cancel request`);
      expect(waited).toBeLessThanOrEqual(GONE_WITHIN_MS);
      await noFurtherWrites(uuid);
      expect((await carol.call('GET', `/broker/sessions/${uuid}`)).json.phase).toBe('CANCELLED');
    });

    it('EB-40: a container granted 1 core has a 1-core CPU quota, and 2 spinning processes get 1 core of CPU time', async () => {
      const uuid = await start(request(SPIN, `spin-${randomUUID()}`));
      const done = await carol.waitFor(uuid, ['COMPLETED', 'FAILED'], 1200);
      expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
      const text = readFileSync(output(uuid, 'spin.txt'), 'utf8');
      const m = /quota=(\d+) cpu_ns=(\d+) wall_cs=(\d+)/.exec(text);
      expect(m, text).not.toBeNull();
      const [quota, cpuNs, wallCs] = (m as RegExpExecArray).slice(1).map(Number);
      const ratio = cpuNs / 1e9 / (wallCs / 100);
      console.log(
        `${label}: 1-core container, 2 busy processes: wall ${(wallCs / 100).toFixed(2)} s, CPU ${(cpuNs / 1e9).toFixed(2)} s, ratio ${ratio.toFixed(2)}`,
      );
      expect(quota).toBe(100_000); // one period (100 ms) per period: one core
      expect(wallCs).toBeGreaterThanOrEqual(290);
      expect(ratio).toBeLessThanOrEqual(1.1);
    });

    it('EB-40: a container using more than its memory grant is ended by the kernel; the session FAILS', async () => {
      const uuid = await start(request(HOG, `hog-${randomUUID()}`));
      const done = await carol.waitFor(uuid, ['COMPLETED', 'FAILED'], 1800);
      expect(done.phase, JSON.stringify(done.meta.messages)).toBe('FAILED');
      // SIGKILL from the memory cgroup's OOM killer: the engine reports 128 + 9
      expect(done.meta.messages.at(-1).message).toMatch(/exited with status 137/);
      expect(
        existsSync(output(uuid, 'hog.txt')) ? readFileSync(output(uuid, 'hog.txt'), 'utf8') : '',
      ).not.toMatch(/held/);
    });

    it('EB-42: a container writing past its storage grant is stopped; the session FAILS with uri:storage-exceeded', async () => {
      const marker = `fill-${randomUUID()}`;
      const uuid = await start(
        request(FILL, marker, { storage: { kind: STORAGE, size: { min: 1, max: 1 } } }),
      );
      try {
        const done = await carol.waitFor(uuid, ['COMPLETED', 'FAILED'], 1800);
        const failedAt = Date.now();
        expect(done.phase, JSON.stringify(done.meta.messages)).toBe('FAILED');
        const last = done.meta.messages.at(-1);
        expect(last.type).toBe('uri:storage-exceeded');
        expect(last.message).toMatch(/more than its storage grant of 1 GiB/);
        expect(await goneAfter(failedAt, uuid, marker)).toBeLessThanOrEqual(GONE_WITHIN_MS);
      } finally {
        rmSync(join(node.dataDir, 'broker', uuid, 'output'), { recursive: true, force: true });
      }
    });
  });
}
