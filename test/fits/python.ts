import { spawnSync } from 'node:child_process';

/**
 * Runs a Python script with the Debian interpreter that has astropy/numpy (COMMON.md: never the
 * `python3` first on PATH) and parses its stdout as JSON. `input` is passed as JSON on stdin.
 */
export function runPython<T>(script: string, input: unknown = null): T {
  const res = spawnSync('/usr/bin/python3', ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`python failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout) as T;
}
