import { escapeHtml, HEADER_STYLE, PAGE_STYLE, pageHeader } from './html.js';

/** What the query page needs to know of this node, written into the page as JSON. */
export interface QueryPageConfig {
  readonly nodeName: string;
  /** Rows a query returns without MAXREC, and the most any query returns (TAPRegExt outputLimit). */
  readonly maxrecDefault: number;
  readonly maxrecHard: number;
  /** RESPONSEFORMAT values offered for download: the short alias and a label. */
  readonly formats: ReadonlyArray<{ readonly value: string; readonly label: string }>;
  /** Largest upload the node accepts, bytes. */
  readonly uploadMaxBytes: number;
  /** Where unqualified table names resolve (VONODE_DEFAULT_SCHEMA). */
  readonly defaultSchema?: string;
}

/**
 * The query page (issue 18, items 1 and 2): the HTML holds every region with its label and
 * landmark, so the page reads and tabs sensibly before the script has run; web/query/main.ts
 * fills the regions. `script` is the hashed URL of the bundle.
 */
export function queryPage(config: QueryPageConfig, script: string): string {
  // JSON inside <script>: '<' is escaped so no value can close the element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  const name = escapeHtml(config.nodeName);
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>ADQL query · ${name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>${PAGE_STYLE}${QUERY_STYLE}${HEADER_STYLE}</style>
<script type="application/json" id="vonode-config">${json}</script>
<script type="module" src="${escapeHtml(script)}"></script>
</head>
<body>
<a class="skip" href="#editor-region">Skip to the query editor</a>
${pageHeader(config.nodeName, 'ADQL query', 'query')}
<div class="layout">
<nav id="tables" aria-labelledby="tables-h" class="side">
  <h2 id="tables-h">Tables</h2>
  <label for="table-filter">Filter tables and columns</label>
  <input id="table-filter" type="search" autocomplete="off">
  <div id="table-tree" aria-live="polite"><p>Loading the tables…</p></div>
</nav>
<main>
<section id="editor-region" aria-labelledby="editor-h">
  <h2 id="editor-h">Query</h2>
  <p class="hint" id="editor-hint">Ctrl+Space completes schema, table and column names; Ctrl+Enter runs the query.
    <a href="../tap/examples" id="examples-link">Examples</a> of this node's queries:
    <select id="examples" aria-label="Load an example query"><option value="">choose one…</option></select></p>
  <div id="editor" aria-describedby="editor-hint"></div>
  <div id="query-error" role="alert" hidden></div>
  <form id="run-form" class="controls">
    <label for="maxrec">MAXREC (rows at most)</label>
    <input id="maxrec" name="MAXREC" type="number" min="0" step="1" inputmode="numeric">
    <button type="submit" id="run-sync">Run</button>
    <button type="button" id="run-async">Run as async job</button>
    <button type="button" id="stop" disabled>Stop</button>
    <button type="button" id="show-sky">Show on sky</button>
  </form>
  <details id="upload-box">
    <summary>Upload a table (TAP_UPLOAD)</summary>
    <p class="hint">A local VOTable or CSV file, queried as <code>TAP_UPLOAD.<var>name</var></code>. CSV columns are
      typed as integers, reals or text from their values.</p>
    <label for="upload-file">File</label> <input id="upload-file" type="file" accept=".xml,.vot,.votable,.csv,text/csv,application/x-votable+xml">
    <label for="upload-name">Table name</label> <input id="upload-name" type="text" pattern="[A-Za-z][A-Za-z0-9_]*" size="16">
    <button type="button" id="upload-clear">Remove</button>
    <p id="upload-status" aria-live="polite"></p>
  </details>
</section>
<section id="jobs" aria-labelledby="jobs-h">
  <h2 id="jobs-h">Async jobs</h2>
  <p class="hint">Jobs started from this browser. Results are kept by the node until the job's destruction time.</p>
  <div id="job-list" aria-live="polite"><p>No jobs yet.</p></div>
</section>
<section id="results" aria-labelledby="results-h">
  <h2 id="results-h">Results</h2>
  <div id="result-status" role="status" aria-live="polite"><p>Run a query to see its rows here.</p></div>
  <div id="result-downloads"></div>
  <div id="result-table"></div>
  <div id="result-pager"></div>
</section>
</main>
</div>
<noscript><p class="error">This page needs JavaScript. The TAP service itself works without it: <a href="../tap">/tap</a>.</p></noscript>
</body></html>
`;
}

const QUERY_STYLE = `
.layout{display:grid;grid-template-columns:minmax(14rem,20rem) 1fr;gap:1.2rem;align-items:start}
@media (max-width:800px){.layout{grid-template-columns:1fr}}
.side{position:sticky;top:.5rem;max-height:calc(100vh - 1rem);overflow:auto;border-right:1px solid #ccc;padding-right:.6rem}
.side input{width:100%;box-sizing:border-box;margin:.2rem 0 .6rem}
.tree details{margin-left:.6rem}.tree summary{cursor:pointer}
.tree ul{list-style:none;margin:.1rem 0 .3rem .6rem;padding:0}
.tree button.name{background:none;border:0;padding:.05rem .2rem;color:#0b4f9c;cursor:pointer;font:inherit;text-align:left}
.tree button.name:hover{text-decoration:underline}
.tree .meta{color:#444;font-size:.85em}
#editor{border:1px solid #767676;min-height:9rem;font-size:.95rem}
#editor .cm-editor{min-height:9rem;max-height:24rem}
#editor .cm-focused{outline:2px solid #0b4f9c}
.controls{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.6rem 0}
.controls input{width:12rem}
.hint{color:#3d3d3d;font-size:.9em}
.error,[role=alert]:not([hidden]){border-left:4px solid #b00020;background:#fdecee;color:#5f0010;padding:.5rem .8rem;margin:.5rem 0;white-space:pre-wrap}
.notice{border-left:4px solid #8a5a00;background:#fff5dc;color:#3d2800;padding:.5rem .8rem;margin:.5rem 0}
.ok{border-left:4px solid #1d6b32;background:#e9f6ec;padding:.4rem .8rem;margin:.5rem 0}
table.rows{border-collapse:collapse;font-size:.9rem;width:auto}
table.rows th,table.rows td{border:1px solid #ccc;padding:.2rem .4rem;white-space:nowrap}
table.rows td.num{text-align:right;font-variant-numeric:tabular-nums}
table.rows thead th{position:sticky;top:0;background:#fff;box-shadow:0 1px 0 #ccc}
table.rows th button{background:none;border:0;font:inherit;font-weight:600;cursor:pointer;padding:0;color:inherit}
table.rows th .unit{display:block;font-weight:400;color:#444;font-size:.8em}
#result-table{overflow:auto;max-height:70vh}
.pager{display:flex;gap:.5rem;align-items:center;margin:.5rem 0;flex-wrap:wrap}
.pager input{width:5rem}
.downloads a{margin-right:.6rem}
table.jobs td,table.jobs th{padding:.2rem .5rem}
.phase-COMPLETED{color:#1d6b32}.phase-ERROR,.phase-ABORTED{color:#b00020}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.3rem}
`;
