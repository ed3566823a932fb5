import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wrapperScript } from '../../src/broker/backend.js';
import { createGroup, detectCgroups, removeGroup } from '../../src/broker/cgroup.js';
import {
  type ContainerPolicy,
  containerArgv,
  containerName,
  containerStopArgv,
  parseImageReference,
  runtimeProblem,
} from '../../src/broker/container.js';
import { isolationPrefix } from '../../src/broker/isolate.js';
import { folderBytes } from '../../src/broker/scratch.js';

const tmp = mkdtempSync(join(tmpdir(), 'vonode-limits-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const policy = (runtime: string[], gpuDevices: string[] = []): ContainerPolicy => ({
  runtime,
  network: 'none',
  pidsLimit: 256,
  nofile: 1024,
  user: { uid: 65534, gid: 65534 },
  images: [],
  gpuDevices,
});
const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
const run = (extra: Record<string, unknown> = {}) => ({
  image: parseImageReference('localhost/tool:1') as Exclude<
    ReturnType<typeof parseImageReference>,
    { problem: string }
  >,
  command: ['--x', '1'],
  hasEnvironment: false,
  mounts: [],
  workDir: '/srv/work',
  outputDir: '/srv/work/output',
  cores: 2,
  memoryGiB: 3,
  name: containerName(uuid),
  seconds: 600,
  storageBytes: 2 ** 30,
  ...extra,
});

describe('container grants as engine options (issue 21 item 1)', () => {
  it('EB-40/EB-42: the container has a name the broker owns, cores, memory, a file-size limit and a read-only image', () => {
    const argv = containerArgv(policy(['podman', 'run', '--rm']), run());
    const image = argv.indexOf('--');
    const opts = argv.slice(0, image);
    expect(opts).toContain(`--name=vonode-${uuid}`);
    expect(opts).toContain('--cpus=2');
    expect(opts).toContain('--memory=3g');
    expect(opts).toContain('--memory-swap=3g');
    expect(opts).toContain(`--ulimit=fsize=${2 ** 30 + 2 ** 20}:${2 ** 30 + 2 ** 20}`);
    expect(opts).toContain('--read-only');
    expect(opts).toContain('--read-only-tmpfs=false');
    expect(opts.some((o) => o.startsWith('--tmpfs=/tmp:'))).toBe(true);
    // podman's own time limit: the granted duration plus a grace, a backstop for a stopped node
    expect(opts).toContain('--timeout=630');
    expect(argv.slice(image + 1)).toEqual(['localhost/tool:1', '--x', '1']);
  });

  it('EB-41: granted GPUs are the first devices the site lists; more than it lists is refused', () => {
    const p = policy(['podman', 'run', '--rm'], ['/dev/nvidia0', '/dev/nvidia1']);
    const argv = containerArgv(p, run({ gpus: 1 }));
    expect(argv.filter((a) => a.startsWith('--device='))).toEqual(['--device=/dev/nvidia0']);
    expect(containerArgv(p, run({ gpus: 0 })).some((a) => a.startsWith('--device='))).toBe(false);
    expect(() => containerArgv(p, run({ gpus: 3 }))).toThrow(/3 GPUs granted but the site lists 2/);
  });

  it('docker has no --timeout or --read-only-tmpfs; the rest is the same', () => {
    const argv = containerArgv(policy(['/usr/bin/docker', 'run', '--rm']), run());
    expect(argv.some((a) => a.startsWith('--timeout'))).toBe(false);
    expect(argv).not.toContain('--read-only-tmpfs=false');
    expect(argv).toContain(`--name=vonode-${uuid}`);
  });

  it('the stop argv removes the container by name at once, whatever the engine prefix', () => {
    expect(containerStopArgv(['podman', '--runtime=runc', 'run', '--rm'], 'vonode-x')).toEqual([
      'podman',
      '--runtime=runc',
      'rm',
      '--force',
      '--time=0',
      '--ignore',
      'vonode-x',
    ]);
    expect(containerStopArgv(['docker', 'run', '--rm'], 'vonode-x')).toEqual([
      'docker',
      'rm',
      '--force',
      'vonode-x',
    ]);
  });

  it('a site prefix may not name containers itself', () => {
    expect(runtimeProblem(['podman', 'run', '--name=x'])).toMatch(/set by the node itself/);
    expect(runtimeProblem(['podman', 'run', '--name', 'x'])).toMatch(/set by the node itself/);
  });

  it("the wrapper runs a container's client in the background and removes the container on TERM", () => {
    const text = wrapperScript({
      uuid,
      workDir: '/srv/work',
      argv: ['podman', 'run'],
      kind: 'container',
      cores: 1,
      memoryGiB: 1,
      seconds: 60,
      stopArgv: ['podman', 'rm', '--force', "it's"],
    });
    expect(text).toContain(`stop_container() { 'podman' 'rm' '--force' 'it'\\''s' >/dev/null 2>&1; }`);
    expect(text).toContain("trap 'stop_container; exit 143' TERM INT HUP");
    expect(text).toMatch(/'podman' 'run' >stdout\.log 2>stderr\.log <\/dev\/null &\nwait \$!\ncode=\$\?/);
  });
});

describe('control groups of local commands (issue 21 item 1)', () => {
  it("v1: a CPU quota of cores × period and a memory limit, below the node's own group", () => {
    const root = join(tmp, 'v1');
    mkdirSync(join(root, 'cpu'), { recursive: true });
    mkdirSync(join(root, 'memory'), { recursive: true });
    writeFileSync(join(root, 'cpu', 'cpu.cfs_quota_us'), '-1');
    const layout = detectCgroups(root);
    if (process.getuid?.() !== 0) {
      expect(layout).toBeUndefined(); // only root makes groups
      return;
    }
    expect(layout?.version).toBe(1);
    if (layout?.version !== 1) return;
    const procs = createGroup(layout, uuid, 2, 3 * 2 ** 30);
    expect(procs).toEqual([
      join(layout.cpu, uuid, 'cgroup.procs'),
      join(layout.memory, uuid, 'cgroup.procs'),
    ]);
    expect(readFileSync(join(layout.cpu, uuid, 'cpu.cfs_quota_us'), 'utf8')).toBe('200000');
    expect(readFileSync(join(layout.cpu, uuid, 'cpu.cfs_period_us'), 'utf8')).toBe('100000');
    expect(readFileSync(join(layout.memory, uuid, 'memory.limit_in_bytes'), 'utf8')).toBe(
      String(3 * 2 ** 30),
    );
    expect(() => createGroup(layout, '../../etc', 1, 1)).toThrow(/not a session uuid/);
    removeGroup(layout, uuid); // the files in a plain folder keep it; a kernel group has none
  });
});

describe('isolation of local commands (issue 21 item 1)', () => {
  it('hides the given folders and the fixed ones, keeps products and the work folder, drops to the user', () => {
    const argv = isolationPrefix({
      hide: ['/srv/vonode'],
      readable: ['/srv/vonode/products/a.fits'],
      workDir: '/srv/vonode/broker/x',
      user: { uid: 999, gid: 995 },
    });
    expect(argv.slice(1, 9)).toEqual([
      '--mount',
      '--propagation=private',
      '--pid',
      '--fork',
      '--mount-proc',
      '--ipc',
      '--net',
      '--',
    ]);
    const rest = argv.slice(argv.indexOf('vonode-isolate') + 1);
    const nHidden = Number(rest[0]);
    expect(rest.slice(1, 1 + nHidden)).toEqual(
      expect.arrayContaining(['/srv/vonode', '/root', '/home', '/run']),
    );
    expect(rest).toContain('/srv/vonode/products/a.fits');
    expect(argv).toEqual(
      expect.arrayContaining([
        '--reuid=999',
        '--regid=995',
        '--clear-groups',
        '--inh-caps=-all',
        '--no-new-privs',
      ]),
    );
    expect(argv.at(-1)).toBe('--');
    expect(() =>
      isolationPrefix({ hide: ['relative'], readable: [], workDir: '/w', user: { uid: 1, gid: 1 } }),
    ).toThrow();
  });
});

describe('storage of a work folder (EB-42)', () => {
  it('counts files in sub-folders, not what links point to, and stops counting past the limit', async () => {
    const d = join(tmp, 'work');
    mkdirSync(join(d, 'output', 'sub'), { recursive: true });
    writeFileSync(join(d, 'output', 'a'), Buffer.alloc(100_000));
    writeFileSync(join(d, 'output', 'sub', 'b'), Buffer.alloc(200_000));
    symlinkSync('/usr', join(d, 'output', 'link'));
    const total = await folderBytes(d);
    expect(total).toBeGreaterThanOrEqual(300_000);
    expect(total).toBeLessThan(400_000);
    expect(await folderBytes(d, 50_000)).toBeGreaterThan(50_000);
    expect(await folderBytes(join(tmp, 'missing'))).toBe(0);
  });
});
