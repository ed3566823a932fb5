import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BrokerError } from './errors.js';
import type { ResolvedData } from './model.js';
import type { PipelineDefinition } from './settings.js';

/**
 * The node's own program as argv: the compiled .js when built, else the .ts source through
 * tsx (resolved to an absolute path, since the work runs in the session's folder).
 */
function nodeProgram(name: string): string[] {
  const js = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (existsSync(js)) return [process.execPath, js];
  const ts = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  return [process.execPath, '--import', import.meta.resolve('tsx'), ts];
}

export function builtinPipelines(): PipelineDefinition[] {
  return [
    {
      name: 'cutout-stats',
      description:
        'min, max, mean and rms of a central cutout of a FITS image (param size, default 64 pixels)',
      command: [...nodeProgram('cutout-stats'), '{input}', '{output}', '{param:size}'],
      params: { size: '64' },
    },
  ];
}

/** Fills a pipeline's placeholders; unknown parameters are refused, not ignored. */
export function pipelineArgv(
  def: PipelineDefinition,
  params: Record<string, string>,
  data: readonly ResolvedData[],
  outputDir: string,
): string[] {
  const known = new Set(def.command.flatMap((a) => [...a.matchAll(/\{param:([^}]+)\}/g)].map((m) => m[1])));
  for (const k of Object.keys(params)) {
    if (!known.has(k)) {
      throw new BrokerError(
        422,
        'uri:invalid-data',
        `pipeline ${def.name} has no parameter "${k}"${known.size ? ` (it has: ${[...known].join(', ')})` : ''}`,
      );
    }
  }
  // Issue 13: a parameter is a value. One that fills a whole argument may not start with
  // '-' (the site's program would read it as an option), and none may hold control characters.
  for (const [k, v] of Object.entries(params)) {
    if (/[\0-\x1f\x7f]/.test(v) || v.length > 4096)
      throw new BrokerError(
        422,
        'uri:invalid-data',
        `pipeline parameter ${k}: control characters and values over 4096 characters are refused`,
      );
    if (v.startsWith('-') && def.command.includes(`{param:${k}}`))
      throw new BrokerError(
        422,
        'uri:invalid-data',
        `pipeline parameter ${k}: "${v.slice(0, 100)}" starts with '-', which ${def.name} would read as an option`,
      );
  }
  const all = { ...(def.params ?? {}), ...params };
  const paths = data.map((d) => d.path).filter((p): p is string => p !== null);
  const out: string[] = [];
  for (const arg of def.command) {
    if (arg === '{inputs}') {
      out.push(...paths);
      continue;
    }
    if (arg.includes('{input}') && paths.length === 0) {
      throw new BrokerError(
        422,
        'uri:missing-required-value',
        `pipeline ${def.name} needs a data resource as input`,
      );
    }
    out.push(
      arg
        .replaceAll('{input}', paths[0] ?? '')
        .replaceAll('{output}', outputDir)
        .replace(/\{param:([^}]+)\}/g, (_, k: string) => all[k] ?? ''),
    );
  }
  return out;
}
