import { execFileSync } from 'node:child_process';
import { brokerEndToEnd } from '../test/broker/e2e-suite.js';
import { brokerEnforcement } from '../test/broker/enforcement-suite.js';
import { containerLimits } from './broker-limits.js';

// The broker end to end on a real Slurm (conformance/broker-slurm.sh sets this up).
const conf = process.env.VONODE_SLURM_CONF;
if (!conf)
  throw new Error(
    'VONODE_SLURM_CONF is not set: run conformance/broker-slurm.sh, which starts Slurm and sets it',
  );

const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED']);

/** The job still holds its allocation: squeue (with SLURM_CONF, never DNS) reports it active. */
async function jobActive(ref: string): Promise<boolean> {
  const state = execFileSync('squeue', ['-h', '-j', ref, '-o', '%T'], {
    env: { ...process.env, SLURM_CONF: conf },
    encoding: 'utf8',
  }).trim();
  return ACTIVE.has(state);
}

brokerEndToEnd('slurm', { VONODE_BROKER_BACKEND: 'slurm', VONODE_SLURM_CONF: conf }, jobActive);

// Pipelines as Slurm jobs: isolated like the local backend's, the storage grant watched. Their
// cores are Slurm's to hold (TaskPlugin=task/cgroup); slurm-up.sh's task/none does not, so
// the cores check runs for containers only (below).
brokerEnforcement('slurm', { VONODE_BROKER_BACKEND: 'slurm', VONODE_SLURM_CONF: conf }, false);

// Containers inside Slurm jobs (conformance/broker-slurm.sh builds the image): scancel and the
// time limit must remove the container itself, which is not in the job's process tree.
const runtime = process.env.VONODE_TEST_PODMAN_RUNTIME;
const image = process.env.VONODE_TEST_PODMAN_IMAGE;
if (!runtime || !image)
  throw new Error('VONODE_TEST_PODMAN_RUNTIME/IMAGE are not set: run conformance/broker-slurm.sh');
containerLimits('slurm', { VONODE_BROKER_BACKEND: 'slurm', VONODE_SLURM_CONF: conf }, runtime, image);
