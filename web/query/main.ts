import { nodeFetch } from '../common/fetch.js';
import { loggedIn } from '../common/session.js';
import { mountSession } from '../common/session-ui.js';
import { byId, h, message, show } from './dom.js';
import { createEditor } from './editor.js';
import { JobList } from './jobs.js';
import { type ResultSource, ResultView } from './results.js';
import { loadExamples, loadTables, renderTree, type SchemaInfo } from './schema.js';
import {
  connectionError,
  nodeUrl,
  type QueryParams,
  queryBody,
  startJob,
  syncUrl,
  type TapError,
} from './tap.js';
import { uploadBody, uploadNameFor } from './upload.js';

/** What the node wrote into the page (src/web/query-page.ts). */
interface PageConfig {
  readonly nodeName: string;
  readonly maxrecDefault: number;
  readonly maxrecHard: number;
  readonly formats: ReadonlyArray<{ readonly value: string; readonly label: string }>;
  readonly uploadMaxBytes: number;
  readonly defaultSchema?: string;
}

const config = JSON.parse(byId('vonode-config').textContent ?? '{}') as PageConfig;
const QUERY_KEY = 'vonode.web.query';
const EXTENSIONS: Record<string, string> = {
  csv: 'csv',
  tsv: 'tsv',
  json: 'json',
  fits: 'fits',
  parquet: 'parquet',
};
const VIEW_FORMAT = 'votable/td';

const errorBox = byId('query-error');
const results = new ResultView({
  status: byId('result-status'),
  downloads: byId('result-downloads'),
  table: byId('result-table'),
  pager: byId('result-pager'),
});

// Anything unexpected is said on the page, never a blank region (issue 18, bad input).
const pageFailure = (what: unknown) =>
  show(
    byId('result-status'),
    message(
      'error',
      `The page hit a problem: ${what instanceof Error ? what.message : String(what)}. Reload the page; the node keeps your async jobs.`,
    ),
  );
window.addEventListener('error', (e) => pageFailure(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => pageFailure(e.reason));

let storedQuery = '';
try {
  storedQuery = localStorage.getItem(QUERY_KEY) ?? '';
} catch {}
const editor = createEditor(
  byId('editor'),
  storedQuery || `SELECT TOP 10 *\nFROM TAP_SCHEMA.tables`,
  () => void runSync(),
  () => {
    errorBox.hidden = true;
  },
);

function showQueryError(err: TapError): void {
  if (err.line === undefined || err.column === undefined) return;
  const offset = editor.markError(err.message, err.line, err.column, err.token);
  show(
    errorBox,
    h('strong', {}, `Line ${err.line}, column ${err.column}: `),
    err.message,
    ' ',
    h('button', { type: 'button', onclick: () => editor.focusAt(offset) }, 'Go to the error'),
  );
  errorBox.hidden = false;
}
results.onError = showQueryError;

// --- parameters ---

const maxrecInput = byId<HTMLInputElement>('maxrec');
maxrecInput.placeholder = `node default ${config.maxrecDefault.toLocaleString('en')}`;
maxrecInput.max = String(config.maxrecHard);

/** MAXREC as typed, checked against the node's limits before anything is sent. */
function checkedMaxrec(): { value: string; notice?: string } | { error: string } {
  const raw = maxrecInput.value.trim();
  if (raw === '') return { value: '' };
  if (!/^\d+$/.test(raw)) return { error: `MAXREC must be a whole number of rows, not “${raw}”.` };
  if (Number(raw) > config.maxrecHard)
    return {
      value: raw,
      notice: `MAXREC ${Number(raw).toLocaleString('en')} is above this node's limit: it returns at most ${config.maxrecHard.toLocaleString('en')} rows and marks the result OVERFLOW if more match.`,
    };
  return { value: raw };
}

let upload: { file: File; name: string } | undefined;
const uploadFile = byId<HTMLInputElement>('upload-file');
const uploadName = byId<HTMLInputElement>('upload-name');
const uploadStatus = byId('upload-status');
const describeUpload = () => {
  if (!upload) return show(uploadStatus);
  upload.name = uploadName.value.trim() || uploadNameFor(upload.file.name);
  const kb = Math.ceil(upload.file.size / 1024).toLocaleString('en');
  if (upload.file.size > config.uploadMaxBytes)
    show(
      uploadStatus,
      message(
        'error',
        `${upload.file.name} (${kb} kB) is larger than this node accepts (${Math.floor(config.uploadMaxBytes / 1048576)} MB).`,
      ),
    );
  else if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(upload.name))
    show(
      uploadStatus,
      message(
        'error',
        `“${upload.name}” is not an ADQL table name: use letters, digits and _ , starting with a letter.`,
      ),
    );
  else
    show(uploadStatus, `${upload.file.name} (${kb} kB) goes with each query as TAP_UPLOAD.${upload.name}.`);
};
uploadFile.addEventListener('change', () => {
  const file = uploadFile.files?.[0];
  upload = file ? { file, name: '' } : undefined;
  if (file && !uploadName.value) uploadName.value = uploadNameFor(file.name);
  describeUpload();
});
uploadName.addEventListener('input', describeUpload);
byId('upload-clear').addEventListener('click', () => {
  upload = undefined;
  uploadFile.value = '';
  uploadName.value = '';
  describeUpload();
});

/** The query as the node will get it, or a message saying what to fix first. */
async function params(format: string): Promise<QueryParams | undefined> {
  const query = editor.text().trim();
  errorBox.hidden = true;
  editor.clearError();
  if (query === '') {
    results.showError({ message: 'write a query first' }, 'Nothing to run');
    return undefined;
  }
  try {
    localStorage.setItem(QUERY_KEY, query);
  } catch {}
  const maxrec = checkedMaxrec();
  if ('error' in maxrec) {
    results.showError({ message: maxrec.error }, 'Not run');
    maxrecInput.focus();
    return undefined;
  }
  for (const n of document.querySelectorAll('.maxrec-notice')) n.remove();
  if (maxrec.notice) {
    const notice = message('notice', maxrec.notice);
    notice.classList.add('maxrec-notice');
    notice.setAttribute('role', 'status');
    byId('result-status').before(notice);
  }
  if (!upload) return { query, maxrec: maxrec.value, format };
  if (upload.file.size > config.uploadMaxBytes || !/^[A-Za-z][A-Za-z0-9_]*$/.test(upload.name)) {
    results.showError({ message: 'the upload is not usable as it is (see the upload box)' }, 'Not run');
    return undefined;
  }
  try {
    return {
      query,
      maxrec: maxrec.value,
      format,
      upload: { name: upload.name, file: await uploadBody(upload.file, upload.name) },
    };
  } catch (err) {
    results.showError(
      { message: err instanceof Error ? err.message : String(err) },
      `${upload.file.name} could not be read`,
    );
    return undefined;
  }
}

function downloads(p: QueryParams): ResultSource['downloads'] {
  return config.formats.map((f) => {
    const filename = `result.${EXTENSIONS[f.value] ?? 'vot'}`;
    const at = { ...p, format: f.value };
    // Logged in, a link cannot carry the token: fetched with it and saved from a blob instead.
    if (p.upload)
      return {
        label: f.label,
        filename,
        fetch: () => nodeFetch(nodeUrl('tap/sync'), { method: 'POST', body: queryBody(at) }),
      };
    return loggedIn()
      ? { label: f.label, filename, fetch: () => nodeFetch(syncUrl(at)) }
      : { label: f.label, filename, href: syncUrl(at) };
  });
}

async function runSync(): Promise<void> {
  const p = await params(VIEW_FORMAT);
  if (!p) return;
  await results.load({
    label: 'Query',
    request: (signal) => nodeFetch(nodeUrl('tap/sync'), { method: 'POST', body: queryBody(p), signal }),
    downloads: downloads(p),
    downloadsNote: 'Download the whole result (runs the query again):',
  });
}

const jobs = new JobList(byId('job-list'), {
  view(job) {
    const result = job.results.find((r) => r.id === 'result') ?? job.results[0];
    if (!result) return results.showError({ message: `job ${job.id} finished without a result` }, 'No rows');
    const q: QueryParams = {
      query: job.query ?? editor.text(),
      maxrec: maxrecInput.value,
      format: VIEW_FORMAT,
    };
    void results.load({
      label: `Job ${job.id}`,
      request: (signal) => nodeFetch(result.href, { signal }),
      downloads: [
        {
          label: 'this job’s result (VOTable TABLEDATA)',
          ...(loggedIn() ? { fetch: () => nodeFetch(result.href) } : { href: result.href }),
          filename: `${job.id}.vot`,
        },
        ...(upload ? [] : downloads(q)),
      ],
      downloadsNote: 'Download:',
    });
  },
  failed(job, err) {
    results.showError(err, `Job ${job.id} failed`);
  },
});

async function runAsync(): Promise<void> {
  const p = await params(VIEW_FORMAT);
  if (!p) return;
  try {
    const job = await startJob(p);
    jobs.add(job);
    show(
      byId('result-status'),
      message('ok', `Job ${job.id} is ${job.phase}; its rows show here when it completes.`),
    );
  } catch (err) {
    results.showError(
      'message' in (err as object) && !(err instanceof Error) ? (err as TapError) : connectionError(err),
      'The job was not created',
    );
  }
}

const stop = byId<HTMLButtonElement>('stop');
const runButtons = [byId<HTMLButtonElement>('run-sync')];
results.onRunning((running) => {
  stop.disabled = !running;
  for (const b of runButtons) b.setAttribute('aria-busy', String(running));
});
stop.addEventListener('click', () => results.stop());
byId('run-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void runSync();
});
byId('run-async').addEventListener('click', () => void runAsync());
// Ctrl+Enter runs the query from anywhere on the page (the editor binds it itself).
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !(e.target as Element | null)?.closest('.cm-editor')) {
    e.preventDefault();
    void runSync();
  }
});

mountSession(byId('session'));

performance.mark('vonode:interactive');

// --- tables, completion, examples: loaded after the editor is usable ---

const tree = byId('table-tree');
const filter = byId<HTMLInputElement>('table-filter');
let schemas: SchemaInfo[] = [];
loadTables().then(
  (s) => {
    schemas = s;
    editor.setSchema(s, config.defaultSchema);
    renderTree(tree, s, (t) => editor.insert(t));
    performance.mark('vonode:tables');
  },
  (err: unknown) =>
    show(
      tree,
      message('error', `The table list could not be read: ${(err as TapError).message ?? String(err)}`),
    ),
);
filter.addEventListener('input', () => renderTree(tree, schemas, (t) => editor.insert(t), filter.value));

const examples = byId<HTMLSelectElement>('examples');
loadExamples().then(
  (list) => {
    for (const [i, e] of list.entries()) examples.append(h('option', { value: String(i) }, e.name));
    examples.addEventListener('change', () => {
      const e = list[Number(examples.value)];
      if (e) editor.setText(e.query);
      editor.view.focus();
    });
  },
  () => examples.append(h('option', { value: '', disabled: true }, 'the examples could not be read')),
);

void jobs.restore();

// "Show on sky": the sky view runs the same query and draws its footprints and positions.
byId('show-sky').addEventListener('click', () => {
  location.assign(`sky?query=${encodeURIComponent(editor.text())}`);
});
