// Compile time of large generated ADQL queries, by shape and size (npx tsx bench/adql-size.ts
// [sizes in KB, default 10,100,349,1000] [--shape=name] [--budget=seconds]).
// Each shape is one way a query grows: the compiler must stay linear in all of them. A size
// whose smaller neighbour already took longer than the budget is skipped (printed as
// "skipped"), so a slow compiler cannot hold the machine for minutes. The length limit is
// raised to 2,000,000 characters here so that compilation itself is measured (the node
// refuses anything over VONODE_ADQL_MAX_LENGTH, 256 KiB by default); figures are CPU time.
import { compile } from '../adql/index.js';
import { demoCatalogue } from '../test/adql/fixtures.js';

const cat = demoCatalogue();

/** Repeats `unit(i)` joined by `sep` between `head` and `tail` until the text reaches `bytes`. */
function grow(head: string, unit: (i: number) => string, sep: string, tail: string, bytes: number): string {
  const parts: string[] = [];
  let len = head.length + tail.length;
  for (let i = 0; len < bytes; i++) {
    const u = unit(i);
    parts.push(u);
    len += u.length + sep.length;
  }
  return head + parts.join(sep) + tail;
}

export const SHAPES: Record<string, (bytes: number) => string> = {
  'IN list': (b) =>
    grow('SELECT source_id FROM demo.sources WHERE source_id IN (', (i) => String(i), ', ', ')', b),
  'OR chain': (b) => grow('SELECT source_id FROM demo.sources WHERE ', (i) => `flag = ${i}`, ' OR ', '', b),
  'AND chain': (b) => grow('SELECT source_id FROM demo.sources WHERE ', (i) => `flux > ${i}`, ' AND ', '', b),
  'select list': (b) => grow('SELECT ', (i) => `flux * ${i} AS c${i}`, ', ', ' FROM demo.sources', b),
  'string literal': (b) =>
    `SELECT source_id FROM demo.sources WHERE field_id = '${'x'.repeat(Math.max(0, b - 60))}'`,
  joins: (b) =>
    grow(
      'SELECT s0.source_id FROM demo.sources AS s0',
      (i) => ` JOIN demo.sources AS s${i + 1} ON s${i + 1}.source_id = s${i}.source_id`,
      '',
      '',
      b,
    ),
  'FROM list': (b) =>
    grow('SELECT s1.source_id FROM ', (i) => `demo.sources AS s${i + 1}`, ', ', ' WHERE s1.flag = 1', b),
  'WITH list': (b) =>
    grow('WITH ', (i) => `w${i} AS (SELECT ra FROM demo.sources)`, ', ', ' SELECT * FROM w0', b),
  '+ chain': (b) => grow('SELECT ', () => 'flux', ' + ', ' AS s FROM demo.sources', b),
  'nested parens': (b) => {
    const q = 'SELECT source_id FROM demo.sources WHERE ';
    const depth = 90; // under the nesting limit: the rest is a chain of such groups
    const group = `${'('.repeat(depth)}flag = 1${')'.repeat(depth)}`;
    return grow(q, () => group, ' OR ', '', b);
  },
  'comments/lines': (b) =>
    grow('SELECT source_id FROM demo.sources WHERE ', (i) => `-- c${i}\nflag = ${i}`, '\nOR ', '', b),
};

function main(): void {
  const args = process.argv.slice(2);
  const sizes = (args.find((a) => !a.startsWith('--')) ?? '10,100,349,1000').split(',').map(Number);
  const only = args.find((a) => a.startsWith('--shape='))?.slice(8);
  const budget = Number(args.find((a) => a.startsWith('--budget='))?.slice(9) ?? 20);
  console.log(`size KB: ${sizes.join(', ')}; CPU ms per compile (or the error it gave)`);
  compile('SELECT ra FROM demo.sources WHERE flux > 1', cat); // warm-up
  for (const [name, gen] of Object.entries(SHAPES)) {
    if (only && name !== only) continue;
    const cells: string[] = [];
    let slow = false;
    for (const kb of sizes) {
      if (slow) {
        cells.push('skipped');
        continue;
      }
      const q = gen(kb * 1000 - 100); // "1000 KB" stays under the old 1,000,000-character limit
      // CPU time of this process, not wall time: the figures hold on a busy machine.
      const t0 = process.cpuUsage();
      let note = '';
      try {
        compile(q, cat, { maxrec: 1000, maxLength: 2_000_000 });
      } catch (e) {
        note = ` (${(e as Error).name}: ${(e as Error).message.slice(0, 40)})`;
      }
      const used = process.cpuUsage(t0);
      const ms = (used.user + used.system) / 1000;
      cells.push(`${ms.toFixed(1)}${note}`);
      if (ms > budget * 1000) slow = true;
    }
    console.log(`${name.padEnd(16)} ${cells.join(' | ')}`);
  }
}

if (process.argv[1]?.endsWith('adql-size.ts')) main();
