import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';
import { BrokerClient, type Doc, demoProducts, IVOA_DATA, PIPELINE, type Product } from './helpers.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

// Two nodes on loopback: "hub" asks its configured peer for offers too (EB-08), and runs
// with a per-user quota of one unfinished session and no GPUs.
describe('broker federation, quotas and capacity', () => {
  let issuer: TestIssuer;
  let peer: TestNode;
  let hub: TestNode;
  let token: string;
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
    const sleep = JSON.stringify([{ name: 'sleep', command: ['sleep', '{param:seconds}'] }]);
    // A stand-in container runtime: records the options the broker gives it in /output.
    runtimeDir = mkdtempSync(join(tmpdir(), 'vonode-runtime-'));
    const runtime = join(runtimeDir, 'fake-run');
    writeFileSync(
      runtime,
      [
        '#!/bin/sh',
        'out=""',
        'prev=""',
        'for a in "$@"; do',
        '  case "$a" in --volume=*:/output) out=$(printf %s "$a" | sed \'s#^--volume=##; s#:/output$##\') ;; esac',
        '  prev="$a"',
        'done',
        'printf "%s\\n" "$@" > "$out/args.txt"',
        '',
      ].join('\n'),
    );
    chmodSync(runtime, 0o755);
    peer = await startTestNode({
      ...auth,
      VONODE_BROKER_SITE: 'peer-site',
      VONODE_BROKER_CONTAINER_RUNTIME: `${runtime} run --rm`,
    });
    hub = await startTestNode({
      ...auth,
      VONODE_BROKER_SITE: 'hub-site',
      VONODE_BROKER_PEERS: `peer-site=${peer.url}/broker`,
      VONODE_BROKER_MAX_ACTIVE_PER_USER: '1',
      VONODE_BROKER_PIPELINES: sleep,
    });
    token = await issuer.token({ sub: 'dana', groups: [] }, { aud: 'vonode-test' });
    product = (await demoProducts(testDatabaseUrl())).find((p) => p.owner === null) as Product;
  });

  afterAll(async () => {
    await hub?.stop();
    await peer?.stop();
    await issuer?.stop();
    rmSync(runtimeDir, { recursive: true, force: true });
  });

  const request = (did: string) => ({
    executable: { kind: PIPELINE, pipeline: 'cutout-stats' },
    data: [{ kind: IVOA_DATA, meta: { name: 'image' }, ivoa: { obscore: { obs_publisher_did: did } } }],
  });

  it("returns the peer's offers labelled with its site, after its own (data local here first)", async () => {
    const client = new BrokerClient(hub.url, token);
    const r = await client.call('POST', '/broker/offersets', request(product.did));
    expect(r.status, r.text).toBe(200);
    expect(r.json.offers.map((o: Doc) => o.site)).toEqual(['hub-site', 'peer-site']);
    const remote = r.json.offers[1];
    expect(remote.phase).toBe('OFFERED');
    // The peer's offer is the peer's session, accepted at the peer with the same token.
    const atPeer = new BrokerClient(peer.url, token);
    const acc = await atPeer.setPhase(remote.meta.uuid, 'ACCEPTED');
    expect(acc.status, acc.text).toBe(200);
    const done = await atPeer.waitFor(remote.meta.uuid, ['COMPLETED', 'FAILED']);
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    expect(done.site).toBe('peer-site');
  });

  it('the peer does not forward again (one hop)', async () => {
    const r = await new BrokerClient(peer.url, token).call('POST', '/broker/offersets', request(product.did));
    expect(r.json.offers.map((o: Doc) => o.site)).toEqual(['peer-site']);
  });

  it('refuses GPUs this node does not have', async () => {
    const r = await new BrokerClient(peer.url, token).call('POST', '/broker/offersets', {
      ...request(product.did),
      compute: {
        kind: 'urn:vonode:broker:types:compute:gpu-compute-resource-1.0',
        gpus: { min: 1 },
        gpu_model: 'A100',
      },
    });
    expect(r.status).toBe(422);
    expect(r.json.meta.messages[0].values.path).toBe('compute.gpus.min');
  });

  it('enforces the per-user quota of unfinished sessions, and frees it on cancel', async () => {
    const user = await issuer.token({ sub: 'erin', groups: [] }, { aud: 'vonode-test' });
    const client = new BrokerClient(hub.url, user);
    const sleepReq = { executable: { kind: PIPELINE, pipeline: 'sleep', params: { seconds: '120' } } };
    const first = await client.call('POST', '/broker/offersets', sleepReq, { 'x-vonode-broker-hop': '1' });
    const uuid = first.json.offers[0].meta.uuid;
    expect((await client.setPhase(uuid, 'ACCEPTED')).status).toBe(200);
    const second = await client.call('POST', '/broker/offersets', sleepReq, { 'x-vonode-broker-hop': '1' });
    expect(second.status).toBe(422);
    expect(second.json.meta.messages[0].type).toBe('uri:quota-exceeded');
    expect(second.json.meta.messages[0].message).toMatch(/limit per user is 1/);
    expect((await client.setPhase(uuid, 'CANCELLED')).status).toBe(200);
    const third = await client.call('POST', '/broker/offersets', sleepReq, { 'x-vonode-broker-hop': '1' });
    expect(third.status, third.text).toBe(200);
  });

  it('runs a container through the configured runtime with the data read-only and /output mounted', async () => {
    const client = new BrokerClient(peer.url, token);
    const r = await client.call('POST', '/broker/offersets', {
      executable: {
        kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/docker-container-1.0',
        image: { locations: ['registry.example/tool:1.0'] },
        entrypoint: '/bin/tool',
        command: ['--fast', 'x y'],
      },
      data: request(product.did).data,
    });
    expect(r.status, r.text).toBe(200);
    const uuid = r.json.offers[0].meta.uuid;
    await client.setPhase(uuid, 'ACCEPTED');
    const done = await client.waitFor(uuid, ['COMPLETED', 'FAILED']);
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    const args = await client.call(
      'GET',
      BrokerClient.path(done.results.find((x: Doc) => x.name === 'args.txt').href),
    );
    const lines = args.text.trim().split('\n');
    expect(lines.slice(0, 2)).toEqual(['run', '--rm']);
    expect(lines).toContain(`--volume=${product.path}:/data/image:ro`);
    expect(lines.slice(-5)).toEqual([
      '--entrypoint=/bin/tool',
      '--',
      'registry.example/tool:1.0',
      '--fast',
      'x y',
    ]);
  });
});
