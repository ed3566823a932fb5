// The body of the compile worker thread: one message in (ADQL, the catalogue as plain
// data, options), one message out (the compiled query, or the AdqlError as plain data).
import { parentPort } from 'node:worker_threads';
import { AdqlError, type CatalogueTable, type CompileOptions, compile } from '../../adql/index.js';
import type { CompileReply, CompileRequest } from './compile.js';

const port = parentPort;
if (!port) throw new Error('compile-task runs only as a worker thread');
port.on('message', (req: CompileRequest) => {
  const tables: readonly CatalogueTable[] = req.tables;
  let reply: CompileReply;
  try {
    const options: CompileOptions = req.options;
    const catalogue = {
      tables: () => tables,
      ...(req.defaultSchema ? { defaultSchema: req.defaultSchema } : {}),
    };
    reply = { id: req.id, ok: compile(req.adql, catalogue, options) };
  } catch (e) {
    if (e instanceof AdqlError) reply = { id: req.id, adqlError: e.toData() };
    else reply = { id: req.id, failure: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  port.postMessage(reply);
});
