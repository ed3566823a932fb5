/**
 * Cores of a local pipeline as a kernel limit (issue 21 item 1): the CPU time of a job
 * granted 1 core that spins two busy processes for 3 s, run through the local backend
 * (control group, CPU quota), against the same script started directly in the same run
 * (no limit). On an idle 2-core machine the reference uses ~2 CPU-s per wall-s and the
 * limited job ~1; on a loaded machine both are lower, and the quota is the figure to read.
 *
 *   sudo npx tsx bench/broker-cores.ts          (root: control groups need it)
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBackend } from '../src/broker/index.js';

const SPIN = `t0=$(date +%s%N)
( while :; do :; done ) & a=$!
( while :; do :; done ) & b=$!
sleep 3
kill $a $b
wait
t1=$(date +%s%N)
echo "wall_ns=$((t1 - t0))"
times`;

function figures(out: string): { wall: number; cpu: number } {
  const wall = Number(/wall_ns=(\d+)/.exec(out)?.[1]) / 1e9;
  const last = out.trim().split('\n').at(-1) ?? '';
  const cpu = [...last.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (t, m) => t + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  return { wall, cpu };
}

async function direct(): Promise<string> {
  const child = spawn('/bin/sh', ['-c', SPIN], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise((r) => child.once('exit', r));
  return out;
}

async function limited(base: string): Promise<{ out: string; how: string }> {
  const backend = new LocalBackend();
  const uuid = randomUUID();
  const workDir = join(base, uuid);
  mkdirSync(join(workDir, 'output'), { recursive: true });
  const ref = await backend.start({
    uuid,
    workDir,
    argv: ['/bin/sh', '-c', SPIN],
    kind: 'command',
    cores: 1,
    memoryGiB: 1,
    seconds: 60,
  });
  for (;;) {
    const w = await backend.poll(ref, workDir);
    if (w.state !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { out: readFileSync(join(workDir, 'stdout.log'), 'utf8'), how: backend.cpuLimit };
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'vonode-bench-cores-'));
  try {
    const ref = figures(await direct());
    const lim = await limited(base);
    const got = figures(lim.out);
    const r = (f: { wall: number; cpu: number }) => f.cpu / f.wall;
    console.log(
      `reference (no limit): wall ${ref.wall.toFixed(2)} s, CPU ${ref.cpu.toFixed(2)} s, ${r(ref).toFixed(2)} CPU-s per s`,
    );
    console.log(
      `1 core (${lim.how}): wall ${got.wall.toFixed(2)} s, CPU ${got.cpu.toFixed(2)} s, ${r(got).toFixed(2)} CPU-s per s`,
    );
    console.log(`limited / reference: ${(r(got) / r(ref)).toFixed(2)}`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
