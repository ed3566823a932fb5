import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isImageProblem, parseImageReference } from '../../src/broker/container.js';
import { openInside } from '../../src/broker/files.js';
import { BrokerError, brokerSettings } from '../../src/broker/index.js';

describe('container fields (issue 13)', () => {
  it('accepts OCI image references and reads their parts', () => {
    const ok = (s: string) => {
      const r = parseImageReference(s);
      if (isImageProblem(r)) throw new Error(`${s}: ${r.problem}`);
      return r;
    };
    expect(ok('busybox')).toMatchObject({ text: 'busybox', repository: 'busybox', registry: undefined });
    expect(ok('docker.io/library/python:3.12')).toMatchObject({
      registry: 'docker.io',
      repository: 'library/python',
      tag: '3.12',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(ok(`localhost:5000/team/tool-x_y@${digest}`)).toMatchObject({
      registry: 'localhost:5000',
      repository: 'team/tool-x_y',
      digest,
    });
    expect(ok('docker://ghcr.io/org/a.b__c:v1.2-rc1').text).toBe('ghcr.io/org/a.b__c:v1.2-rc1');
  });

  it('refuses options, shell characters, whitespace and other transports with the reason', () => {
    for (const [s, why] of [
      ['--privileged', /starts with "-"/],
      ['-v', /starts with "-"/],
      ['busybox --privileged', /whitespace/],
      ['busybox\n--privileged', /whitespace/],
      ['busybox;id', /not a repository name/],
      ['$(id)', /not a repository name/],
      ['`id`', /not a repository name/],
      ['oci-archive:/etc/shadow', /is not a registry host/],
      ['dir:/x', /is not a registry host/],
      ['UPPER', /not a repository name/],
      ['a//b', /not a repository name/],
      ['busybox@sha256:xyz', /not a digest/],
      ['', /empty/],
      ['x'.repeat(600), /longer than 512/],
    ] as const) {
      const r = parseImageReference(s);
      expect(isImageProblem(r), s).toBe(true);
      if (isImageProblem(r)) expect(r.problem, s).toMatch(why);
    }
  });

  it('refuses a runtime prefix or a network that would undo the fixed options', () => {
    const settings = (env: Record<string, string>) => () => brokerSettings(env, []);
    for (const runtime of [
      'podman run --privileged',
      'podman run --network=host',
      'podman run --net host',
      'podman run -v /:/host',
      'docker run --cap-add=SYS_ADMIN',
      'podman run --security-opt seccomp=unconfined',
      'podman run --env-host',
      'podman run --pid=host',
    ]) {
      expect(settings({ VONODE_BROKER_CONTAINER_RUNTIME: runtime }), runtime).toThrow(BrokerError);
    }
    expect(
      settings({
        VONODE_BROKER_CONTAINER_RUNTIME: 'podman run --rm',
        VONODE_BROKER_CONTAINER_NETWORK: 'host',
      }),
    ).toThrow(/never host/);
    const s = brokerSettings({ VONODE_BROKER_CONTAINER_RUNTIME: 'podman --runtime=runc run --rm' }, []);
    expect(s.container).toMatchObject({
      runtime: ['podman', '--runtime=runc', 'run', '--rm'],
      network: 'none',
      pidsLimit: 256,
      user: { uid: 65534, gid: 65534 },
    });
  });
});

describe('downloads from a work folder (issue 13)', () => {
  const root = mkdtempSync(join(tmpdir(), 'vonode-files-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'output', 'sub'), { recursive: true });
  writeFileSync(join(root, 'output', 'sub', 'ok.txt'), 'fine');
  writeFileSync(join(root, 'outside.txt'), 'not an output');
  symlinkSync('/etc/passwd', join(root, 'output', 'passwd'));
  symlinkSync('/etc', join(root, 'output', 'etc'));
  symlinkSync(join(root, 'output', 'sub'), join(root, 'output', 'sub-link'));

  const read = async (...parts: string[]) => {
    const f = await openInside(root, parts);
    if (!f) return undefined;
    const text = (await f.handle.readFile()).toString();
    await f.handle.close();
    return text;
  };

  it('opens regular files reached without links, inside the folder', async () => {
    expect(await read('output', 'sub', 'ok.txt')).toBe('fine');
  });

  it('refuses links (final or in between), dot segments, folders and missing files', async () => {
    expect(await read('output', 'passwd')).toBeUndefined();
    expect(await read('output', 'etc', 'passwd')).toBeUndefined();
    expect(await read('output', 'sub-link', 'ok.txt')).toBeUndefined();
    expect(await read('output', '..', 'outside.txt')).toBeUndefined();
    expect(await read('output', '', 'sub', 'ok.txt')).toBeUndefined();
    expect(await read('output', 'sub')).toBeUndefined();
    expect(await read('output', 'nothing')).toBeUndefined();
  });
});
