// How long the event loop is held while long ADQL queries compile through the node's path
// (src/tap/compile.ts: inline up to 8 KiB, else the worker thread). A 1 ms timer stands
// in for a concurrent cone query: its worst lateness is what such a request would wait.
// npx tsx bench/adql-loop.ts
import { compileAdql, DEFAULT_ADQL_LIMITS } from '../src/tap/compile.js';
import { demoCatalogue } from '../test/adql/fixtures.js';
import { SHAPES } from './adql-size.js';

const tables = demoCatalogue().list;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(label: string, adql: string | undefined): Promise<void> {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  const t0 = performance.now();
  let outcome = 'compiled';
  try {
    if (adql === undefined) await sleep(1000);
    else await compileAdql(adql, tables, [], { maxrec: 1000 });
  } catch (e) {
    outcome = `refused: ${(e as Error).message.slice(0, 50)}`;
  }
  const total = performance.now() - t0;
  await sleep(5); // let the timer see a compilation that held the loop to the end
  clearInterval(timer);
  console.log(
    `${label.padEnd(30)} ${total.toFixed(0).padStart(6)} ms   loop held at most ${worst.toFixed(1).padStart(6)} ms   ${outcome}`,
  );
}

console.log(`limits: ${JSON.stringify(DEFAULT_ADQL_LIMITS)}`);
// On a busy machine timers run late anyway: the idle line is the floor to compare with.
await measure('idle, 1 s (baseline)', undefined);
await measure('warm-up (starts the worker)', SHAPES['IN list'](20_000));
await measure('warm-up (inline)', SHAPES['IN list'](8_000));
for (const shape of ['IN list', 'OR chain', 'select list', 'nested parens']) {
  await measure(`${shape}, 8 KB (inline)`, SHAPES[shape](8_000));
  await measure(`${shape}, 250 KB (worker)`, SHAPES[shape](250_000));
}
await measure('IN list, 1 MB (refused)', SHAPES['IN list'](1_000_000));
process.exit(0);
