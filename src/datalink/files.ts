import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { ANONYMOUS } from '../auth/index.js';
import { DaliParams } from '../dali/index.js';
import { FitsFile } from '../fits/index.js';
import { lookupProduct, sendRefusal } from './product.js';

/** URL of the download of a product's file (DataLink #this). */
export function fileUrl(baseUrl: string, did: string): string {
  return `${baseUrl}/datalink/files?ID=${encodeURIComponent(did)}`;
}

/**
 * Media type of a product's file as served: a gzipped FITS file (`.fits.gz`) is served as stored,
 * compressed, so it says application/gzip (astropy, fitsio and ds9 open it as it is).
 */
export function fileMediaType(path: string): string {
  return /\.gz$/i.test(path) ? 'application/gzip' : 'application/fits';
}

const FAULTS = { authentication: 'AuthenticationError', authorization: 'AuthorizationError' };

/**
 * GET /datalink/files?ID=: the product's FITS file as stored, with Content-Length so a client
 * knows the size before reading (CLIENTS.md), data rights as for every data path.
 */
export function registerFiles(app: FastifyInstance, deps: { pool: pg.Pool }): void {
  app.get('/datalink/files', async (request, reply) => {
    const params = new DaliParams().add(request.query);
    const ids = params.all('ID');
    const text = (status: number, message: string) =>
      reply.status(status).type('text/plain; charset=utf-8').send(`${message}\n`);
    if (ids.length !== 1) return text(400, 'UsageError: give exactly one ID (the obs_publisher_did)');
    const did = ids[0];
    const found = await lookupProduct(deps.pool, request.identity ?? ANONYMOUS, did);
    if (found.status === 'not-found') return text(404, `UsageError: no product has ID ${did}`);
    if (found.status === 'forbidden') return sendRefusal(request, reply, did, FAULTS);
    const path = found.product.filePath;
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      request.log.error({ path, did }, 'product file missing');
      return text(503, `ServiceUnavailable: the file of ${did} is not on this node's storage at the moment`);
    }
    if ((params.get('KIND') ?? '').toLowerCase() === 'header') {
      // DataLink #detached-header: the header cards as lines of text, no data read.
      const file = await FitsFile.open(path);
      try {
        let text = '';
        for (const h of await file.hdus()) {
          const raw = (await file.readBytes(h.headerStart, h.dataStart - h.headerStart)).toString('latin1');
          text += `# HDU ${h.index} (${h.kind})\n`;
          for (let i = 0; i < raw.length; i += 80) {
            const card = raw.slice(i, i + 80).trimEnd();
            if (card === '') continue;
            text += `${card}\n`;
            if (card === 'END') break;
          }
        }
        return reply.status(200).type('text/plain; charset=utf-8').send(text);
      } finally {
        await file.close();
      }
    }
    reply
      .type(fileMediaType(path))
      .header('Accept-Ranges', 'bytes')
      .header('Content-Disposition', `attachment; filename="${basename(path).replace(/"/g, '')}"`);
    // One byte range (RFC 9110 §14): lets a client resume a large download or read a header.
    const range = byteRange(request.headers.range, size);
    if (range === 'unsatisfiable') {
      return reply
        .status(416)
        .header('Content-Range', `bytes */${size}`)
        .type('text/plain; charset=utf-8')
        .send('UsageError: the range is outside the file\n');
    }
    if (range) {
      reply
        .status(206)
        .header('Content-Range', `bytes ${range.start}-${range.end}/${size}`)
        .header('Content-Length', String(range.end - range.start + 1));
      if (request.method === 'HEAD') return reply.send();
      return reply.send(createReadStream(path, { start: range.start, end: range.end }));
    }
    reply.status(200).header('Content-Length', String(size));
    if (request.method === 'HEAD') return reply.send();
    return reply.send(createReadStream(path));
  });
}

/** A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; anything else is ignored (whole file). */
function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
