import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Backend, type WorkSpec, type WorkState, WRAPPER, wrapperScript } from './backend.js';
import { BrokerError } from './errors.js';
import { canIsolate, isolatedCommand } from './isolate.js';
import { PRLIMIT, readExit, runStop } from './local.js';

/** A job waiting for resources: the session is WAITING, and its time limit starts when this ends. */
const QUEUED = new Set(['PENDING', 'REQUEUED']);
const ACTIVE = new Set(['CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'RESIZING']);

/**
 * Runs work as Slurm batch jobs. Every client call gets SLURM_CONF in its environment:
 * without it the clients look the controller up in DNS (SRV records), which would send
 * traffic off this machine. The outcome is read from the wrapper's exit file first, then
 * from squeue; a job that left the queue with no exit file was killed (cancel, time limit,
 * node failure).
 */
export class SlurmBackend implements Backend {
  readonly name = 'slurm';

  constructor(
    private readonly slurmConf: string,
    private readonly partition?: string,
    private readonly timeoutMs = 30_000,
    /**
     * When the node submits as root (Slurm then runs the job as root), a site pipeline runs
     * isolated as this user, hiding these folders, as on the local backend (isolate.ts). The
     * compute node needs util-linux at the same paths; the uid need not have a name there.
     */
    private readonly isolation?: {
      readonly runAs: { uid: number; gid: number };
      readonly hide: readonly string[];
    },
  ) {}

  private run(cmd: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        cmd,
        args,
        { env: { ...process.env, SLURM_CONF: this.slurmConf }, timeout: this.timeoutMs, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          if (err)
            reject(
              new BrokerError(503, 'uri:backend-failed', `${cmd} failed: ${(stderr || err.message).trim()}`),
            );
          else resolve(stdout);
        },
      );
    });
  }

  async start(work: WorkSpec): Promise<string> {
    const iso = this.isolation;
    const fsize = work.scratchBytes !== undefined ? Math.ceil(work.scratchBytes) + 2 ** 20 : undefined;
    const prefix =
      work.kind === 'command' && iso && canIsolate()
        ? await isolatedCommand(
            { hide: iso.hide, readable: work.readable ?? [], workDir: work.workDir, user: iso.runAs },
            PRLIMIT && fsize !== undefined ? [PRLIMIT, `--fsize=${fsize}`, '--'] : [],
          )
        : [];
    const script = join(work.workDir, WRAPPER);
    await writeFile(script, wrapperScript(work, prefix));
    await chmod(script, 0o755);
    const args = [
      '--parsable',
      // The job gets none of the node's environment (DATABASE_URL, secrets): the wrapper sets
      // the few host variables it needs, and a container's environment is in its env file.
      '--export=NONE',
      `--job-name=vonode-${work.uuid}`,
      `--chdir=${work.workDir}`,
      `--output=${join(work.workDir, 'slurm.out')}`,
      `--cpus-per-task=${work.cores}`,
      `--mem=${Math.max(1, work.memoryGiB) * 1024}M`,
      `--time=${Math.max(1, Math.ceil(work.seconds / 60))}`,
      ...(work.gpus ? [`--gres=gpu:${work.gpus}`] : []),
      ...(this.partition ? [`--partition=${this.partition}`] : []),
      script,
    ];
    const out = (await this.run('sbatch', args)).trim();
    const id = out.split(';')[0];
    if (!/^\d+$/.test(id))
      throw new BrokerError(503, 'uri:backend-failed', `sbatch answered "${out}", not a job id`);
    return id;
  }

  async poll(ref: string, workDir: string): Promise<WorkState> {
    const code = await readExit(workDir);
    if (code !== undefined) return { state: 'exited', code };
    const state = (await this.run('squeue', ['-h', '-j', ref, '-o', '%T']).catch(() => '')).trim();
    if (QUEUED.has(state)) return { state: 'queued' };
    if (ACTIVE.has(state)) return { state: 'running' };
    const again = await readExit(workDir);
    if (again !== undefined) return { state: 'exited', code: again };
    if (state === '') {
      // squeue forgets finished jobs after MinJobAge; sacct -c reads the completion log if one is kept.
      const acct = (
        await this.run('sacct', ['-c', '-n', '-P', '-j', ref, '-o', 'State']).catch(() => '')
      ).trim();
      return {
        state: 'lost',
        reason: `Slurm job ${ref} ended without an exit status${acct ? ` (${acct.split('\n')[0]})` : ''}`,
      };
    }
    return { state: 'lost', reason: `Slurm job ${ref} is ${state}` };
  }

  /**
   * scancel ends the batch job: Slurm sends SIGTERM to the wrapper, whose trap removes a
   * container by its name on the compute node (the engine's container is not in the job's
   * process tree). On a node that also runs the engine, the name is removed here as well.
   */
  async cancel(ref: string, _workDir: string, stopArgv?: readonly string[]): Promise<void> {
    if (/^\d+$/.test(ref)) await this.run('scancel', [ref]);
    if (stopArgv?.length) await runStop(stopArgv).catch(() => {});
  }
}
