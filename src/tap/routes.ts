import type { FastifyInstance } from 'fastify';
import { tableDocument, tablesetDocument } from '../../registry/index.js';
import { findPublishedTable, type PublishedSchema } from './tables/index.js';

const XML = 'text/xml; charset=UTF-8';

export interface TapOptions {
  readonly schemas: readonly PublishedSchema[];
}

/** The TAP service's resources (TAP-1): /tables now; /sync, /async, /examples join it. */
export function registerTap(app: FastifyInstance, opts: TapOptions): void {
  const full = tablesetDocument(opts.schemas, 'max');
  const brief = tablesetDocument(opts.schemas, 'min');

  app.get('/tap/tables', async (request, reply) => {
    const detail = queryParam(request.query, 'detail')?.toLowerCase();
    if (detail !== undefined && detail !== 'min' && detail !== 'max') {
      return reply.status(400).type('text/plain; charset=utf-8').send(`detail='${detail}' is not min or max`);
    }
    return reply.type(XML).send(detail === 'min' ? brief : full);
  });

  app.get<{ Params: { name: string } }>('/tap/tables/:name', async (request, reply) => {
    const table = findPublishedTable(opts.schemas, request.params.name);
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
