import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../../src/broker/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';
import {
  BrokerClient,
  closeTo,
  type Doc,
  demoProducts,
  IVOA_DATA,
  PIPELINE,
  type Product,
  referenceStats,
} from './helpers.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

/**
 * Pipelines the tests register as a site would: one sleeps, so there is time to cancel it or
 * restart the node; two play an attacker (issue 13): one prints its environment, one leaves
 * links to host files among its outputs.
 */
const SLEEP_PIPELINE = JSON.stringify([
  { name: 'sleep', command: ['sleep', '{param:seconds}'], params: { seconds: '60' } },
  { name: 'show-env', command: ['/usr/bin/env'] },
  {
    name: 'link-out',
    command: [
      '/bin/sh',
      '-c',
      'ln -s /etc/shadow "$1/shadow.txt" && ln -s /etc "$1/etc" && echo ok > "$1/ok.txt"',
      'sh',
      '{output}',
    ],
  },
]);
const NODE_SECRET = 'node-secret-value-e2e';

/**
 * The broker end to end through a real node: request → offers → accept → running →
 * completed, cancel, expiry, restart, refusals and isolation between users. Shared by the
 * local-backend test and the Slurm conformance test (`backendEnv` picks the backend).
 */
export function brokerEndToEnd(
  label: string,
  backendEnv: Record<string, string>,
  isAlive: (ref: string) => Promise<boolean>,
): void {
  describe(`ExecutionBroker end to end (${label})`, () => {
    let node: TestNode;
    let issuer: TestIssuer;
    let alice: BrokerClient;
    let bob: BrokerClient;
    let publicProduct: Product;
    let proprietary: Product | undefined;
    const env = () => ({
      VONODE_OIDC_ISSUER: issuer.url,
      VONODE_OIDC_AUDIENCE: 'vonode-test',
      VONODE_BROKER_POLL_MS: '100',
      VONODE_BROKER_SITE: 'test-site',
      VONODE_BROKER_PIPELINES: SLEEP_PIPELINE,
      ...backendEnv,
    });

    beforeAll(async () => {
      // In the node's environment: the work must not see it (issue 13).
      process.env.VONODE_TEST_NODE_SECRET = NODE_SECRET;
      issuer = await new TestIssuer().start();
      issuer.keys.push(await signingKey('RS256', 'k1'));
      node = await startTestNode(env());
      alice = new BrokerClient(
        node.url,
        await issuer.token({ sub: `alice-${label}`, groups: ['/team-a'] }, { aud: 'vonode-test' }),
      );
      bob = new BrokerClient(
        node.url,
        await issuer.token({ sub: `bob-${label}`, groups: ['/team-b'] }, { aud: 'vonode-test' }),
      );
      const products = await demoProducts(testDatabaseUrl());
      publicProduct = products.find((p) => p.owner === null) as Product;
      proprietary = products.find((p) => p.owner === 'team-a');
      expect(publicProduct).toBeDefined();
    });

    afterAll(async () => {
      delete process.env.VONODE_TEST_NODE_SECRET;
      await node?.stop();
      await issuer?.stop();
    });

    const cutoutRequest = (did: string, size = 32) => ({
      name: 'stats-run',
      executable: {
        kind: PIPELINE,
        meta: { name: 'stats' },
        pipeline: 'cutout-stats',
        params: { size: String(size) },
      },
      compute: { cores: { min: 1, max: 1 }, memory: { min: 1, max: 1 } },
      data: [{ kind: IVOA_DATA, meta: { name: 'image' }, ivoa: { obscore: { obs_publisher_did: did } } }],
      schedule: { requested: { duration: 'PT10M' } },
    });
    const sleepRequest = (seconds: number) => ({
      executable: { kind: PIPELINE, pipeline: 'sleep', params: { seconds: String(seconds) } },
      schedule: { requested: { duration: 'PT10M' } },
    });

    async function acceptFirst(client: BrokerClient, body: unknown) {
      const os = await client.call('POST', '/broker/offersets', body);
      expect(os.status, os.text).toBe(200);
      const uuid = os.json.offers[0].meta.uuid as string;
      const acc = await client.setPhase(uuid, 'ACCEPTED');
      expect(acc.status, acc.text).toBe(200);
      return uuid;
    }

    it('runs cutout-stats on a demo product: YAML request → offer → accept → COMPLETED, results match astropy (EB-10..13, EB-73)', async () => {
      const yaml = `# a request in YAML (EB-16)
name: stats-run
executable:
  kind: ${PIPELINE}
  pipeline: cutout-stats
  params:
    size: "24"
compute:
  kind: https://www.purl.org/ivoa.net/EB/schema/v1.0/types/compute/simple-compute-resource-1.0
  cores: {min: 1, max: 2}
  memory: {min: 1, max: 1}
data:
  - kind: ${IVOA_DATA}
    meta:
      name: image
    ivoa:
      obscore:
        obs_publisher_did: "${publicProduct.did}"
schedule:
  requested:
    duration: PT10M
`;
      const os = await alice.call('POST', '/broker/offersets', yaml, {
        'content-type': 'application/yaml',
        accept: 'application/yaml',
      });
      expect(os.status, os.text).toBe(200);
      expect(os.headers.get('content-type')).toMatch(/yaml/);
      const set = parseYaml(os.text) as Doc;
      expect(set.result).toBe('YES');
      // min and max differ in cores: two offers, each one slot (EB-52)
      expect(set.offers.map((o: Doc) => o.compute.cores.min)).toEqual([1, 2]);
      for (const o of set.offers) {
        expect(o.phase).toBe('OFFERED');
        expect(o.site).toBe('test-site');
        expect(o.data[0].local).toBe(true);
        expect(Date.parse(o.expires)).toBeGreaterThan(Date.parse(set.meta.created));
        expect(o.options[0].values).toEqual(['ACCEPTED', 'REJECTED']);
      }
      const [first, second] = set.offers.map((o: Doc) => o.meta.uuid as string);
      const acc = await alice.setPhase(first, 'ACCEPTED');
      expect(acc.status, acc.text).toBe(200);
      expect(acc.json.phase).toBe('ACCEPTED');
      // the sibling offer is rejected (EB-72)
      expect((await alice.call('GET', `/broker/sessions/${second}`)).json.phase).toBe('REJECTED');

      const done = await alice.waitFor(first, ['COMPLETED', 'FAILED']);
      expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
      expect(done.exitCode).toBe(0);
      const stats = done.results.find((r: Doc) => r.name === 'stats.json');
      expect(stats).toBeDefined();
      const dl = await alice.call('GET', BrokerClient.path(stats.href));
      expect(dl.status).toBe(200);
      const ref = referenceStats(publicProduct.path, 24);
      expect(dl.json.finite).toBe(ref.finite);
      closeTo(dl.json.min, ref.min);
      closeTo(dl.json.max, ref.max);
      closeTo(dl.json.mean, ref.mean, 1e-7);
      closeTo(dl.json.rms, ref.rms, 1e-7);
      // the owner's session list has it; the document reads back as YAML too
      const list = await alice.call('GET', '/broker/sessions');
      expect(list.json.sessions.map((s: Doc) => s.uuid)).toContain(first);
      const asYaml = await alice.call('GET', `/broker/sessions/${first}`, undefined, {
        accept: 'application/yaml',
      });
      expect((parseYaml(asYaml.text) as Doc).phase).toBe('COMPLETED');
    });

    it('refuses a second accept with 409 and a reason', async () => {
      const uuid = await acceptFirst(alice, cutoutRequest(publicProduct.did));
      const again = await alice.setPhase(uuid, 'ACCEPTED');
      expect(again.status).toBe(409);
      expect(again.json.messages[0].type).toBe('uri:invalid-transition');
      expect(again.json.messages[0].message).toMatch(/only an OFFERED session can be accepted/);
      await alice.waitFor(uuid, ['COMPLETED', 'FAILED']);
    });

    it('refuses to accept an expired offer (EB-63, EB-76)', async () => {
      const os = await alice.call('POST', '/broker/offersets', cutoutRequest(publicProduct.did));
      const uuid = os.json.offers[0].meta.uuid;
      // Age the offer in the database rather than waiting for it.
      const { default: pg } = await import('pg');
      const db = new pg.Client({ connectionString: testDatabaseUrl() });
      await db.connect();
      await db.query("UPDATE broker.sessions SET expires = now() - interval '1 second' WHERE uuid = $1", [
        uuid,
      ]);
      await db.end();
      const acc = await alice.setPhase(uuid, 'ACCEPTED');
      expect(acc.status).toBe(409);
      expect(acc.json.messages[0].type).toBe('uri:offer-expired');
      expect((await alice.call('GET', `/broker/sessions/${uuid}`)).json.phase).toBe('EXPIRED');
    });

    it('cancel stops the running work: the process is gone (EB-72)', async () => {
      const uuid = await acceptFirst(alice, sleepRequest(120));
      await alice.waitFor(uuid, ['RUNNING']);
      const { default: pg } = await import('pg');
      const db = new pg.Client({ connectionString: testDatabaseUrl() });
      await db.connect();
      const ref = (await db.query('SELECT backend_ref FROM broker.sessions WHERE uuid = $1', [uuid])).rows[0]
        .backend_ref as string;
      await db.end();
      expect(await isAlive(ref)).toBe(true);
      const c = await alice.setPhase(uuid, 'CANCELLED');
      expect(c.status, c.text).toBe(200);
      expect(c.json.phase).toBe('CANCELLED');
      let alive = true;
      for (let i = 0; i < 300 && alive; i++) {
        alive = await isAlive(ref);
        if (alive) await new Promise((r) => setTimeout(r, 100));
      }
      expect(alive).toBe(false);
      expect((await alice.setPhase(uuid, 'CANCELLED')).status).toBe(409);
    });

    it('stops work at its time limit and reports FAILED with the limit (EB-73)', async () => {
      const body = { ...sleepRequest(120), schedule: { requested: { duration: 'PT2S' } } };
      const uuid = await acceptFirst(alice, body);
      const done = await alice.waitFor(uuid, ['COMPLETED', 'FAILED', 'CANCELLED']);
      expect(done.phase).toBe('FAILED');
      const last = done.meta.messages.at(-1);
      expect(last.type).toBe('uri:time-limit');
      expect(last.message).toMatch(/time limit of 2 s/);
      const { default: pg } = await import('pg');
      const db = new pg.Client({ connectionString: testDatabaseUrl() });
      await db.connect();
      const ref = (await db.query('SELECT backend_ref FROM broker.sessions WHERE uuid = $1', [uuid])).rows[0]
        .backend_ref as string;
      await db.end();
      let alive = true;
      for (let i = 0; i < 300 && alive; i++) {
        alive = await isAlive(ref);
        if (alive) await new Promise((r) => setTimeout(r, 100));
      }
      expect(alive).toBe(false);
    });

    it('a node restart loses no session state (EB-77)', async () => {
      const uuid = await acceptFirst(alice, sleepRequest(3));
      const before = await alice.waitFor(uuid, ['RUNNING']);
      await node.stop();
      node = await startTestNode(env());
      alice = new BrokerClient(node.url, alice.token);
      bob = new BrokerClient(node.url, bob.token);
      const after = await alice.call('GET', `/broker/sessions/${uuid}`);
      expect(after.status).toBe(200);
      expect(after.json.meta.created).toBe(before.meta.created);
      expect(after.json.schedule.started).toBe(before.schedule.started);
      const done = await alice.waitFor(uuid, ['COMPLETED', 'FAILED']);
      expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    });

    it('refuses an unsatisfiable request with 422 and says why (EB-61, EB-62)', async () => {
      const body = {
        ...cutoutRequest(publicProduct.did),
        compute: { cores: { min: 100000 }, memory: { min: 1 } },
      };
      const r = await alice.call('POST', '/broker/offersets', body);
      expect(r.status).toBe(422);
      expect(r.json.result).toBe('NO');
      expect(r.json.offers).toEqual([]);
      expect(r.json.meta.messages[0].values.path).toBe('compute.cores.min');
      expect(r.json.meta.messages[0].message).toMatch(/100000 cores/);
    });

    it('refuses an unknown pipeline, an unknown type and a container without runtime with clear messages', async () => {
      const unknown = await alice.call('POST', '/broker/offersets', {
        executable: { kind: PIPELINE, pipeline: 'no-such' },
      });
      expect(unknown.status).toBe(422);
      expect(unknown.json.meta.messages[0].type).toBe('uri:unknown-pipeline');
      expect(unknown.json.meta.messages[0].message).toMatch(/cutout-stats/);
      const badType = await alice.call('POST', '/broker/offersets', {
        executable: { kind: 'urn:x:zeppelin-notebook-1.0' },
      });
      expect(badType.status).toBe(400);
      expect(badType.json.meta.messages[0].type).toBe('uri:unknown-type');
      const container = await alice.call('POST', '/broker/offersets', {
        executable: {
          kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/docker-container-1.0',
          image: { locations: ['busybox:1'] },
        },
      });
      expect(container.status).toBe(422);
      expect(container.json.meta.messages[0].message).toMatch(/no container runtime/);
    });

    it("another user's session and offer set are not visible; anonymous callers get 401 (EB-17)", async () => {
      const os = await alice.call('POST', '/broker/offersets', cutoutRequest(publicProduct.did));
      const uuid = os.json.offers[0].meta.uuid;
      expect((await bob.call('GET', `/broker/sessions/${uuid}`)).status).toBe(404);
      expect((await bob.call('GET', `/broker/offersets/${os.json.meta.uuid}`)).status).toBe(404);
      expect((await bob.setPhase(uuid, 'ACCEPTED')).status).toBe(404);
      const list = await bob.call('GET', '/broker/sessions');
      expect(list.json.sessions.every((s: Doc) => s.uuid !== uuid)).toBe(true);
      const anon = new BrokerClient(node.url);
      const r = await anon.call('POST', '/broker/offersets', cutoutRequest(publicProduct.did));
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
    });

    it('refuses proprietary data to a non-member as if it did not exist (issue 13 item 4)', async () => {
      expect(proprietary, 'the demo data have a team-a product').toBeDefined();
      const r = await bob.call('POST', '/broker/offersets', cutoutRequest((proprietary as Product).did));
      expect(r.status).toBe(422);
      expect(r.json.meta.messages[0].type).toBe('uri:resource-not-found');
      const ok = await alice.call('POST', '/broker/offersets', cutoutRequest((proprietary as Product).did));
      expect(ok.status, ok.text).toBe(200);
    });

    it(`issue 13: the work gets none of the node's environment (${label})`, async () => {
      const uuid = await acceptFirst(alice, { executable: { kind: PIPELINE, pipeline: 'show-env' } });
      const done = await alice.waitFor(uuid, ['COMPLETED', 'FAILED']);
      expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
      const log = await alice.call('GET', `/broker/sessions/${uuid}/logs/stdout.log`);
      expect(log.status).toBe(200);
      expect(log.text).toMatch(/^PATH=/m);
      expect(log.text).not.toContain(NODE_SECRET);
      expect(log.text).not.toMatch(/^(DATABASE_URL|VONODE_)/m);
    });

    it(`issue 13: links among the outputs are neither listed nor served (${label})`, async () => {
      const uuid = await acceptFirst(alice, { executable: { kind: PIPELINE, pipeline: 'link-out' } });
      const done = await alice.waitFor(uuid, ['COMPLETED', 'FAILED']);
      expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
      expect(done.results.map((r: Doc) => r.name).filter((n: string) => !n.startsWith('logs/'))).toEqual([
        'ok.txt',
      ]);
      for (const path of ['shadow.txt', 'etc/shadow', 'etc/passwd']) {
        const r = await alice.call('GET', `/broker/sessions/${uuid}/results/${path}`);
        expect(r.status, path).toBe(404);
      }
      expect((await alice.call('GET', `/broker/sessions/${uuid}/results/ok.txt`)).text).toBe('ok\n');
    });

    it('SRCNet facade: provision → submit → status with output_data (EB-100..104)', async () => {
      const q = await alice.call('POST', '/broker/query', {
        data_location: 'test-site',
        memory: 1,
        cpu_cores: 1,
        runtime: 1,
      });
      expect(q.json).toEqual({ response_code: 0, response_text: 'OK' });
      const tooBig = await alice.call('POST', '/broker/query', { memory: 1, cpu_cores: 100000, runtime: 1 });
      expect(tooBig.json).toEqual({ response_code: 1, response_text: '100000 CPU cores not available' });
      const p = await alice.call('PUT', '/broker/provision', { memory: 1, cpu_cores: 1, runtime: 1 });
      expect(p.json.response_code).toBe(0);
      const id = p.json.provision_id as string;
      expect(id).toMatch(/^test-site-[0-9a-f-]{36}\.prov$/);
      const s = await alice.call('PUT', `/broker/provision/${id}/submit`, {
        container: 'cutout-stats',
        dataset: publicProduct.did,
        params: { '--size': 16 },
      });
      expect(s.json, s.text).toEqual({
        response_code: 0,
        response_text: 'OK',
        job_id: id.replace(/\.prov$/, '.job'),
      });
      const again = await alice.call('PUT', `/broker/provision/${id}/submit`, {
        container: 'cutout-stats',
        dataset: publicProduct.did,
      });
      expect(again.json.response_code).toBe(2);
      await alice.waitFor(id.slice('test-site-'.length, -'.prov'.length), ['COMPLETED', 'FAILED']);
      const st = await alice.call('GET', `/broker/provision/${id}/status`);
      expect(st.json.response_code, st.text).toBe(0);
      expect(typeof st.json.logging).toBe('string');
      const listing = await alice.call('GET', BrokerClient.path(st.json.output_data));
      const stats = listing.json.find((f: Doc) => f.name === 'stats.json');
      const out = await alice.call('GET', BrokerClient.path(stats.href));
      const ref = referenceStats(publicProduct.path, 16);
      closeTo(out.json.mean, ref.mean, 1e-7);
      // README "job status" code 4: someone else's provision.
      expect((await bob.call('GET', `/broker/provision/${id}/status`)).json).toEqual({
        response_code: 4,
        response_text: 'Access denied',
        logging: '',
        output_data: null,
      });
    });
  });
}
