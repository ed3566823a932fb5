import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { ANONYMOUS, type Identity } from '../auth/index.js';
import type { CatalogueSource } from '../catalogue/index.js';
import type { PublishedTable } from '../tap/tables/model.js';
import { CATALOGUE_MIN_ORDER, CatalogueHips } from './catalogue.js';
import { ALLSKY_ORDER, ImageHips } from './image-hips.js';
import { type HipsLimits, hipsLimits } from './limits.js';
import { catalogueMetadata } from './metadata.js';
import { catalogueProperties, formatProperties, surveyProperties } from './properties.js';
import { loadSurveys } from './survey.js';

export interface HipsDeps {
  readonly pool: pg.Pool;
  readonly baseUrl: string;
  /** Tiles are cached in <dataDir>/hips/<name>. */
  readonly dataDir: string;
  /** The naming authority of creator_did (HIPS-21). */
  readonly authority: string;
  /**
   * The published tables (each with a position gets a catalogue HiPS); its change events
   * (the catalogue NOTIFY, which `vonode ingest` and `vonode retract` send with payload
   * ivoa.obscore) make the image HiPS reload, so new images appear without a restart.
   */
  readonly catalogues?: CatalogueSource;
  readonly limits?: HipsLimits;
}

/** Catalogue change names that may change the images: the products table, or everything. */
const PRODUCT_CHANGES = new Set(['ivoa.obscore', '*']);

// HIPS-34: Aladin Lite in any page fetches tiles across origins: the node's CORS hook
// (src/cors) answers for /hips as for every public endpoint.
const HEADERS = { 'cache-control': 'public, max-age=3600' };

/** A catalogue HiPS is named by its table, schema.table in lower case: /hips/demo.sources. */
const catalogueName = (t: PublishedTable) => `${t.schema}.${t.name}`.replaceAll('"', '').toLowerCase();

/**
 * The HiPS (HiPS 1.0) of the node, for Aladin: one image HiPS per frequency band and one
 * cube HiPS per band of spectral cubes, of the public products (src/hips/survey.ts), and a
 * catalogue HiPS of every published table with a position, each with properties, tiles and
 * Allsky; and the HiPS list of them all (HIPS-31).
 *
 * Rights: image and cube HiPS hold public products only. A catalogue HiPS is read as the
 * caller (row-level security): without a token, the public rows; with one, the rows that
 * identity may read, cached apart per identity. The HiPS list names the public HiPS.
 */
export function registerHips(app: FastifyInstance, deps: HipsDeps): void {
  const limits = deps.limits ?? hipsLimits();
  const ctx = { baseUrl: deps.baseUrl, authority: deps.authority };
  let surveys: Promise<Map<string, ImageHips>> | undefined;
  const getSurveys = () => {
    if (!surveys) {
      const loading = loadSurveys(deps.pool, limits.bandRatio)
        .then(
          (list) => new Map(list.map((s) => [s.name, new ImageHips(s, join(deps.dataDir, 'hips', s.name))])),
        )
        .catch((err) => {
          if (surveys === loading) surveys = undefined;
          throw err;
        });
      surveys = loading;
    }
    return surveys;
  };
  // The image list is kept only until the products change: the next request loads it again
  // (a load already under way finishes for the requests that began it).
  deps.catalogues?.onChange((name) => {
    if (PRODUCT_CHANGES.has(name)) surveys = undefined;
  });

  // Catalogue HiPS per (catalogue version, identity, table): a publish bumps the version.
  const catalogueCache = new Map<string, CatalogueHips>();
  const catalogueTables = (identity: Identity) =>
    (deps.catalogues?.view(identity).positional() ?? []).filter((t) => t.spatialIndex);
  const catalogueHips = (identity: Identity, name: string): CatalogueHips | undefined => {
    const t = catalogueTables(identity).find((x) => catalogueName(x) === name.toLowerCase());
    if (!t) return undefined;
    const key = [
      deps.catalogues?.version,
      catalogueName(t),
      identity.sub ?? '',
      [...identity.groups].sort().join(','),
    ].join('|');
    let c = catalogueCache.get(key);
    if (!c) {
      c = new CatalogueHips(deps.pool, identity, t, limits.catalogueTileRows);
      catalogueCache.set(key, c);
      if (catalogueCache.size > 64) catalogueCache.delete(catalogueCache.keys().next().value as string);
    }
    return c;
  };

  const text = (reply: FastifyReply, body: string, type = 'text/plain; charset=utf-8') =>
    reply.headers(HEADERS).type(type).send(body);
  const notFound = (reply: FastifyReply, message: string) =>
    reply.status(404).headers(HEADERS).type('text/plain; charset=utf-8').send(`${message}\n`);
  const identityOf = (request: FastifyRequest): Identity => request.identity ?? ANONYMOUS;

  const catalogueProps = async (name: string, c: CatalogueHips) =>
    formatProperties(await catalogueProperties(name, c, await c.start(), ctx));

  // HIPS-31: the properties of every HiPS, separated by blank lines.
  app.get('/hips/hipslist', async (request, reply) => {
    const records: string[] = [];
    for (const s of (await getSurveys()).values())
      records.push(formatProperties(surveyProperties(s.survey, ctx)));
    for (const t of catalogueTables(ANONYMOUS)) {
      const name = catalogueName(t);
      const c = catalogueHips(ANONYMOUS, name);
      if (!c) continue;
      // One catalogue that cannot be read now (unpublished while the list was made, a
      // database error) leaves the list without its record, not the whole list unanswered.
      try {
        records.push(await catalogueProps(name, c));
      } catch (err) {
        request.log.warn({ err, hips: name }, 'HiPS list: a catalogue HiPS was left out');
      }
    }
    return text(reply, records.join('\n'));
  });

  type NameParams = { name: string };
  app.get<{ Params: NameParams }>('/hips/:name/properties', async (request, reply) => {
    const { name } = request.params;
    const s = (await getSurveys()).get(name);
    if (s) return text(reply, formatProperties(surveyProperties(s.survey, ctx)));
    const c = catalogueHips(identityOf(request), name);
    if (c) return text(reply, await catalogueProps(name, c));
    return notFound(reply, `no HiPS is named '${name}'; the HiPS list is ${deps.baseUrl}/hips/hipslist`);
  });
  app.get<{ Params: NameParams }>('/hips/:name/Moc.fits', async (request, reply) => {
    const s = (await getSurveys()).get(request.params.name);
    if (!s) return notFound(reply, `no image HiPS is named '${request.params.name}'`);
    return reply
      .headers(HEADERS)
      .type('application/fits')
      .send(s.survey.moc.toFits({ mocType: 'IMAGE' }));
  });
  const metadata = async (request: FastifyRequest<{ Params: NameParams }>, reply: FastifyReply) => {
    const c = catalogueHips(identityOf(request), request.params.name);
    if (!c) return notFound(reply, `no catalogue HiPS is named '${request.params.name}'`);
    const t = c.table;
    return text(
      reply,
      catalogueMetadata(catalogueName(t), t.description, c.columns),
      'text/xml; charset=utf-8',
    );
  };
  // Aladin Lite asks for Metadata.xml, the standard names metadata.xml (HIPS-01): both.
  app.get<{ Params: NameParams }>('/hips/:name/Metadata.xml', metadata);
  app.get<{ Params: NameParams }>('/hips/:name/metadata.xml', metadata);

  app.get<{ Params: NameParams & { norder: string; file: string } }>(
    '/hips/:name/:norder/:file',
    async (request, reply) => {
      const { name, norder, file } = request.params;
      const o = /^Norder(\d{1,2})$/.exec(norder);
      const order = o ? Number(o[1]) : -1;
      const s = (await getSurveys()).get(name);
      const a = /^Allsky(?:_(\d{1,5}))?\.png$/.exec(file);
      if (s && a && order === ALLSKY_ORDER) {
        const frame = Number(a[1] ?? 0);
        if (frame >= (s.survey.cube?.depth ?? 1)) return notFound(reply, `no frame ${frame} in this HiPS`);
        return reply
          .headers(HEADERS)
          .type('image/png')
          .send(await s.allsky(frame));
      }
      const c = s ? undefined : catalogueHips(identityOf(request), name);
      if (c && file === 'Allsky.tsv' && order >= CATALOGUE_MIN_ORDER && order <= Math.min(3, await c.order()))
        return text(reply, await c.allsky(order), 'text/tab-separated-values; charset=utf-8');
      return notFound(reply, `no ${norder}/${file} in HiPS '${name}'`);
    },
  );

  app.get<{ Params: NameParams & { norder: string; dir: string; npix: string } }>(
    '/hips/:name/:norder/:dir/:npix',
    async (request, reply) => {
      const { name, norder, dir, npix } = request.params;
      const o = /^Norder(\d{1,2})$/.exec(norder);
      const p = /^Npix(\d{1,12})(?:_(\d{1,5}))?\.(png|fits|tsv)$/.exec(npix);
      const order = o ? Number(o[1]) : -1;
      const index = p ? Number(p[1]) : -1;
      const frame = p?.[2] === undefined ? 0 : Number(p[2]);
      const ext = p?.[3];
      const valid = o && p && index < 12 * 4 ** order && dir === `Dir${Math.floor(index / 10000) * 10000}`;
      const s = (await getSurveys()).get(name);
      if (s) {
        const { survey } = s;
        if (
          !valid ||
          ext === 'tsv' ||
          order < survey.minOrder ||
          order > survey.order ||
          frame >= (survey.cube?.depth ?? 1) ||
          (p?.[2] !== undefined && frame === 0)
        )
          return notFound(
            reply,
            `no tile ${norder}/${dir}/${npix}: tiles are Norder${survey.minOrder}..${survey.order}/DirD/NpixN${survey.cube ? `[_F]` : ''}.png|fits`,
          );
        // HIPS-03/34: a partial HiPS answers 404, fast, where it has no data.
        const body = await s.tile(order, index, ext as 'png' | 'fits', frame);
        if (!body) return notFound(reply, 'no data in this tile');
        return reply
          .headers(HEADERS)
          .type(ext === 'png' ? 'image/png' : 'application/fits')
          .send(body);
      }
      const c = catalogueHips(identityOf(request), name);
      if (!c)
        return notFound(reply, `no HiPS is named '${name}'; the HiPS list is ${deps.baseUrl}/hips/hipslist`);
      const deepest = await c.order();
      if (!valid || ext !== 'tsv' || p?.[2] !== undefined || order < CATALOGUE_MIN_ORDER || order > deepest)
        return notFound(
          reply,
          `no tile ${norder}/${dir}/${npix}: tiles are Norder${CATALOGUE_MIN_ORDER}..${deepest}/DirD/NpixN.tsv`,
        );
      const body = await c.tsv(order, index);
      if (!body) return notFound(reply, 'no rows in this tile');
      return text(reply, body, 'text/tab-separated-values; charset=utf-8');
    },
  );
}
