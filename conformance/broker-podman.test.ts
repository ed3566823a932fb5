import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../test/auth/issuer.js';
import { BrokerClient, type Doc, demoProducts, IVOA_DATA, type Product } from '../test/broker/helpers.js';
import { testDatabaseUrl } from '../test/support/db.js';
import { startTestNode } from '../test/support/node.js';
import { containerLimits } from './broker-limits.js';

// Issue 13 on a real engine (conformance/broker-podman.sh builds the image and sets these).
const runtime = process.env.VONODE_TEST_PODMAN_RUNTIME;
const image = process.env.VONODE_TEST_PODMAN_IMAGE;
if (!runtime || !image)
  throw new Error('VONODE_TEST_PODMAN_RUNTIME/IMAGE are not set: run conformance/broker-podman.sh');

const DOCKER = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/docker-container-1.0';

/** What the attacker's container tries, written to /output/report.txt by busybox's sh. */
const PROBE = [
  'exec > /output/report.txt 2>&1',
  'echo "uid=$(id -u) gid=$(id -g)"',
  'grep CapEff /proc/self/status',
  'echo "net=$(ls /sys/class/net | tr "\\n" " ")"',
  'echo "data=$(ls /data | tr "\\n" " ")"',
  'echo "bytes=$(wc -c < /data/image)"',
  'echo "greeting=$GREETING"',
  'echo "secret=[$VONODE_TEST_NODE_SECRET]"',
  'echo "root=$(ls / | tr "\\n" " ")"',
  'if cat /etc/shadow >/dev/null 2>&1; then echo shadow=readable; else echo shadow=absent; fi',
  'if echo x > /data/image 2>/dev/null; then echo datawrite=allowed; else echo datawrite=refused; fi',
  'if mount -t proc proc /tmp 2>/dev/null; then echo mount=allowed; else echo mount=refused; fi',
  'ln -s /etc/shadow /output/shadow.txt',
  'ln -s / /output/root',
  'echo done',
].join('\n');

describe(`broker isolation on a real engine (${runtime})`, () => {
  let issuer: TestIssuer;
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let alice: BrokerClient;
  let bob: BrokerClient;
  let publicProduct: Product;
  let proprietary: Product;
  const SECRET = 'node-secret-value-4711';

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    issuer.keys.push(await signingKey('RS256', 'k1'));
    process.env.VONODE_TEST_NODE_SECRET = SECRET;
    node = await startTestNode({
      VONODE_OIDC_ISSUER: issuer.url,
      VONODE_OIDC_AUDIENCE: 'vonode-test',
      VONODE_BROKER_POLL_MS: '200',
      VONODE_BROKER_CONTAINER_RUNTIME: runtime,
      VONODE_BROKER_CONTAINER_IMAGES: 'localhost/',
    });
    alice = new BrokerClient(
      node.url,
      await issuer.token({ sub: 'alice-podman', groups: ['/team-a'] }, { aud: 'vonode-test' }),
    );
    bob = new BrokerClient(
      node.url,
      await issuer.token({ sub: 'bob-podman', groups: ['/team-b'] }, { aud: 'vonode-test' }),
    );
    const products = await demoProducts(testDatabaseUrl());
    publicProduct = products.find((p) => p.owner === null) as Product;
    proprietary = products.find((p) => p.owner === 'team-a') as Product;
  });

  afterAll(async () => {
    delete process.env.VONODE_TEST_NODE_SECRET;
    await node?.stop();
    await issuer?.stop();
  });

  const request = (did: string, extra: Record<string, unknown> = {}) => ({
    executable: {
      kind: DOCKER,
      image: { locations: [image] },
      entrypoint: '/bin/sh',
      command: ['-c', PROBE],
      environment: { GREETING: 'hello $(id) `id`; x' },
      ...extra,
    },
    data: [{ kind: IVOA_DATA, meta: { name: 'image' }, ivoa: { obscore: { obs_publisher_did: did } } }],
    schedule: { requested: { duration: 'PT5M' } },
  });

  it('issue 13: the container sees its product read-only and its output, nothing of the host; links are not served', async () => {
    const os = await bob.call('POST', '/broker/offersets', request(publicProduct.did));
    expect(os.status, os.text).toBe(200);
    const uuid = os.json.offers[0].meta.uuid;
    expect((await bob.setPhase(uuid, 'ACCEPTED')).status).toBe(200);
    const done = await bob.waitFor(uuid, ['COMPLETED', 'FAILED'], 1200);
    const report = await bob.call('GET', `/broker/sessions/${uuid}/results/report.txt`);
    expect(done.phase, `${JSON.stringify(done.meta.messages)}\n${report.text}`).toBe('COMPLETED');
    const r = Object.fromEntries(
      report.text
        .trim()
        .split('\n')
        .map((l: string) => l.replace(/^CapEff:\s*/, 'capeff='))
        .map((l: string) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(r.uid).toBe('65534 gid=65534');
    expect(r.capeff).toBe('0000000000000000');
    expect(r.net.trim()).toBe('lo');
    expect(r.data.trim()).toBe('image');
    expect(Number(r.bytes)).toBe(readFileSync(publicProduct.path).length);
    expect(r.greeting).toBe('hello $(id) `id`; x');
    expect(r.secret).toBe('[]');
    expect(r.shadow).toBe('absent');
    expect(r.mount).toBe('refused');
    expect(r.datawrite).toBe('refused');
    expect(r.root.split(' ')).not.toContain('root');
    expect(report.text.trim().endsWith('done')).toBe(true);
    const names = done.results.map((x: Doc) => x.name);
    expect(names).toContain('report.txt');
    for (const path of ['shadow.txt', 'root/etc/shadow', 'root/etc/passwd']) {
      const got = await bob.call('GET', `/broker/sessions/${uuid}/results/${path}`);
      expect(got.status, path).toBe(404);
    }
  });

  it('issue 13: option injection through the image and LD_* through the environment are refused before anything runs', async () => {
    for (const bad of ['--privileged', '--volume=/:/host', '--network=host']) {
      const r = await bob.call(
        'POST',
        '/broker/offersets',
        request(publicProduct.did, { image: { locations: [bad] } }),
      );
      expect(r.status, bad).toBe(400);
    }
    const ld = await bob.call(
      'POST',
      '/broker/offersets',
      request(publicProduct.did, { environment: { LD_PRELOAD: '/output/evil.so' } }),
    );
    expect(ld.status).toBe(400);
    // an image outside the site's allow-list
    const other = await bob.call(
      'POST',
      '/broker/offersets',
      request(publicProduct.did, { image: { locations: ['docker.io/library/alpine:3'] } }),
    );
    expect(other.status).toBe(422);
    expect(other.json.meta.messages[0].message).toMatch(/not one this site runs/);
  });

  it("issue 13: another group's embargoed product is never mounted (answered as absent)", async () => {
    const r = await bob.call('POST', '/broker/offersets', request(proprietary.did));
    expect(r.status).toBe(422);
    expect(r.json.meta.messages[0].type).toBe('uri:resource-not-found');
    const own = await alice.call('POST', '/broker/offersets', request(proprietary.did));
    expect(own.status, own.text).toBe(200);
  });

  it("issue 21: a container cannot read an embargoed product, the database folder or another session's output by their host paths", async () => {
    const db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    const dbDir = (await db.query<{ d: string }>("SELECT current_setting('data_directory') AS d")).rows[0].d;
    await db.end();
    const first = await run(alice, {
      ...request(publicProduct.did),
      executable: {
        ...request(publicProduct.did).executable,
        command: ['-c', 'echo s3cret > /output/secret.txt'],
      },
    });
    expect(first.phase).toBe('COMPLETED');
    const other = join(node.dataDir, 'broker', first.meta.uuid, 'output', 'secret.txt');
    expect(readFileSync(other, 'utf8')).toBe('s3cret\n');
    const paths = [proprietary.path, join(dbDir, 'PG_VERSION'), other, node.dataDir];
    const script =
      'exec > /output/probe.txt 2>&1; for p in "$@"; do if [ -e "$p" ]; then echo "$p visible"; else echo "$p absent"; fi; done';
    const probe = await run(bob, {
      ...request(publicProduct.did),
      executable: { ...request(publicProduct.did).executable, command: ['-c', script, 'probe', ...paths] },
    });
    expect(probe.phase, JSON.stringify(probe.meta.messages)).toBe('COMPLETED');
    const text = (await bob.call('GET', `/broker/sessions/${probe.meta.uuid}/results/probe.txt`)).text;
    expect(text.trim().split('\n')).toEqual(paths.map((p) => `${p} absent`));
  });

  async function run(client: BrokerClient, body: unknown): Promise<Doc> {
    const os = await client.call('POST', '/broker/offersets', body);
    expect(os.status, os.text).toBe(200);
    const uuid = os.json.offers[0].meta.uuid;
    expect((await client.setPhase(uuid, 'ACCEPTED')).status).toBe(200);
    return client.waitFor(uuid, ['COMPLETED', 'FAILED'], 1200);
  }
});

containerLimits('local', {}, runtime, image);
