/**
 * Runs one check of the attack suite by name: `npx tsx conformance/attack/run.ts <check>`.
 * attack.sh sets the environment (ATTACK_BASE, ATTACK_DATA, tokens, the result file).
 */
import { basicToken, challenges, existence, tokenExp } from './auth.js';
import { brokerEnvironment, brokerOptions, brokerSymlinks } from './broker.js';
import { nulAndDepth, reservedScheme, ssrf, uploadCleanup } from './input.js';
import { diskFull, jobsSnapshot, jobsSubmit, jobsVerify } from './jobs.js';
import { adqlSize, poolExhaustion, slowReaders } from './load.js';

const checks: Record<string, () => Promise<void>> = {
  'broker-options': brokerOptions,
  'broker-environment': brokerEnvironment,
  'broker-symlinks': brokerSymlinks,
  'slow-readers': slowReaders,
  'adql-size': adqlSize,
  'pool-exhaustion': poolExhaustion,
  ssrf,
  'reserved-scheme': reservedScheme,
  'nul-and-depth': nulAndDepth,
  'upload-cleanup': uploadCleanup,
  'token-exp': tokenExp,
  challenges,
  'basic-token': basicToken,
  existence,
  'jobs-submit': jobsSubmit,
  'jobs-snapshot': jobsSnapshot,
  'jobs-verify': jobsVerify,
  'disk-full': diskFull,
};

const name = process.argv[2] ?? '';
const check = checks[name];
if (!check) {
  console.error(`unknown check "${name}"; one of: ${Object.keys(checks).join(', ')}`);
  process.exit(2);
}
// A check never hangs the suite: a hard limit on top of every request's own timeout.
const limit = setTimeout(() => {
  console.log(`FAIL ${name}: did not finish within 240 s`);
  process.exit(1);
}, 240_000);
limit.unref();
check().then(
  () => process.exit(0),
  (err) => {
    console.log(`FAIL ${name}: the check itself failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
