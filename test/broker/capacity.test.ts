import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earliestStart, mergeAlternatives, peakUse } from '../../src/broker/capacity.js';
import { gpuCount, parseSinfo, parseSqueue, slurmDuration } from '../../src/broker/slurm-queue.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode } from '../support/node.js';
import { type OwnDatabase, ownDatabase } from '../support/own-database.js';
import { BrokerClient, type Doc, PIPELINE } from './helpers.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

const CAP = { cores: 2, memoryGiB: 8, gpus: 0, storageGiB: 100 };
const one = { cores: 1, memoryGiB: 1, gpus: 0, storageGiB: 1 };
const MIN = 60_000;

describe('capacity ledger arithmetic (issue 21 item 2; EB-52, EB-62, EB-63)', () => {
  it('places a request now when it fits, after the first booking that ends otherwise', () => {
    const b = [
      { holder: 'a', start: 0, end: 10 * MIN, ...one },
      { holder: 'b', start: 0, end: 5 * MIN, ...one },
    ];
    expect(earliestStart(CAP, [], one, 0, MIN)).toBe(0);
    expect(earliestStart(CAP, b, one, 0, MIN)).toBe(5 * MIN);
    expect(earliestStart(CAP, b, { ...one, cores: 2 }, 0, MIN)).toBe(10 * MIN);
    // Beyond the latest requested start: none.
    expect(earliestStart(CAP, b, one, 0, MIN, 4 * MIN)).toBeUndefined();
    // More than the backend has at all: none.
    expect(earliestStart(CAP, [], { ...one, cores: 3 }, 0, MIN)).toBeUndefined();
  });

  it('does not slip a request into a gap shorter than its duration', () => {
    // Free from 5 to 7 minutes only, then booked again from 7 to 20.
    const b = [
      { holder: 'a', start: 0, end: 5 * MIN, cores: 2, memoryGiB: 1, gpus: 0, storageGiB: 0 },
      { holder: 'c', start: 7 * MIN, end: 20 * MIN, cores: 2, memoryGiB: 1, gpus: 0, storageGiB: 0 },
    ];
    expect(earliestStart(CAP, b, one, 0, 3 * MIN)).toBe(20 * MIN);
    expect(earliestStart(CAP, b, one, 0, 2 * MIN)).toBe(5 * MIN);
  });

  it('counts memory, GPUs and scratch as well as cores, and the peak inside a window', () => {
    const b = [{ holder: 'a', start: 0, end: MIN, cores: 0, memoryGiB: 7, gpus: 0, storageGiB: 0 }];
    expect(earliestStart(CAP, b, { ...one, memoryGiB: 2 }, 0, MIN)).toBe(MIN);
    expect(earliestStart({ ...CAP, storageGiB: 1 }, [{ ...b[0], storageGiB: 1 }], one, 0, MIN)).toBe(MIN);
    expect(peakUse([{ holder: 'x', start: 30_000, end: 90_000, ...one }, ...b], 0, MIN)).toEqual({
      cores: 1,
      memoryGiB: 8,
      gpus: 0,
      storageGiB: 1,
    });
  });

  it('books the offers of one offer set as one (they are alternatives, EB-63)', () => {
    const m = mergeAlternatives('set', [
      { holder: 'o1', start: 0, end: MIN, ...one },
      { holder: 'o2', start: MIN, end: 3 * MIN, ...one, cores: 2 },
    ]);
    expect(m).toMatchObject({ holder: 'set', start: 0, end: 3 * MIN, cores: 2, memoryGiB: 1 });
  });
});

describe("Slurm's queue and partitions as sinfo and squeue print them", () => {
  it('sums the usable nodes of the chosen or default partition once each', () => {
    const sinfo = [
      'n1|16|64000|gpu:k40:2(S:0-1)|mixed|batch*',
      'n2|16|64000|(null)|idle|batch*',
      'n3|16|64000|(null)|drained|batch*',
      'n1|16|64000|gpu:k40:2(S:0-1)|mixed|debug',
    ].join('\n');
    expect(parseSinfo(sinfo)).toEqual({
      partition: 'batch',
      capacity: { cores: 32, memoryGiB: 125, gpus: 2, storageGiB: 0 },
    });
    expect(parseSinfo(sinfo, 'debug').capacity.cores).toBe(16);
    expect(() => parseSinfo(sinfo, 'none')).toThrow(/no usable node.*batch, debug/);
  });

  it('reads jobs, their time limits and GPU requests', () => {
    const jobs = parseSqueue(
      ['12|RUNNING|4|2G|2026-12-03T10:00:00|1:00:00|gres/gpu:1', '13|PENDING|2|512M|N/A|1-00:00:00|N/A'].join(
        '\n',
      ),
    );
    expect(jobs[0]).toMatchObject({
      id: '12',
      state: 'RUNNING',
      cores: 4,
      memoryGiB: 2,
      gpus: 1,
      limitMs: 3_600_000,
    });
    expect(jobs[0].start).toBe(new Date('2026-12-03T10:00:00').getTime());
    expect(jobs[1]).toMatchObject({
      id: '13',
      state: 'PENDING',
      cores: 2,
      memoryGiB: 0.5,
      gpus: 0,
      start: undefined,
    });
    expect(jobs[1].limitMs).toBe(86_400_000);
    expect(slurmDuration('UNLIMITED')).toBeUndefined();
    expect(slurmDuration('05:00')).toBe(300_000);
    expect(gpuCount('gpu:2,gpu:a100:1')).toBe(3);
  });
});

/**
 * A node with 2 cores on a database of its own (its ledger and retention touch no other
 * test's sessions): offers never book more than 2 cores at once, accepted sessions wait and
 * start as soon as cores free up, quotas hold under concurrent accepts, and finished
 * sessions are removed after the retention time, saying why they ended before that.
 */
describe('broker capacity, quotas and retention on a real node (issue 21 items 2 and 6)', () => {
  let own: OwnDatabase;
  let issuer: TestIssuer;
  let node: TestNode;
  const pipelines = JSON.stringify([{ name: 'sleep', command: ['sleep', '{param:seconds}'] }]);

  beforeAll(async () => {
    own = await ownDatabase('broker_capacity');
    issuer = await new TestIssuer().start();
    issuer.keys.push(await signingKey('RS256', 'k1'));
    node = await startTestNode({
      ...own.env,
      VONODE_OIDC_ISSUER: issuer.url,
      VONODE_OIDC_AUDIENCE: 'vonode-test',
      VONODE_BROKER_POLL_MS: '100',
      VONODE_BROKER_SITE: 'capacity-site',
      VONODE_BROKER_CORES: '2',
      VONODE_BROKER_MEMORY_GIB: '8',
      VONODE_BROKER_SCRATCH_GIB: '100',
      VONODE_BROKER_MAX_ACTIVE_PER_USER: '3',
      VONODE_BROKER_MAX_ACTIVE_PER_GROUP: '4',
      VONODE_BROKER_RETENTION_SECONDS: '0',
      VONODE_BROKER_PIPELINES: pipelines,
    });
  });

  afterAll(async () => {
    await node?.stop();
    await issuer?.stop();
    await own?.drop();
  });

  const client = async (sub: string, groups: string[] = []) =>
    new BrokerClient(node.url, await issuer.token({ sub, groups }, { aud: 'vonode-test' }));
  const sleep = (seconds: number, duration = 'PT1M') => ({
    executable: { kind: PIPELINE, pipeline: 'sleep', params: { seconds: String(seconds) } },
    compute: { cores: { min: 1, max: 1 }, memory: { min: 1, max: 1 } },
    schedule: { requested: { duration } },
  });
  const interval = (d: Doc) => [
    Date.parse(d.schedule.preparing.start),
    Date.parse(d.schedule.preparing.start) + 60_000,
  ];

  it('three requests at once for 1 of 2 cores: two offers now, the third after one of them ends (EB-52, EB-62, EB-63)', async () => {
    const c = await client('cap-a');
    const sets = await Promise.all([1, 2, 3].map(() => c.call('POST', '/broker/offersets', sleep(1))));
    for (const s of sets) expect(s.status, s.text).toBe(200);
    const offers = sets
      .map((s) => s.json.offers[0])
      .sort((x: Doc, y: Doc) => interval(x)[0] - interval(y)[0]);
    const [a, b, third] = offers.map(interval);
    // The offered slots never hold more than 2 cores at once.
    expect(third[0]).toBeGreaterThanOrEqual(Math.min(a[1], b[1]));
    expect(b[0]).toBeLessThan(a[1]);

    // Accepted, the first two run; the third waits, then starts as soon as a core is free:
    // before its offered start, and never while both others run.
    for (const o of offers) expect((await c.setPhase(o.meta.uuid, 'ACCEPTED')).status).toBe(200);
    const done = await Promise.all(offers.map((o: Doc) => c.waitFor(o.meta.uuid, ['COMPLETED', 'FAILED'])));
    for (const d of done) expect(d.phase, JSON.stringify(d.meta.messages)).toBe('COMPLETED');
    const started = Date.parse(done[2].schedule.started);
    expect(started).toBeLessThan(third[0]);
    const firstEnd = Math.min(Date.parse(done[0].schedule.finished), Date.parse(done[1].schedule.finished));
    expect(started).toBeGreaterThanOrEqual(firstEnd - 1000); // the end is recorded up to a poll after the exit
  });

  it('a request whose start window is fully booked is a NO that says so; rejecting what held the cores frees them (EB-61, EB-63)', async () => {
    const c = await client('cap-b');
    const both = await c.call('POST', '/broker/offersets', {
      ...sleep(1, 'PT10M'),
      compute: { cores: { min: 2, max: 2 }, memory: { min: 1, max: 1 } },
    });
    expect(both.status, both.text).toBe(200);
    const soon = {
      ...sleep(1),
      schedule: { requested: { duration: 'PT1M', start: `${new Date().toISOString()}/PT30S` } },
    };
    const refused = await c.call('POST', '/broker/offersets', soon);
    expect(refused.status, refused.text).toBe(422);
    expect(refused.json.result).toBe('NO');
    expect(refused.json.meta.messages[0].type).toBe('uri:fully-booked');
    expect(refused.json.meta.messages[0].values.path).toBe('schedule.requested.start');
    expect((await c.setPhase(both.json.offers[0].meta.uuid, 'REJECTED')).status).toBe(200);
    const offered = await c.call('POST', '/broker/offersets', {
      ...soon,
      schedule: { requested: { duration: 'PT1M', start: `${new Date().toISOString()}/PT30S` } },
    });
    expect(offered.status, offered.text).toBe(200);
    expect((await c.setPhase(offered.json.offers[0].meta.uuid, 'REJECTED')).status).toBe(200);
  });

  it('GET /broker/limits advertises the capacity, quotas and retention, without sign-in', async () => {
    const r = await new BrokerClient(node.url).call('GET', '/broker/limits');
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({
      site: 'capacity-site',
      backend: 'local',
      capacity: { cores: 2, memoryGiB: 8, gpus: 0, storageGiB: 100 },
      quotas: { activePerUser: 3, activePerGroup: 4 },
      retentionSeconds: 0,
      outputsKept: false,
    });
  });

  it('concurrent accepts never pass the per-user quota (9 of 8 were accepted before)', async () => {
    const c = await client('cap-quota');
    const sets = [];
    for (let i = 0; i < 8; i++) sets.push(await c.call('POST', '/broker/offersets', sleep(30, 'PT10M')));
    for (const s of sets) expect(s.status, s.text).toBe(200);
    const answers = await Promise.all(sets.map((s) => c.setPhase(s.json.offers[0].meta.uuid, 'ACCEPTED')));
    const ok = answers.filter((a) => a.status === 200);
    expect(ok.length).toBe(3);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(a.status).toBe(429);
      expect(a.json.messages[0].type).toBe('uri:quota-exceeded');
      expect(a.json.messages[0].message).toMatch(/limit per user is 3/);
    }
    for (const a of ok) expect((await c.setPhase(a.json.meta.uuid, 'CANCELLED')).status).toBe(200);
  });

  it('concurrent accepts of two users in one group never pass the per-group quota', async () => {
    const users = [await client('cap-g1', ['/lab']), await client('cap-g2', ['/lab'])];
    const offers: { c: BrokerClient; uuid: string }[] = [];
    for (const c of users) {
      for (let i = 0; i < 3; i++) {
        const s = await c.call('POST', '/broker/offersets', sleep(30, 'PT10M'));
        expect(s.status, s.text).toBe(200);
        offers.push({ c, uuid: s.json.offers[0].meta.uuid });
      }
    }
    const answers = await Promise.all(offers.map((o) => o.c.setPhase(o.uuid, 'ACCEPTED')));
    expect(answers.filter((a) => a.status === 200).length).toBe(4);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(a.status).toBe(429);
      expect(a.json.messages[0].message).toMatch(/limit per group is 4/);
    }
    for (const [i, a] of answers.entries()) {
      if (a.status === 200)
        expect((await offers[i].c.setPhase(offers[i].uuid, 'CANCELLED')).status).toBe(200);
    }
  });

  describe('retention (item 6)', () => {
    let short: TestNode;
    beforeAll(async () => {
      await node.stop();
      short = await startTestNode({
        ...own.env,
        VONODE_OIDC_ISSUER: issuer.url,
        VONODE_OIDC_AUDIENCE: 'vonode-test',
        VONODE_BROKER_POLL_MS: '100',
        VONODE_BROKER_SITE: 'capacity-site',
        VONODE_BROKER_CORES: '8',
        VONODE_BROKER_SCRATCH_GIB: '100',
        VONODE_BROKER_OFFER_SECONDS: '2',
        // One session looked at per pass: only a driver that takes them in turn ever sees the new one finish.
        VONODE_BROKER_DRIVER_BATCH: '1',
        VONODE_BROKER_RETENTION_SECONDS: '3',
        VONODE_BROKER_PIPELINES: pipelines,
      });
    });
    afterAll(async () => {
      await short?.stop();
    });

    it('the driver looks at every live session in turn: a new job finishes behind more running ones than it polls per pass', async () => {
      const c = new BrokerClient(short.url, (await client('cap-fair')).token);
      const accept = async (seconds: number) => {
        const os = await c.call('POST', '/broker/offersets', sleep(seconds, 'PT5M'));
        expect(os.status, os.text).toBe(200);
        const u = os.json.offers[0].meta.uuid as string;
        expect((await c.setPhase(u, 'ACCEPTED')).status).toBe(200);
        return u;
      };
      const busy = [await accept(120), await accept(120), await accept(120)];
      for (const u of busy) expect((await c.waitFor(u, ['RUNNING'])).phase).toBe('RUNNING');
      const quick = await accept(0);
      expect((await c.waitFor(quick, ['COMPLETED', 'FAILED'])).phase).toBe('COMPLETED');
      for (const u of busy) expect((await c.setPhase(u, 'CANCELLED')).status).toBe(200);
    });

    it('an offer not accepted says it expired and when; finished sessions, their offer sets and work folders go after the retention time', async () => {
      const c = new BrokerClient(short.url, (await client('cap-ret')).token);
      const expiring = await c.call('POST', '/broker/offersets', sleep(0));
      expect(expiring.status, expiring.text).toBe(200);
      const expUuid = expiring.json.offers[0].meta.uuid;
      const expired = await c.waitFor(expUuid, ['EXPIRED']);
      const why = expired.meta.messages.find((m: Doc) => m.type === 'uri:offer-expired');
      expect(why?.message).toMatch(/not accepted before it expired at \d{4}-\d\d-\d\dT/);

      const ran = await c.call('POST', '/broker/offersets', sleep(0));
      const uuid = ran.json.offers[0].meta.uuid;
      expect((await c.setPhase(uuid, 'ACCEPTED')).status).toBe(200);
      expect((await c.waitFor(uuid, ['COMPLETED', 'FAILED'])).phase).toBe('COMPLETED');
      const workDir = `${own.env.VONODE_DATA_DIR}/broker/${uuid}`;
      expect(existsSync(workDir)).toBe(true);

      // Gone after the retention time: the session, its folder, both offer sets.
      let gone: Awaited<ReturnType<BrokerClient['call']>> | undefined;
      for (let i = 0; i < 300; i++) {
        gone = await c.call('GET', `/broker/sessions/${uuid}`);
        if (gone.status === 404) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(gone?.status).toBe(404);
      expect(existsSync(workDir)).toBe(false);
      for (let i = 0; i < 300; i++) {
        const a = await c.call('GET', `/broker/offersets/${expiring.json.meta.uuid}`);
        const b = await c.call('GET', `/broker/offersets/${ran.json.meta.uuid}`);
        if (a.status === 404 && b.status === 404) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('offer sets were not removed after the retention time');
    });
  });
});
