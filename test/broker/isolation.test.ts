import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';
import { BrokerClient, type Doc, demoProducts, IVOA_DATA, PIPELINE, type Product } from './helpers.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

const DOCKER = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/docker-container-1.0';

/**
 * Issue 13 ("Broker isolation"): the attacks found on a node with a container runtime,
 * replayed through a real node, the real wrapper and backend code and the real database.
 * The runtime is a stand-in that records what the node hands it (its argv and its own
 * environment) and then plays the attacker's container: it makes outputs that are links
 * to host files and hard links to another group's product.
 */
describe('broker isolation (issue 13)', () => {
  let issuer: TestIssuer;
  let node: TestNode;
  let alice: BrokerClient; // team-a
  let bob: BrokerClient; // team-b
  let runtimeDir: string;
  let publicProduct: Product;
  let proprietary: Product;
  const SECRET = 'node-secret-value-4711';

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    issuer.keys.push(await signingKey('RS256', 'k1'));
    runtimeDir = mkdtempSync(join(tmpdir(), 'vonode-isolation-'));
    const runtime = join(runtimeDir, 'fake-engine');
    // Records argv and its own environment in /output, then acts out the container's
    // command: "steal <file>" makes links to host files and a hard link to <file>;
    // "fail-with-link" replaces its stderr log with a link to /etc/shadow and fails.
    writeFileSync(
      runtime,
      `#!/bin/sh
out=""
prev=""
seen=""
for a in "$@"; do
  case "$prev:$a" in -v:*:/output) out="\${a%:/output}" ;; esac
  case "$a" in --volume=*:/output) out="\${a#--volume=}"; out="\${out%:/output}" ;; esac
  prev="$a"
done
printf "%s\\n" "$@" > "$out/args.txt"
env > "$out/host-env.txt"
work=$(dirname "$out")
for f in "$work"/*.env; do [ -f "$f" ] && cp "$f" "$out/env-file.txt"; done
cmd=""
after=""
for a in "$@"; do
  if [ -n "$after" ]; then cmd="$cmd|$a"; fi
  case "$a" in steal|fail-with-link) after=1; cmd="$a" ;; esac
done
case "$cmd" in
  steal\\|*)
    ln -s /etc/shadow "$out/shadow.txt"
    ln -s /etc "$out/etc"
    ln "\${cmd#steal|}" "$out/stolen.fits"
    echo ok > "$out/plain.txt"
    ln -sf /etc/shadow "$work/stdout.log"
    ;;
  fail-with-link)
    ln -sf /etc/shadow "$work/stderr.log"
    exit 3
    ;;
esac
exit 0
`,
    );
    chmodSync(runtime, 0o755);
    // Set in the node's process: the work must not see the node's environment.
    process.env.VONODE_TEST_NODE_SECRET = SECRET;
    node = await startTestNode({
      VONODE_OIDC_ISSUER: issuer.url,
      VONODE_OIDC_AUDIENCE: 'vonode-test',
      VONODE_BROKER_POLL_MS: '100',
      VONODE_BROKER_CONTAINER_RUNTIME: `${runtime} run --rm`,
      VONODE_BROKER_PIPELINES: JSON.stringify([
        { name: 'sleep', command: ['sleep', '{param:seconds}'], params: { seconds: '1' } },
        { name: 'show-env', command: ['/usr/bin/env'] },
        { name: 'whoami', command: ['/usr/bin/id', '-u'] },
        { name: 'read-shadow', command: ['/bin/cat', '/etc/shadow'] },
      ]),
    });
    alice = new BrokerClient(
      node.url,
      await issuer.token({ sub: 'alice-iso', groups: ['/team-a'] }, { aud: 'vonode-test' }),
    );
    bob = new BrokerClient(
      node.url,
      await issuer.token({ sub: 'bob-iso', groups: ['/team-b'] }, { aud: 'vonode-test' }),
    );
    const products = await demoProducts(testDatabaseUrl());
    publicProduct = products.find((p) => p.owner === null) as Product;
    proprietary = products.find((p) => p.owner === 'team-a') as Product;
    expect(publicProduct).toBeDefined();
    expect(proprietary, 'the demo data have a team-a product').toBeDefined();
  });

  afterAll(async () => {
    delete process.env.VONODE_TEST_NODE_SECRET;
    await node?.stop();
    await issuer?.stop();
    if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
  });

  const container = (extra: Record<string, unknown>, data = true) => ({
    executable: { kind: DOCKER, image: { locations: ['registry.example/tool:1.0'] }, ...extra },
    ...(data
      ? {
          data: [
            {
              kind: IVOA_DATA,
              meta: { name: 'image' },
              ivoa: { obscore: { obs_publisher_did: publicProduct.did } },
            },
          ],
        }
      : {}),
    schedule: { requested: { duration: 'PT5M' } },
  });

  async function run(client: BrokerClient, body: unknown, phases = ['COMPLETED', 'FAILED']): Promise<Doc> {
    const os = await client.call('POST', '/broker/offersets', body);
    expect(os.status, os.text).toBe(200);
    const uuid = os.json.offers[0].meta.uuid as string;
    const acc = await client.setPhase(uuid, 'ACCEPTED');
    expect(acc.status, acc.text).toBe(200);
    return client.waitFor(uuid, phases);
  }

  const result = (client: BrokerClient, doc: Doc, name: string) =>
    client.call('GET', `/broker/sessions/${doc.meta.uuid}/results/${name}`);

  it('issue 13 / EB-34: the environment reaches the container only through the engine env file, never the host side', async () => {
    const value = 'hello $(id) `id` "q" \'s\' ; touch /tmp/pwned';
    const done = await run(alice, container({ environment: { GREETING: value, N: 3 } }));
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    const hostEnv = (await result(alice, done, 'host-env.txt')).text;
    expect(hostEnv).not.toContain('GREETING');
    expect(hostEnv).not.toContain(SECRET); // nor the node's own environment
    const args = (await result(alice, done, 'args.txt')).text.trim().split('\n');
    const envFile = args.find((a: string) => a.startsWith('--env-file='));
    expect(envFile).toMatch(/\/container\.env$/);
    const lines = (await result(alice, done, 'env-file.txt')).text.split('\n');
    expect(lines.sort()).toEqual(['', `GREETING=${value}`, 'N=3']);
  });

  it('issue 13: LD_* and malformed environment names are refused with 400 and the path', async () => {
    for (const [name, why] of [
      ['LD_PRELOAD', /LD_\* variables are reserved/],
      ['BAD-NAME', /not an environment variable name/],
      ['1X', /not an environment variable name/],
    ] as const) {
      const r = await alice.call(
        'POST',
        '/broker/offersets',
        container({ environment: { [name]: '/tmp/x.so' } }),
      );
      expect(r.status, r.text).toBe(400);
      expect(r.json.result).toBe('NO');
      expect(r.json.meta.messages[0].values.path).toBe(`executable.environment.${name}`);
      expect(r.json.meta.messages[0].message).toMatch(why);
    }
    const nl = await alice.call(
      'POST',
      '/broker/offersets',
      container({ environment: { A: 'x\nLD_PRELOAD=/x' } }),
    );
    expect(nl.status).toBe(400);
    expect(nl.json.meta.messages[0].message).toMatch(/NUL, CR or LF/);
  });

  it('issue 13 / EB-34: an image that is an engine option is refused with 400, never run', async () => {
    for (const image of [
      '--privileged',
      '--volume=/:/host',
      '--network=host',
      '-v',
      'busybox --privileged',
      'busybox;id',
      '$(id)',
      'oci-archive:/etc/shadow',
      'Busybox',
      'docker://-x',
    ]) {
      const r = await alice.call(
        'POST',
        '/broker/offersets',
        container({ image: { locations: [image] }, command: ['id'] }),
      );
      expect(r.status, `${image}: ${r.text}`).toBe(400);
      expect(r.json.offers).toEqual([]);
      expect(r.json.meta.messages[0].values.path).toBe('executable.image.locations');
      expect(r.json.meta.messages[0].message).toMatch(/is not an OCI image reference/);
    }
    // the SRCNet facade reads images too
    const p = await alice.call('PUT', '/broker/provision', { memory: 1, cpu_cores: 1, runtime: 1 });
    const s = await alice.call('PUT', `/broker/provision/${p.json.provision_id}/submit`, {
      container: '--privileged',
    });
    // EB-103: the prototype's "job validation error" (code 1), with the reason.
    expect(s.status, s.text).toBe(200);
    expect(s.json.response_code).toBe(1);
    expect(s.json.job_id).toBeNull();
    expect(s.json.response_text).toMatch(/is not an OCI image reference/);
  });

  it("issue 13 / EB-34: the node's run options are fixed; user fields follow '--' as values", async () => {
    const done = await run(
      alice,
      container({ entrypoint: '--privileged', command: ['--volume=/:/host', '--network=host', 'x y'] }),
    );
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    const args = (await result(alice, done, 'args.txt')).text.trim().split('\n');
    const end = args.indexOf('--');
    expect(end).toBeGreaterThan(0);
    const options = args.slice(0, end);
    expect(options.slice(0, 2)).toEqual(['run', '--rm']);
    for (const o of [
      '--network=none',
      '--cap-drop=all',
      '--security-opt=no-new-privileges',
      '--pids-limit=256',
      '--user=65534:65534',
      `--volume=${publicProduct.path}:/data/image:ro`,
      '--entrypoint=--privileged',
    ])
      expect(options).toContain(o);
    expect(options.some((o) => o.endsWith(':/output') && o.startsWith('--volume='))).toBe(true);
    // no option the user wrote became an engine option; no other mount than product and output
    expect(options.filter((o) => o.startsWith('--volume='))).toHaveLength(2);
    expect(options).not.toContain('--privileged');
    expect(options.some((o) => o.includes('/host'))).toBe(false);
    expect(args.slice(end + 1)).toEqual([
      'registry.example/tool:1.0',
      '--volume=/:/host',
      '--network=host',
      'x y',
    ]);
  });

  it('issue 13: a data resource name cannot carry mount options into a container', async () => {
    const body = container({});
    (body.data as Doc[])[0].meta.name = 'image:rw,U';
    const r = await alice.call('POST', '/broker/offersets', body);
    expect(r.status).toBe(400);
    expect(r.json.meta.messages[0].values.path).toBe('data[0].meta.name');
  });

  it('issue 13: result and log downloads follow no link and serve no hard link to a file elsewhere (404)', async () => {
    const done = await run(bob, container({ command: ['steal', proprietary.path] }));
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    const names = done.results.map((r: Doc) => r.name);
    expect(names).toContain('plain.txt');
    for (const hidden of ['shadow.txt', 'etc']) expect(names).not.toContain(hidden);
    expect((await result(bob, done, 'plain.txt')).text).toBe('ok\n');
    const shadow = readFileSync('/etc/shadow', 'utf8').split('\n')[0];
    for (const path of ['shadow.txt', 'etc/shadow', 'etc/passwd', 'stolen.fits']) {
      const r = await result(bob, done, path);
      expect(r.status, path).toBe(404);
      expect(r.text).not.toContain(shadow);
      expect(r.json.messages[0].message).toBe(`no result ${path} in session ${done.meta.uuid}`);
    }
    const log = await bob.call('GET', `/broker/sessions/${done.meta.uuid}/logs/stdout.log`);
    expect(log.status).toBe(404);
    // the owner's product is untouched and still readable by its group only
    expect(readFileSync(proprietary.path).length).toBeGreaterThan(0);
  });

  it("issue 13: a failed job's stderr tail is not read through a link", async () => {
    const done = await run(alice, container({ command: ['fail-with-link'] }));
    expect(done.phase).toBe('FAILED');
    const last = done.meta.messages.at(-1);
    expect(last.type).toBe('uri:execution-failed');
    expect(last.message).toBe('the work exited with status 3');
  });

  it('issue 13: a local pipeline gets none of the node environment', async () => {
    const done = await run(alice, { executable: { kind: PIPELINE, pipeline: 'show-env' } });
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    const log = await alice.call('GET', `/broker/sessions/${done.meta.uuid}/logs/stdout.log`);
    expect(log.status).toBe(200);
    expect(log.text).toMatch(/^PATH=/m);
    expect(log.text).not.toContain(SECRET);
    expect(log.text).not.toMatch(/^(DATABASE_URL|VONODE_)/m);
  });

  it('issue 13: local pipelines run as an unprivileged user and cannot read root-only host files', async () => {
    const who = await run(alice, { executable: { kind: PIPELINE, pipeline: 'whoami' } });
    expect(who.phase, JSON.stringify(who.meta.messages)).toBe('COMPLETED');
    const uid = Number((await alice.call('GET', `/broker/sessions/${who.meta.uuid}/logs/stdout.log`)).text);
    // as root the node drops to its vonode-broker user; otherwise the work runs as the node's own user
    if (process.getuid?.() === 0) expect(uid).toBeGreaterThan(0);
    else expect(uid).toBe(process.getuid?.());
    const shadow = await run(alice, { executable: { kind: PIPELINE, pipeline: 'read-shadow' } });
    expect(shadow.phase).toBe('FAILED');
    expect(shadow.meta.messages.at(-1).message).toMatch(/Permission denied/);
    const out = await alice.call('GET', `/broker/sessions/${shadow.meta.uuid}/logs/stdout.log`);
    expect(out.text).toBe('');
  });

  it("issue 13: a pipeline parameter cannot become the site program's option", async () => {
    const r = await alice.call('POST', '/broker/offersets', {
      executable: { kind: PIPELINE, pipeline: 'sleep', params: { seconds: '--help' } },
    });
    expect(r.status, r.text).toBe(422);
    expect(r.json.meta.messages[0].message).toMatch(/starts with '-'/);
  });

  it('issue 13 item 4: a non-member gets exactly the answer for a product that does not exist (no 403)', async () => {
    const ask = (did: string) =>
      bob.call('POST', '/broker/offersets', {
        executable: { kind: PIPELINE, pipeline: 'cutout-stats' },
        data: [{ kind: IVOA_DATA, meta: { name: 'image' }, ivoa: { obscore: { obs_publisher_did: did } } }],
      });
    const missing = 'ivo://example.test/none?no-such-product';
    const hidden = await ask(proprietary.did);
    const absent = await ask(missing);
    expect(hidden.status).toBe(absent.status);
    expect(hidden.status).toBe(422);
    const strip = (d: Doc, id: string) =>
      d.meta.messages.map((m: Doc) => ({ ...m, time: '', message: m.message.replace(id, '<id>') }));
    expect(strip(hidden.json, proprietary.did)).toEqual(strip(absent.json, missing));
    expect(hidden.text).not.toMatch(/proprietary|forbidden|release/i);
    const member = await alice.call('POST', '/broker/offersets', {
      executable: { kind: PIPELINE, pipeline: 'cutout-stats' },
      data: [
        {
          kind: IVOA_DATA,
          meta: { name: 'image' },
          ivoa: { obscore: { obs_publisher_did: proprietary.did } },
        },
      ],
    });
    expect(member.status, member.text).toBe(200);
  });
});
