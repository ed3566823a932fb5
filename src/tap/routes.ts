import type { FastifyInstance } from 'fastify';
import { tableDocument, tablesetDocument } from '../../registry/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { CatalogueSource, CatalogueView } from '../catalogue/index.js';

const XML = 'text/xml; charset=UTF-8';

export interface TapOptions {
  /** The published tables; each caller gets the tables it may see. */
  readonly catalogues: CatalogueSource;
}

/**
 * The TAP service's resources (TAP-1): /tables (VOSI-21..VOSI-29) from the caller's view of
 * the live catalogue, so a table published a moment ago is listed and a table the caller
 * may not see is not. Documents are made once per view (views are shared by callers who
 * see the same tables, and replaced on every change).
 */
export function registerTap(app: FastifyInstance, opts: TapOptions): void {
  const documents = new WeakMap<CatalogueView, { max?: string; min?: string }>();
  const tableset = (view: CatalogueView, detail: 'max' | 'min'): string => {
    let d = documents.get(view);
    if (!d) documents.set(view, (d = {}));
    d[detail] ??= tablesetDocument(view.schemas, detail);
    return d[detail];
  };

  app.get('/tap/tables', async (request, reply) => {
    const detail = queryParam(request.query, 'detail')?.toLowerCase();
    if (detail !== undefined && detail !== 'min' && detail !== 'max') {
      return reply.status(400).type('text/plain; charset=utf-8').send(`detail='${detail}' is not min or max`);
    }
    const view = opts.catalogues.view(request.identity ?? ANONYMOUS);
    return reply.type(XML).send(tableset(view, detail === 'min' ? 'min' : 'max'));
  });

  app.get<{ Params: { name: string } }>('/tap/tables/:name', async (request, reply) => {
    const table = opts.catalogues.view(request.identity ?? ANONYMOUS).table(request.params.name);
    if (!table) {
      return reply
        .status(404)
        .type('text/plain; charset=utf-8')
        .send(`no table '${request.params.name}' is published here; GET /tap/tables lists them`);
    }
    return reply.type(XML).send(tableDocument(table));
  });
}

/** A query-string parameter by case-insensitive name (DALI parameter names, TAP-13). */
function queryParam(query: unknown, name: string): string | undefined {
  if (!query || typeof query !== 'object') return undefined;
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? String(v[0]) : String(v);
  }
  return undefined;
}
