import type { FastifyInstance } from 'fastify';
import type { ServiceEntry } from '../services.js';
import { escapeHtml, PAGE_STYLE } from './html.js';

/** The landing page: what this node is and where each service lives. */
export function landingPage(
  services: readonly ServiceEntry[],
  baseUrl: string,
  nodeName: string,
  login = false,
): string {
  const rows = services
    .map((s) => {
      const url = `${baseUrl}/${s.path}`;
      return `<tr><td><a href="${escapeHtml(url)}/capabilities"><code>/${escapeHtml(s.path)}</code></a></td><td>${escapeHtml(s.title)}</td><td>${escapeHtml(s.summary)}</td><td><a href="${escapeHtml(url)}/availability">availability</a></td></tr>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(nodeName)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${PAGE_STYLE}body{max-width:60rem}table{width:100%}</style></head>
<body>
<h1>${escapeHtml(nodeName)}</h1>
<p>An IVOA node of an SKA Regional Centre, served by vonode. Point TOPCAT, Aladin, pyvo or astroquery at the
services below. Public data is open to everyone; proprietary data needs a bearer token of its owners' group.</p>
<h2>In the browser</h2>
<ul>
<li><a href="web/query">Write and run an ADQL query</a>: the tables, completion, examples, sync and async runs, uploads and downloads</li>
<li><a href="web/sky">Sky view</a>: the node's images (HiPS), the coverage (MOC) of the catalogue and of the products, footprints and positions on the sky</li>
<li><a href="web/products">Products</a>: search the images and cubes, see their previews and links, and cut them out</li>
<li><a href="tap/examples">Example queries</a> of this node's data</li>${login ? '\n<li><a href="web/token">Log in and get a personal token</a> to use your rights from pyvo, TOPCAT or curl</li>' : ''}
</ul>
<h2>Services</h2>
<table><thead><tr><th>path</th><th>service</th><th>what it does</th><th>status</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<p>TAP base URL for clients: <code>${escapeHtml(baseUrl)}/tap</code></p>
</body></html>
`;
}

export function registerLanding(
  app: FastifyInstance,
  opts: { services: readonly ServiceEntry[]; baseUrl: string; nodeName: string; login?: unknown },
): void {
  const page = landingPage(opts.services, opts.baseUrl, opts.nodeName, opts.login !== undefined);
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(page));
}
