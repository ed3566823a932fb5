import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { OUTPUT_DIR, STDERR_FILE, STDOUT_FILE } from './backend.js';
import { PHASES, type Phase } from './model.js';
import { notebookWire } from './notebook.js';
import { formatDuration, TYPES } from './request.js';
import { optionsFor } from './service.js';
import type { StoredSession } from './store.js';

/**
 * Writes documents in the newest shape seen (V26: `kind` + `meta`, phase names of
 * EB-70 V26). Everything about the wire shape is in this file and request.ts, so that
 * following the draft means changing these two only.
 */

/** Older phase spellings accepted on input (EB-70). */
export function phaseFromWire(v: string): Phase | undefined {
  const p = v.trim().toUpperCase();
  if (p === 'READY') return 'AVAILABLE';
  return (PHASES as readonly string[]).includes(p) ? (p as Phase) : undefined;
}

/** The phase a client asks for: V26 update object, V25 {update: …} wrapper, path phase|state|/phase (EB-74, EB-75). */
export function readUpdate(body: unknown): { phase?: Phase; problem?: string } {
  const o = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const u = (o.update && typeof o.update === 'object' ? o.update : o) as Record<string, unknown>;
  const path = typeof u.path === 'string' ? u.path.replace(/^\//, '') : undefined;
  if (path !== 'phase' && path !== 'state')
    return {
      problem: 'an update needs "path": "phase" and "value": the phase wanted (e.g. ACCEPTED, CANCELLED)',
    };
  const phase = typeof u.value === 'string' ? phaseFromWire(u.value) : undefined;
  if (!phase) return { problem: `"${String(u.value)}" is not a session phase` };
  return { phase };
}

const iso = (d: Date | number | null | undefined) =>
  d === null || d === undefined ? undefined : new Date(d).toISOString();

export interface ResultFile {
  readonly name: string;
  readonly href: string;
  readonly size: number;
}

/** Files under the session's output folder plus its logs (EB-81), as download links. */
export async function resultFiles(s: StoredSession, sessionUrl: string, max: number): Promise<ResultFile[]> {
  const out: ResultFile[] = [];
  const root = join(s.workDir, OUTPUT_DIR);
  // Links are never listed nor walked (lstat, Dirent types): downloads would refuse them (files.ts).
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) return;
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= max) return;
      const p = join(dir, e.name);
      if (e.isDirectory() && depth < 8) await walk(p, depth + 1);
      else if (e.isFile()) {
        const st = await lstat(p).catch(() => undefined);
        if (!st?.isFile()) continue; // removed or replaced since the listing
        const rel = relative(root, p).split('\\').join('/');
        out.push({
          name: rel,
          href: `${sessionUrl}/results/${rel.split('/').map(encodeURIComponent).join('/')}`,
          size: st.size,
        });
      }
    }
  };
  await walk(root, 0);
  for (const log of [STDOUT_FILE, STDERR_FILE]) {
    const st = await lstat(join(s.workDir, log)).catch(() => undefined);
    if (st?.isFile()) out.push({ name: `logs/${log}`, href: `${sessionUrl}/logs/${log}`, size: st.size });
  }
  return out;
}

export async function sessionDocument(
  s: StoredSession,
  base: string,
  maxResults: number,
): Promise<Record<string, unknown>> {
  const url = `${base}/sessions/${s.uuid}`;
  const a = s.allocation;
  const req = s.request;
  const ex = req.executable;
  const available = new Date(a.start + a.preparingSeconds * 1000);
  const showResults = ['RUNNING', 'RELEASING', 'COMPLETED', 'FAILED', 'CANCELLED'].includes(s.phase);
  return {
    kind: TYPES.session,
    meta: { uuid: s.uuid, url, name: req.name, created: iso(s.created), messages: s.messages },
    phase: s.phase,
    expires: s.phase === 'OFFERED' ? iso(s.expires) : undefined,
    site: s.site,
    offerset: s.offerset ? `${base}/offersets/${s.offerset}` : undefined,
    executable:
      ex.kind === 'pipeline'
        ? { kind: ex.type, meta: { name: ex.name }, pipeline: ex.pipeline, params: ex.params }
        : ex.kind === 'deferred'
          ? { kind: ex.type, meta: { name: ex.name } }
          : ex.kind === 'container'
            ? {
                kind: ex.type,
                meta: { name: ex.name },
                // Sessions stored before the reference was typed hold a plain string.
                image: { locations: [typeof ex.image === 'string' ? ex.image : ex.image.text] },
                entrypoint: ex.entrypoint,
                command: ex.command,
              }
            : notebookWire(ex, url, s.phase),
    compute: {
      kind: req.compute.type,
      meta: { name: req.compute.name },
      cores: { min: a.cores, max: a.cores },
      memory: { min: a.memoryGiB, max: a.memoryGiB },
      ...(a.gpus > 0 ? { gpus: { min: a.gpus, max: a.gpus } } : {}),
    },
    storage: [
      {
        kind: req.storage.type,
        meta: { name: req.storage.name },
        size: { min: a.storageGiB, max: a.storageGiB },
      },
    ],
    data: s.data.map((d) => ({
      kind: req.data.find((x) => x.name === d.name)?.type ?? TYPES.ivoaData,
      meta: { name: d.name },
      ivoa: { obscore: { obs_publisher_did: d.did } },
      local: d.path !== null && !d.stage,
      replicas: d.replicas,
      // Data brought from elsewhere: its source and how far the copy has come (issue 21, item 3).
      ...(d.stage
        ? {
            staging: {
              source: d.stage.url,
              site: d.stage.site,
              size: d.stage.sizeBytes,
              estimate: formatDuration(d.stage.estimateSeconds),
              ...(d.staging ?? { state: 'waiting', bytes: 0, total: d.stage.sizeBytes }),
            },
          }
        : {}),
    })),
    schedule: {
      preparing: { start: iso(a.start), duration: formatDuration(a.preparingSeconds) },
      available: { start: iso(available), duration: formatDuration(a.durationSeconds) },
      ...(s.started ? { started: iso(s.started) } : {}),
      ...(s.finished ? { finished: iso(s.finished) } : {}),
    },
    options: optionsFor(s.phase).length
      ? [{ kind: 'uri:enum-value-option', path: 'phase', values: optionsFor(s.phase) }]
      : [],
    ...(s.exitCode !== null ? { exitCode: s.exitCode } : {}),
    ...(showResults ? { results: await resultFiles(s, url, maxResults) } : {}),
  };
}

export async function offerSetDocument(
  set: {
    uuid: string;
    name: string | null;
    created: Date;
    result: string;
    messages: readonly unknown[];
    remote: unknown[];
  },
  offers: StoredSession[],
  base: string,
  maxResults: number,
): Promise<Record<string, unknown>> {
  return {
    kind: TYPES.offerset,
    meta: {
      uuid: set.uuid,
      url: `${base}/offersets/${set.uuid}`,
      name: set.name ?? undefined,
      created: iso(set.created),
      messages: set.messages,
    },
    result: set.result,
    offers: [...(await Promise.all(offers.map((o) => sessionDocument(o, base, maxResults)))), ...set.remote],
  };
}
