import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';
import { BrokerClient, type Doc, demoProducts, type Product } from './helpers.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

/**
 * The SRCNet compute API prototype (ska-src-compute-api) as its own models and README define
 * it (EB-100..104), with the example of the SRCNet interoperability talk, which is also the
 * prototype's own field examples (models/input.py): a QueryInput of data_size 60000 GB,
 * output_data_size 8000 GB, memory 196 GB, 16 cores, runtime 72 h, a K40 GPU; a JobInput
 * running astroimaging/sourcefinder:3.4 with its example params.
 */
const QUERY = {
  data_location: 'SPSRC',
  data_size: 60000,
  output_data_size: 8000,
  memory: 196,
  cpu_cores: 16,
  runtime: 72,
  gpu_model: 'K40',
  deadline: new Date(Date.now() + 10 * 86400_000).toISOString(),
};
const PARAMS = { '--gaussians': 'True', '--maxiter': 1000, '--minsnr': '10' };

describe('SRCNet compute API facade, wire-compatible with the prototype (EB-100..104)', () => {
  let issuer: TestIssuer;
  let big: TestNode;
  let small: TestNode;
  let alice: BrokerClient;
  let bob: BrokerClient;
  let product: Product;
  let runtimeDir: string;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    issuer.keys.push(await signingKey('RS256', 'k1'));
    const auth = {
      VONODE_OIDC_ISSUER: issuer.url,
      VONODE_OIDC_AUDIENCE: 'vonode-test',
      VONODE_BROKER_POLL_MS: '100',
    };
    // A stand-in for the source finder's image: records its arguments and the SHA-256 of the
    // data it sees at /data/dataset (the host side of that mount), and writes a catalogue.
    runtimeDir = mkdtempSync(join(tmpdir(), 'vonode-srcnet-'));
    const runtime = join(runtimeDir, 'fake-run');
    writeFileSync(
      runtime,
      [
        '#!/bin/sh',
        'out=""; data=""',
        'for a in "$@"; do',
        '  case "$a" in',
        '    --volume=*:/output) out=$(printf %s "$a" | sed \'s#^--volume=##; s#:/output$##\') ;;',
        '    --volume=*:/data/dataset:ro) data=$(printf %s "$a" | sed \'s#^--volume=##; s#:/data/dataset:ro$##\') ;;',
        '  esac',
        'done',
        'printf "%s\\n" "$@" > "$out/args.txt"',
        'sha256sum "$data" | cut -d" " -f1 > "$out/input.sha256"',
        'echo "Found 18 sources"',
        'printf "id ra dec\\n1 10.0 20.0\\n" > "$out/catalogue.dat"',
        '',
      ].join('\n'),
    );
    chmodSync(runtime, 0o755);
    // Large enough for the example: 196 GB = 182.5 GiB of memory fits 183 GiB exactly (read as
    // GiB it would not), and 8000 GB = 7450.6 GiB of output fits 7451 GiB only if the 60000 GB
    // of input are read in place rather than counted as scratch.
    big = await startTestNode({
      ...auth,
      VONODE_BROKER_SITE: 'SPSRC',
      VONODE_BROKER_CORES: '16',
      VONODE_BROKER_MEMORY_GIB: '183',
      VONODE_BROKER_GPUS: '1',
      VONODE_BROKER_GPU_MODEL: 'K40',
      // A container granted the GPU gets it as a device (the fake engine only records it).
      VONODE_BROKER_GPU_DEVICES: '/dev/nvidia0',
      VONODE_BROKER_STORAGE_GIB: '7451',
      // The site's scratch in all: room for the provisions of every test here at once.
      VONODE_BROKER_SCRATCH_GIB: '100000',
      VONODE_BROKER_MAX_DURATION: String(72 * 3600),
      VONODE_BROKER_CONTAINER_RUNTIME: `${runtime} run --rm`,
    });
    // Too small: one GiB of memory short, half the cores, no GPU, the default 24 h limit.
    small = await startTestNode({
      ...auth,
      VONODE_BROKER_SITE: 'TINY',
      VONODE_BROKER_CORES: '8',
      VONODE_BROKER_MEMORY_GIB: '182',
      VONODE_BROKER_GPUS: '0',
      VONODE_BROKER_STORAGE_GIB: '100',
      VONODE_BROKER_PEERS: `SPSRC=${big.url}/broker`,
    });
    alice = new BrokerClient(
      big.url,
      await issuer.token({ sub: 'alice', groups: [] }, { aud: 'vonode-test' }),
    );
    bob = new BrokerClient(big.url, await issuer.token({ sub: 'bob', groups: [] }, { aud: 'vonode-test' }));
    product = (await demoProducts(testDatabaseUrl())).find((p) => p.owner === null) as Product;
  });

  afterAll(async () => {
    await small?.stop();
    await big?.stop();
    await issuer?.stop();
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  /** Polls /status until the job is no longer running (code 1); the cap only guards against a hang. */
  async function finished(client: BrokerClient, path: string): Promise<Doc> {
    for (let i = 0; i < 600; i++) {
      const st = await client.call('GET', path);
      if (st.json?.response_code !== 1) return st.json;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${path} still running`);
  }

  it('GET /ping and /health answer as the prototype, without a token, also under /v1', async () => {
    for (const prefix of ['/broker', '/broker/v1']) {
      const ping = await new BrokerClient(big.url).call('GET', `${prefix}/ping`);
      expect(ping.status).toBe(200);
      expect(ping.json).toEqual({ status: 'UP', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
      const health = await new BrokerClient(big.url).call('GET', `${prefix}/health`);
      expect(health.status).toBe(200);
      expect(Object.keys(health.json).sort()).toEqual([
        'dependent_services',
        'number_of_managed_requests',
        'uptime',
      ]);
      expect(health.json.dependent_services.database.status).toBe('UP');
      expect(Number.isInteger(health.json.uptime)).toBe(true);
    }
  });

  it('the example QueryInput on a node large enough: code 0, provisioned, submitted, run, status 0 (EB-100..104)', async () => {
    const q = await alice.call('POST', '/broker/query', QUERY);
    expect(q.status).toBe(200);
    expect(q.json).toEqual({ response_code: 0, response_text: 'OK' });

    const p = await alice.call('PUT', '/broker/v1/provision', QUERY);
    expect(p.status).toBe(200);
    expect(p.json.response_code, p.text).toBe(0);
    expect(p.json.response_text).toBe('OK');
    expect(p.json.provision_id).toMatch(/^SPSRC-[0-9a-f-]{36}\.prov$/);
    const validity = Date.parse(p.json.provision_validity);
    expect(validity).toBeGreaterThan(Date.now());
    // EB-102: units as the prototype means them, on the offer the provision holds.
    const uuid = (p.json.provision_id as string).slice('SPSRC-'.length, -'.prov'.length);
    const offer = (await alice.call('GET', `/broker/sessions/${uuid}`)).json;
    expect(offer.compute.cores.min).toBe(16);
    expect(offer.compute.memory.min).toBe(Math.ceil((196 * 1e9) / 2 ** 30)); // 183 GiB
    expect(offer.compute.gpus.min).toBe(1);
    expect(offer.storage[0].size.min).toBe(Math.ceil((8000 * 1e9) / 2 ** 30)); // output only: 7451 GiB
    expect(offer.schedule.available.duration).toBe('PT72H');

    // The data set named by URL: this node's DataLink #this of a product it holds, mounted in place.
    const dataset = `${TEST_BASE_URL}/datalink/files?ID=${encodeURIComponent(product.did)}`;
    const s = await alice.call('PUT', `/broker/v1/provision/${p.json.provision_id}/submit`, {
      container: 'astroimaging/sourcefinder:3.4',
      dataset,
      params: PARAMS,
      contact_email: 'jdoe@astro.demouniversity.org',
    });
    expect(s.status).toBe(200);
    expect(s.json).toEqual({
      response_code: 0,
      response_text: 'OK',
      job_id: (p.json.provision_id as string).replace(/\.prov$/, '.job'),
    });

    const st = await finished(alice, `/broker/v1/provision/${p.json.provision_id}/status`);
    expect(st.response_code, JSON.stringify(st)).toBe(0);
    expect(st.response_text).toBe('OK');
    // logging is one text (models/response.py: str), output_data one URL (AnyHttpUrl).
    expect(typeof st.logging).toBe('string');
    expect(st.logging).toMatch(/^stdout \| Found 18 sources$/m);
    expect(st.output_data).toMatch(/^http:\/\/vo\.example\.test\/node\/broker\/provision\/SPSRC-.*\/output$/);
    const listing = (await alice.call('GET', BrokerClient.path(st.output_data))).json as Doc[];
    expect(listing.map((f) => f.name).sort()).toEqual(['args.txt', 'catalogue.dat', 'input.sha256']);
    const file = (name: string) =>
      alice.call('GET', BrokerClient.path(listing.find((f) => f.name === name).href));
    const args = (await file('args.txt')).text.trim().split('\n');
    // params become the command's options, after the image (JobInput: "Runtime options for the command").
    expect(args.slice(args.indexOf('astroimaging/sourcefinder:3.4') + 1)).toEqual([
      '--gaussians',
      'True',
      '--maxiter',
      '1000',
      '--minsnr',
      '10',
    ]);
    expect(args).toContain('--cpus=16');
    const sha = createHash('sha256').update(readFileSync(product.path)).digest('hex');
    expect((await file('input.sha256')).text.trim()).toBe(sha);
  });

  it('the same example on a node too small: code 1 naming what is not available (README /query)', async () => {
    const client = new BrokerClient(small.url, alice.token);
    const here = { ...QUERY, data_location: 'TINY' };
    const q = await client.call('POST', '/broker/query', here);
    expect(q.status).toBe(200);
    expect(q.json).toEqual({
      response_code: 1,
      response_text:
        '16 CPU cores, 196 GB memory, K40 GPU, 8000 GB output storage, 72 h runtime not available',
    });
    const p = await client.call('PUT', '/broker/provision', here);
    expect(p.status).toBe(200);
    expect(p.json).toEqual({ ...q.json, provision_id: null, provision_validity: null });
  });

  it("data_location decides the site: a peer that holds the data is asked in this node's stead", async () => {
    const client = new BrokerClient(small.url, alice.token);
    const q = await client.call('POST', '/broker/query', QUERY);
    expect(q.json).toEqual({ response_code: 0, response_text: 'OK' });
    const p = await client.call('PUT', '/broker/provision', QUERY);
    expect(p.json.provision_id, p.text).toMatch(/^SPSRC-/);
    // submit and status to the small node go on to the site in the provision id.
    const s = await client.call('PUT', `/broker/provision/${p.json.provision_id}/submit`, {
      container: 'astroimaging/sourcefinder:3.4',
      dataset: product.did,
      params: PARAMS,
    });
    expect(s.json.response_code, s.text).toBe(0);
    const st = await finished(client, `/broker/provision/${p.json.provision_id}/status`);
    expect(st.response_code, JSON.stringify(st)).toBe(0);
    const nowhere = await client.call('POST', '/broker/query', { ...QUERY, data_location: 'ELSEWHERE' });
    expect(nowhere.json).toEqual({
      response_code: 1,
      response_text: 'data location ELSEWHERE not available: this is site TINY, its peers are SPSRC',
    });
  });

  it('codes 2 and 4: unknown, expired or used provisions; someone else\'s provision is "Access denied"', async () => {
    const p = await alice.call('PUT', '/broker/provision', QUERY);
    const id = p.json.provision_id as string;
    const job = { container: 'astroimaging/sourcefinder:3.4', dataset: product.did, params: PARAMS };
    expect((await bob.call('PUT', `/broker/provision/${id}/submit`, job)).json).toEqual({
      response_code: 4,
      response_text: 'Access denied',
      job_id: null,
    });
    expect((await bob.call('GET', `/broker/provision/${id}/status`)).json.response_code).toBe(4);
    expect((await alice.call('GET', `/broker/provision/${id}/status`)).json).toEqual({
      response_code: 2,
      response_text: 'Invalid job: no job was submitted to this provision',
      logging: '',
      output_data: null,
    });
    const unknown = `SPSRC-${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}.prov`;
    const u = await alice.call('PUT', `/broker/provision/${unknown}/submit`, job);
    expect(u.json).toEqual({
      response_code: 2,
      response_text: `Invalid provision: provision ID ${unknown} unknown`,
      job_id: null,
    });
    expect((await alice.call('PUT', `/broker/provision/${id}/submit`, job)).json.response_code).toBe(0);
    const again = await alice.call('PUT', `/broker/provision/${id}/submit`, job);
    expect(again.json.response_code).toBe(2);
    expect(again.json.response_text).toMatch(/^Invalid provision: /);
    // The prototype's own client calls {api}/{provision_id}/status.
    const st = await finished(alice, `/broker/${id}/status`);
    expect(st.response_code, JSON.stringify(st)).toBe(0);
  });

  it('code 2 "not bookable": the deadline leaves no time to run; bad input is a 422 with detail', async () => {
    const late = await alice.call('POST', '/broker/query', {
      ...QUERY,
      deadline: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(late.json.response_code).toBe(2);
    expect(late.json.response_text).toMatch(/not bookable$/);
    const bad = await alice.call('POST', '/broker/query', { ...QUERY, cpu_cores: 'many' });
    expect(bad.status).toBe(422);
    expect(bad.json.detail[0].loc).toEqual(['body', 'cpu_cores']);
    expect(bad.json.response_code).toBe(1);
    const anonymous = await new BrokerClient(big.url).call('POST', '/broker/query', QUERY);
    expect(anonymous.status).toBe(401);
    // A body the broker's readers refuse (broken YAML, broken JSON) is bad input too, never a 500
    // (the attack suite's fuzzer found PUT /provision answering 500 to broken YAML).
    for (const type of ['application/yaml', 'application/json', 'text/plain'])
      for (const path of ['/broker/provision', '/broker/v1/provision', '/broker/query']) {
        const r = await alice.call(path.endsWith('query') ? 'POST' : 'PUT', path, '{"executable":', {
          'content-type': type,
        });
        expect(r.status, `${type} ${path}: ${r.text}`).toBe(422);
        expect(r.json.response_code, `${type} ${path}`).toBe(1);
      }
  });
});
