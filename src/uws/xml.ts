import type { ErrorSummary, Job, JobParameter, JobResult, JobSummary } from './types.js';

// UWS 1.1 keeps the 1.0 namespace; the version attribute tells the two apart (UWS-44).
const NS = 'xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" xmlns:xlink="http://www.w3.org/1999/xlink"';
const NS_XSI = `${NS} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`;
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

// Characters XML 1.0 cannot carry at all; a client's parameter value may contain them.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(text: string): string {
  return text
    .replace(NOT_XML, '\uFFFD')
    .replace(/[&<>"']/g, (c) =>
      c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
    );
}

/** ISO 8601 UTC with the Z designator (UWS-4). */
export function isoInstant(d: Date): string {
  return d.toISOString();
}

function el(name: string, value: string | null | undefined): string {
  return `<uws:${name}>${escapeXml(value ?? '')}</uws:${name}>`;
}

/** Required-but-nillable elements are never left out (UWS-48). */
function nillable(name: string, value: string | null): string {
  return value === null ? `<uws:${name} xsi:nil="true"/>` : el(name, value);
}

function time(d: Date | null): string | null {
  return d ? isoInstant(d) : null;
}

/** The job list (UWS-45); `jobUrl` turns an id into the job's absolute URL. */
export function jobListXml(jobs: readonly JobSummary[], jobUrl: (id: string) => string): string {
  const parts = [HEAD, `<uws:jobs ${NS_XSI} version="1.1">`];
  for (const j of jobs) {
    parts.push(
      `<uws:jobref id="${escapeXml(j.id)}" xlink:href="${escapeXml(jobUrl(j.id))}">`,
      el('phase', j.phase),
      j.runId !== null ? el('runId', j.runId) : '',
      nillable('ownerId', j.owner),
      el('creationTime', isoInstant(j.creationTime)),
      '</uws:jobref>',
    );
  }
  parts.push('</uws:jobs>\n');
  return parts.join('');
}

function parametersBody(params: readonly JobParameter[]): string {
  return params
    .map(
      (p) =>
        `<uws:parameter id="${escapeXml(p.id)}"${p.byReference ? ' byReference="true"' : ''}>${escapeXml(p.value)}</uws:parameter>`,
    )
    .join('');
}

function resultsBody(results: readonly JobResult[], resultUrl: (id: string) => string): string {
  return results
    .map((r) => {
      const size = r.size !== undefined ? ` size="${r.size}"` : '';
      const mime = r.mimeType ? ` mime-type="${escapeXml(r.mimeType)}"` : '';
      return `<uws:result id="${escapeXml(r.id)}" xlink:href="${escapeXml(r.href ?? resultUrl(r.id))}"${size}${mime}/>`;
    })
    .join('');
}

function errorSummaryXml(e: ErrorSummary): string {
  return `<uws:errorSummary type="${e.type}" hasDetail="${e.hasDetail}">${el('message', e.message)}</uws:errorSummary>`;
}

/** The job document, children in the schema's order (UWS-46). */
export function jobXml(job: Job, resultUrl: (id: string) => string): string {
  return [
    HEAD,
    `<uws:job ${NS_XSI} version="1.1">`,
    el('jobId', job.id),
    job.runId !== null ? el('runId', job.runId) : '',
    nillable('ownerId', job.owner),
    el('phase', job.phase),
    nillable('quote', time(job.quote)),
    el('creationTime', isoInstant(job.creationTime)),
    nillable('startTime', time(job.startTime)),
    nillable('endTime', time(job.endTime)),
    el('executionDuration', String(job.executionDuration)),
    nillable('destruction', time(job.destruction)),
    `<uws:parameters>${parametersBody(job.parameters)}</uws:parameters>`,
    `<uws:results>${resultsBody(job.results, resultUrl)}</uws:results>`,
    job.error ? errorSummaryXml(job.error) : '',
    '</uws:job>\n',
  ].join('');
}

/** The standalone /parameters document (UWS-47). */
export function parametersXml(params: readonly JobParameter[]): string {
  return `${HEAD}<uws:parameters ${NS}>${parametersBody(params)}</uws:parameters>\n`;
}

/** The standalone /results document (UWS-47). */
export function resultsXml(results: readonly JobResult[], resultUrl: (id: string) => string): string {
  return `${HEAD}<uws:results ${NS}>${resultsBody(results, resultUrl)}</uws:results>\n`;
}
