import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { reportInternalError } from '../errors/index.js';
import type { ServiceEntry } from '../services.js';
import { OUTPUT_FORMATS } from '../tap/capability.js';
import { webAssets } from './bundle.js';
import { registerLanding } from './landing.js';
import { callbackPage, type LoginConfig, loginDocument, tokenPage } from './login-pages.js';
import { productPage, productsPage } from './products-page.js';
import { type QueryPageConfig, queryPage } from './query-page.js';
import { type SkyPageConfig, skyPage } from './sky-page.js';

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

/** The catalogue /moc/sources describes (src/moc): the sky view shows its positions by default. */
const SKY_CATALOGUE = 'demo.sources';
/** Rows the sky view draws at most as footprints, and as positions of its default query. */
const SKY_ROWS_MAX = 5000;
const SKY_POSITIONS_DEFAULT = 2000;

/** Labels of the download formats, one per encoder (the TAPRegExt list's first alias). */
const FORMAT_LABELS: Record<string, string> = {
  votable: 'VOTable (BINARY2)',
  'votable/td': 'VOTable (TABLEDATA)',
  'votable/b': 'VOTable (BINARY)',
  csv: 'CSV',
  tsv: 'TSV',
  json: 'JSON',
  fits: 'FITS',
  parquet: 'Parquet',
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

  app.get('/web', async (_request, reply) => reply.redirect('web/query', 302));
  /** A page whose script is the bundle `entry`; `render` gets the script's and Aladin's URLs. */
  const page = (
    path: string,
    entry: string,
    render: (script: string, asset: (name: string) => string) => string,
  ) =>
    app.get(path, async (request, reply) => {
      let assets: Awaited<ReturnType<typeof webAssets>>;
      try {
        assets = await webAssets();
      } catch (err) {
        return failed(request, reply, err);
      }
      const asset = (name: string) => {
        const [base, ext] = name.split('.');
        return `assets/${base}.${assets.get(name)!.hash}.${ext}`;
      };
      return reply
        .type('text/html; charset=utf-8')
        .header('Cache-Control', 'no-cache')
        .send(render(asset(`${entry}.js`), asset));
    });
  page('/web/query', 'query', (script) => queryPage(config, script));
  const sky = (aladinUrl: string): SkyPageConfig => ({
    nodeName: opts.nodeName,
    aladinUrl,
    hipsPath: 'hips/images',
    catalogueTable: SKY_CATALOGUE,
    footprintsMax: Math.min(SKY_ROWS_MAX, opts.maxrecHard),
    positionsMax: Math.min(SKY_POSITIONS_DEFAULT, opts.maxrecHard),
  });
  page('/web/sky', 'sky', (script, asset) => skyPage(sky(asset('aladin-lite.js')), script));
  page('/web/products', 'products', (script) => productsPage(opts.nodeName, script));
  page('/web/product', 'product', (script) => productPage(opts.nodeName, script));
  // Login (issue 18 item 5, docs/web.md): what a page needs to start it, the redirect URI, the token page.
  const login = loginDocument(opts.login);
  app.get('/web/login.json', async (_request, reply) =>
    reply.type('application/json').header('Cache-Control', 'no-cache').send(login),
  );
  page('/web/callback', 'login', (script) => callbackPage(opts.nodeName, script));
  page('/web/token', 'login', (script) => tokenPage(opts.nodeName, script));
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
