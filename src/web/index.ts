import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { reportInternalError } from '../errors/index.js';
import type { ServiceEntry } from '../services.js';
import { OUTPUT_FORMATS } from '../tap/capability.js';
import { webAssets } from './bundle.js';
import { registerLanding } from './landing.js';
import { callbackPage, type LoginConfig, loginDocument, tokenPage } from './login-pages.js';
import { type QueryPageConfig, queryPage } from './query-page.js';

export { webAssets } from './bundle.js';

export interface WebOptions {
  readonly services: readonly ServiceEntry[];
  readonly baseUrl: string;
  readonly nodeName: string;
  readonly maxrecDefault: number;
  readonly maxrecHard: number;
  readonly uploadMaxBytes: number;
  readonly defaultSchema?: string;
  /** Absent: the pages offer no login (an anonymous-only node, or no client id configured). */
  readonly login?: LoginConfig;
}

/** Labels of the download formats, one per encoder (the TAPRegExt list's first alias). */
const FORMAT_LABELS: Record<string, string> = {
  votable: 'VOTable (BINARY2)',
  'votable/td': 'VOTable (TABLEDATA)',
  'votable/b': 'VOTable (BINARY)',
  csv: 'CSV',
  tsv: 'TSV',
  json: 'JSON',
  fits: 'FITS',
};

/**
 * The pages for people (issue 18): the landing page and the query page, with the browser
 * bundle at /web/assets/<name>.<hash>.js, served from memory with gzip when the browser
 * takes it, and cached for a year (the hash changes with the content).
 */
export function registerWeb(app: FastifyInstance, opts: WebOptions): void {
  registerLanding(app, opts);
  const config: QueryPageConfig = {
    nodeName: opts.nodeName,
    maxrecDefault: opts.maxrecDefault,
    maxrecHard: opts.maxrecHard,
    formats: OUTPUT_FORMATS.filter((f) => f.aliases.length > 0).map((f) => ({
      value: f.aliases[0]!,
      label: FORMAT_LABELS[f.aliases[0]!] ?? f.aliases[0]!,
    })),
    uploadMaxBytes: opts.uploadMaxBytes,
    ...(opts.defaultSchema ? { defaultSchema: opts.defaultSchema } : {}),
  };
  const failed = (request: FastifyRequest, reply: FastifyReply, err: unknown) =>
    reply
      .status(500)
      .type('text/plain; charset=utf-8')
      .send(`${reportInternalError(request.log, err, 'web bundle failed')}\n`);

  /** A page whose script is the bundle `entry`. */
  const htmlPage = (url: string, entry: string, html: (script: string) => string) =>
    app.get(url, async (request, reply) => {
      let assets: Awaited<ReturnType<typeof webAssets>>;
      try {
        assets = await webAssets();
      } catch (err) {
        return failed(request, reply, err);
      }
      const js = assets.get(`${entry}.js`)!;
      return reply
        .type('text/html; charset=utf-8')
        .header('Cache-Control', 'no-cache')
        .send(html(`assets/${entry}.${js.hash}.js`));
    });

  app.get('/web', async (_request, reply) => reply.redirect('web/query', 302));
  htmlPage('/web/query', 'query', (script) => queryPage(config, script));
  // Login (issue 18 item 5, docs/web.md): what a page needs to start it, the redirect URI, the token page.
  const login = loginDocument(opts.login);
  app.get('/web/login.json', async (_request, reply) =>
    reply.type('application/json').header('Cache-Control', 'no-cache').send(login),
  );
  htmlPage('/web/callback', 'login', (script) => callbackPage(opts.nodeName, script));
  htmlPage('/web/token', 'login', (script) => tokenPage(opts.nodeName, script));
  app.get<{ Params: { file: string } }>('/web/assets/:file', async (request, reply) => {
    const m = /^([a-z-]+)\.([0-9a-f]{16})\.(js|css)$/.exec(request.params.file);
    let assets: Awaited<ReturnType<typeof webAssets>>;
    try {
      assets = await webAssets();
    } catch (err) {
      return failed(request, reply, err);
    }
    const asset = m ? assets.get(`${m[1]}.${m[3]}`) : undefined;
    if (!asset || asset.hash !== m![2])
      return reply.status(404).type('text/plain; charset=utf-8').send(`no resource at ${request.url}\n`);
    reply
      .type(asset.contentType)
      .header('Cache-Control', 'public, max-age=31536000, immutable')
      .header('ETag', `"${asset.hash}"`)
      .header('Vary', 'Accept-Encoding');
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? '')))
      return reply.header('Content-Encoding', 'gzip').send(asset.gzip);
    return reply.send(asset.body);
  });
}
