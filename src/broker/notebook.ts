import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTPUT_DIR } from './backend.js';
import { BrokerError } from './errors.js';
import type { Allocation, Executable, ResolvedData, Session } from './model.js';
import { ensureSystemUser } from './users.js';

/**
 * Jupyter notebooks (EB-31, `…/executable/jupyter-notebook-1.0`), with Debian's classic
 * Jupyter Notebook server and nbconvert:
 *
 * - `mode: interactive` (default): a notebook server for the session's owner, inside the
 *   session's limits, listening on a unix socket in the work folder (no port at all) with a
 *   random token of its own; the node proxies it under /broker/sessions/{uuid}/notebook/
 *   (notebook-proxy.ts) and injects that token, so the browser only ever holds a
 *   credential of the node (EB-33: `access` names that URL).
 * - `mode: batch`: the notebook runs non-interactively (`python3 -m nbconvert --execute
 *   --inplace`, papermill-style); the executed notebook is the session's output.
 *
 * The session's products appear next to the notebook as `data/<name>` (links to the
 * read-only product files), and everything the notebook writes in its folder is an output.
 */

type Fail = (path: string, type: string, text: string) => void;
type Env = Readonly<Record<string, string | undefined>>;

export const NOTEBOOK_VARIABLES = {
  VONODE_BROKER_NOTEBOOK_PYTHON:
    "Python that runs Jupyter (default /usr/bin/python3, with Debian's jupyter-notebook and python3-nbconvert)",
  VONODE_BROKER_NOTEBOOK_SOURCES:
    'comma-separated URL prefixes a notebook location may be fetched from (default: none; inline content and data: URLs only)',
  VONODE_BROKER_NOTEBOOK_MAX_BYTES: 'largest notebook accepted, in bytes (default 4194304)',
} as const;

export interface NotebookSettings {
  readonly python: string;
  readonly sources: readonly string[];
  readonly maxBytes: number;
  /** Path of the node's public base URL ('' or '/prefix'): the browser sees the proxy under it. */
  readonly basePath: string;
}

export function notebookSettings(env: Env, baseUrl: string): NotebookSettings {
  const max = Number(env.VONODE_BROKER_NOTEBOOK_MAX_BYTES ?? 4 * 2 ** 20);
  if (!Number.isInteger(max) || max < 1024)
    throw new BrokerError(
      500,
      'uri:configuration',
      `VONODE_BROKER_NOTEBOOK_MAX_BYTES=${env.VONODE_BROKER_NOTEBOOK_MAX_BYTES}: expected an integer >= 1024`,
    );
  const sources = (env.VONODE_BROKER_NOTEBOOK_SOURCES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of sources)
    if (!/^https?:\/\/[^/]+\//.test(s))
      throw new BrokerError(
        500,
        'uri:configuration',
        `VONODE_BROKER_NOTEBOOK_SOURCES: ${s} is not an http(s) URL prefix ending in a path (e.g. https://notebooks.example.org/)`,
      );
  return {
    python: env.VONODE_BROKER_NOTEBOOK_PYTHON?.trim() || '/usr/bin/python3',
    sources,
    maxBytes: max,
    basePath: new URL(baseUrl).pathname.replace(/\/+$/, ''),
  };
}

export type NotebookExecutable = Extract<Executable, { kind: 'notebook' }>;

/** The file the notebook is written to, in the output folder (batch mode rewrites it executed). */
export const NOTEBOOK_FILE = 'notebook.ipynb';
/** Where the session's products appear, next to the notebook. */
export const NOTEBOOK_DATA_DIR = 'data';
const CONFIG_FILE = 'jupyter_notebook_config.json';
/** The proxy's cookie secret: the node's only, never given to the notebook's user. */
const PROXY_FILE = 'notebook-proxy.json';

/** A notebook document: nbformat JSON with a list of cells (validated, not interpreted). */
function notebookProblem(text: string): string | undefined {
  try {
    const nb = JSON.parse(text) as { nbformat?: unknown; cells?: unknown };
    if (typeof nb !== 'object' || nb === null || typeof nb.nbformat !== 'number' || !Array.isArray(nb.cells))
      return 'is not a Jupyter notebook (nbformat JSON with "nbformat" and "cells")';
    return undefined;
  } catch {
    return 'is not JSON (a Jupyter notebook is nbformat JSON)';
  }
}

/** RFC 2397 data: URL → its text, or undefined when malformed. */
function dataUrlText(url: string): string | undefined {
  const m = /^data:([^,]*),(.*)$/s.exec(url);
  if (!m) return undefined;
  try {
    return m[1].endsWith(';base64') ? Buffer.from(m[2], 'base64').toString('utf8') : decodeURIComponent(m[2]);
  } catch {
    return undefined;
  }
}

/**
 * Reads a jupyter-notebook executable (request.ts). `location` (EB-31) is the notebook's
 * URL: a `data:` URL is read now; an http(s) URL is fetched when the session starts, from
 * the prefixes the site allows (checked at offer time). `content` (site extension) carries
 * the notebook inline; `mode` (site extension) is `interactive` (default) or `batch`.
 */
export function readNotebookExecutable(
  ex: Record<string, unknown>,
  type: string,
  name: string,
  fail: Fail,
): NotebookExecutable | undefined {
  const mode = ex.mode === undefined ? 'interactive' : ex.mode;
  if (mode !== 'interactive' && mode !== 'batch') {
    fail('executable.mode', 'uri:invalid-data', `mode must be "interactive" or "batch", not ${String(mode)}`);
    return undefined;
  }
  let content: string | undefined;
  let location: string | undefined;
  const raw = ex.location ?? ex.notebook;
  const at = ex.location !== undefined ? 'executable.location' : 'executable.notebook';
  if (raw !== undefined) {
    if (typeof raw !== 'string') {
      fail(at, 'uri:invalid-data', `${at} must be a URL`);
      return undefined;
    }
    if (raw.startsWith('data:')) {
      content = dataUrlText(raw);
      if (content === undefined) {
        fail(at, 'uri:invalid-data', `${at} is not a valid data: URL`);
        return undefined;
      }
    } else if (/^https?:\/\//i.test(raw)) location = raw;
    else {
      fail(at, 'uri:invalid-data', `${at} must be an http(s) or data: URL`);
      return undefined;
    }
  }
  if (ex.content !== undefined) {
    if (content !== undefined || location !== undefined) {
      fail('executable.content', 'uri:invalid-data', 'give the notebook either as content or as location');
      return undefined;
    }
    content = typeof ex.content === 'string' ? ex.content : JSON.stringify(ex.content);
  }
  if (content !== undefined) {
    const problem = notebookProblem(content);
    if (problem) {
      fail(
        ex.content !== undefined ? 'executable.content' : at,
        'uri:invalid-data',
        `the notebook ${problem}`,
      );
      return undefined;
    }
  }
  if (mode === 'batch' && content === undefined && location === undefined) {
    fail(
      'executable.location',
      'uri:missing-required-value',
      'a batch notebook needs the notebook: "location" (URL of the .ipynb) or "content"',
    );
    return undefined;
  }
  return { kind: 'notebook', type, name, mode, location, content };
}

const jupyterFound = new Map<string, string | undefined>();
/** Why this Python cannot run Jupyter, or undefined (asked once per program). */
function jupyterProblem(python: string): string | undefined {
  if (!jupyterFound.has(python)) {
    try {
      execFileSync(python, ['-c', 'import notebook, nbconvert, ipykernel'], {
        stdio: 'ignore',
        timeout: 30_000,
      });
      jupyterFound.set(python, undefined);
    } catch {
      jupyterFound.set(
        python,
        `this site cannot run Jupyter notebooks: ${python} lacks the notebook, nbconvert or ipykernel modules (Debian: jupyter-notebook python3-nbconvert python3-ipykernel)`,
      );
    }
  }
  return jupyterFound.get(python);
}

/**
 * The unix socket of a session's notebook server. In the work folder's `.jupyter` (0700,
 * the session user's own: an isolated pipeline may not write the work folder itself, which
 * stays the node's) when the path fits a socket address (108 bytes); otherwise in the
 * system's temporary folder, where the server creates it with mode 0600.
 */
export function notebookSocket(workDir: string, uuid: string): string {
  const inside = join(workDir, '.jupyter', 'nb.sock');
  return Buffer.byteLength(inside) <= 100 ? inside : join(tmpdir(), `vonode-nb-${uuid}.sock`);
}

/** The path the browser sees the notebook server under (its base_url). */
export function notebookPath(basePath: string, uuid: string): string {
  return `${basePath}/broker/sessions/${uuid}/notebook/`;
}

/**
 * What the backend runs for a notebook session (service.ts `command`). Jupyter's own
 * folders go into the work folder (HOME and JUPYTER_* point there), so nothing of the
 * node's home is read or written.
 */
export function notebookCommand(
  settings: NotebookSettings | undefined,
  ex: NotebookExecutable,
  workDir: string,
  backend: string,
  localUser: string,
): Pick<Allocation, 'argv' | 'environment' | 'outputOwner'> {
  if (!settings)
    throw new BrokerError(422, 'uri:unsupported-executable', 'this site does not run Jupyter notebooks');
  const problem = jupyterProblem(settings.python);
  if (problem) throw new BrokerError(422, 'uri:unsupported-executable', problem);
  if (ex.mode === 'interactive' && backend !== 'local')
    throw new BrokerError(
      422,
      'uri:unsupported-executable',
      `interactive notebooks run on this node's local backend only (the node proxies to a socket on this machine); this site's backend is ${backend}. Use mode: batch`,
    );
  if (ex.location && !settings.sources.some((p) => ex.location?.startsWith(p)))
    throw new BrokerError(
      422,
      'uri:unsupported-executable',
      `notebook location ${ex.location.slice(0, 200)} is not one this site fetches from (${settings.sources.join(', ') || 'none: send the notebook as content or a data: URL'})`,
    );
  const output = join(workDir, OUTPUT_DIR);
  const jupyter = join(workDir, '.jupyter');
  const env = [
    '/usr/bin/env',
    // The session user's own folder: an isolated pipeline may not write the work folder itself.
    `HOME=${jupyter}`,
    `JUPYTER_CONFIG_DIR=${jupyter}`,
    `JUPYTER_DATA_DIR=${join(jupyter, 'data')}`,
    `JUPYTER_RUNTIME_DIR=${join(jupyter, 'runtime')}`,
    `IPYTHONDIR=${join(jupyter, 'ipython')}`,
    `MPLCONFIGDIR=${join(jupyter, 'matplotlib')}`,
    'PYTHONNOUSERSITE=1',
  ];
  const argv =
    ex.mode === 'batch'
      ? [
          ...env,
          settings.python,
          '-m',
          'nbconvert',
          '--to',
          'notebook',
          '--execute',
          '--inplace',
          join(output, NOTEBOOK_FILE),
        ]
      : [...env, settings.python, '-m', 'notebook', `--config=${join(jupyter, CONFIG_FILE)}`];
  // As root, the local backend runs the work as its unprivileged user (issue 13): the
  // notebook's folders are given to that user before it starts.
  const runAs = process.getuid?.() === 0 ? ensureSystemUser(localUser) : undefined;
  return { argv, environment: {}, ...(runAs ? { outputOwner: { uid: runAs.uid, gid: runAs.gid } } : {}) };
}

/**
 * Writes what a notebook session needs into its work folder before it starts (service.ts
 * `prepareFolder`): the notebook (fetched now when given by URL), the product links, and
 * for a server its configuration (socket, token, base URL) and the proxy's cookie secret.
 */
export async function prepareNotebook(
  s: Pick<Session, 'uuid' | 'workDir' | 'request' | 'data' | 'allocation'>,
  settings: NotebookSettings | undefined,
): Promise<void> {
  const ex = s.request.executable;
  if (ex.kind !== 'notebook' || !settings) return;
  const owner = s.allocation.outputOwner;
  const give = async (path: string) => {
    if (owner && process.getuid?.() === 0) await chown(path, owner.uid, owner.gid);
  };
  const output = join(s.workDir, OUTPUT_DIR);
  const content = ex.content ?? (ex.location ? await fetchNotebook(ex.location, settings) : undefined);
  if (content !== undefined) {
    await writeFile(join(output, NOTEBOOK_FILE), content, { mode: 0o600 });
    await give(join(output, NOTEBOOK_FILE));
  }
  const data = join(output, NOTEBOOK_DATA_DIR);
  await mkdir(data, { recursive: true, mode: 0o700 });
  await give(data);
  for (const d of s.data as ResolvedData[])
    if (d.path && !existsSync(join(data, d.name))) await symlink(d.path, join(data, d.name));
  // HOME and Jupyter's folders, the session user's own (batch kernels write there too).
  const jupyter = join(s.workDir, '.jupyter');
  await mkdir(join(jupyter, 'runtime'), { recursive: true, mode: 0o700 });
  for (const p of [jupyter, join(jupyter, 'runtime')]) await give(p);
  if (ex.mode !== 'interactive') return;
  const token = randomBytes(32).toString('hex');
  const config = {
    NotebookApp: {
      sock: notebookSocket(s.workDir, s.uuid),
      sock_mode: '0600',
      token,
      password: '',
      notebook_dir: output,
      base_url: notebookPath(settings.basePath, s.uuid),
      open_browser: false,
      // Only the node reaches the socket; it checks the user's token and the Origin itself.
      allow_remote_access: true,
      allow_origin: '*',
      quit_button: true,
    },
  };
  await writeFile(join(jupyter, CONFIG_FILE), JSON.stringify(config), { mode: 0o600 });
  await give(join(jupyter, CONFIG_FILE));
  await writeFile(
    join(s.workDir, PROXY_FILE),
    JSON.stringify({ token, cookie: randomBytes(32).toString('base64url') }),
    { mode: 0o600 },
  );
}

/** The Jupyter token and the proxy's cookie secret of a running server, or undefined. */
export async function notebookSecrets(
  workDir: string,
): Promise<{ token: string; cookie: string } | undefined> {
  try {
    const v = JSON.parse(await readFile(join(workDir, PROXY_FILE), 'utf8')) as {
      token?: unknown;
      cookie?: unknown;
    };
    return typeof v.token === 'string' && typeof v.cookie === 'string'
      ? { token: v.token, cookie: v.cookie }
      : undefined;
  } catch {
    return undefined;
  }
}

async function fetchNotebook(url: string, settings: NotebookSettings): Promise<string> {
  if (!settings.sources.some((p) => url.startsWith(p)))
    throw new Error(`notebook location ${url.slice(0, 200)} is not one this site fetches from`);
  const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`fetching the notebook from ${url.slice(0, 200)} answered ${res.status}`);
  const text = await res.text();
  if (Buffer.byteLength(text) > settings.maxBytes)
    throw new Error(`the notebook at ${url.slice(0, 200)} is larger than ${settings.maxBytes} bytes`);
  const problem = notebookProblem(text);
  if (problem) throw new Error(`the document at ${url.slice(0, 200)} ${problem}`);
  return text;
}

/** EB-31/EB-33 wire form: the notebook's location and mode, and for a server how to reach it. */
export function notebookWire(
  ex: NotebookExecutable,
  sessionUrl: string,
  phase: string,
): Record<string, unknown> {
  const status =
    phase === 'RUNNING'
      ? 'ACTIVE'
      : ['COMPLETED', 'FAILED', 'CANCELLED', 'REJECTED', 'EXPIRED'].includes(phase)
        ? 'FINISHED'
        : 'PREPARING';
  return {
    kind: ex.type,
    meta: { name: ex.name },
    ...(ex.location ? { location: ex.location } : {}),
    mode: ex.mode ?? 'interactive',
    ...(ex.mode === 'batch'
      ? {}
      : { access: [{ status, protocol: 'HTTP', locations: [`${sessionUrl}/notebook/`] }] }),
  };
}
