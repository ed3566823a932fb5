import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoPlan } from '../../src/ingest/demo.js';
import { writeDemoImage } from '../../src/ingest/demo-products.js';
import { encode, type Field } from '../../votable/index.js';
import { freePort } from '../support/process.js';

// Issue 23: the README's recipes run as written. The blocks fenced as `sh recipe` are read from
// the README itself (not a copy) and run in order in one bash, in a folder that looks like a
// checkout (bin/ and package.json linked) holding the files the recipes name. Two things are
// adapted, and only these: `npm ci &&` is dropped (the test runs in an installed checkout), and
// localhost:8080 becomes the free port the test gives the node (PORT). A line that runs
// `npm start` starts the node in the background (stopping the one before) and waits for
// /tap/availability; every other line must exit 0, and print something unless it only assigns
// a variable or sends its output to a file.

const ROOT = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Step {
  readonly line: string;
  readonly silent: boolean;
}

/**
 * The recipe's `# edit FILE: ...` line is a person's step; the test plays that person with
 * edit.mjs, which fills in every description and title the draft left empty (strict validation
 * requires them, docs/publishing.md).
 */
const EDIT = /^# edit (\S+\.yaml):/;
const EDIT_SCRIPT = `import { readFileSync, writeFileSync } from 'node:fs';
import YAML from '${join(ROOT, 'node_modules', 'yaml', 'dist', 'index.js')}';
const file = process.argv[2];
const doc = YAML.parse(readFileSync(file, 'utf8'));
doc.schema.description ||= 'Sources of the README recipe';
for (const t of doc.tables) {
  t.title ||= 'README recipe sources';
  t.description ||= 'Sources published by the README recipe';
  for (const c of t.columns) c.description ||= 'the ' + c.name + ' column';
}
writeFileSync(file, YAML.stringify(doc));
console.log('filled in the descriptions of ' + file);
`;

function recipeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh recipe\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

function steps(port: number): Step[] {
  const out: Step[] = [];
  for (const block of recipeBlocks(README)) {
    for (const raw of block.split('\n')) {
      const line = raw
        .replace(/^npm ci && /, '')
        .replaceAll('localhost:8080', `localhost:${port}`)
        .trim();
      const edit = EDIT.exec(line);
      if (edit) {
        out.push({ line: `node ../edit.mjs ${edit[1]}`, silent: false });
        continue;
      }
      if (line === '' || line.startsWith('#')) continue;
      const command = line.replace(/\s+#.*$/, '');
      const silent =
        /^\w+=\S*$/.test(command) || /^\w+=\$\(.*\)$/.test(command) || /\s>\s*\S+$/.test(command);
      out.push({ line, silent });
    }
  }
  return out;
}

/** The bash that runs the steps; step i's output goes to out.i and its status to rc.i. */
function script(all: Step[], port: number, logDir: string): string {
  const lines = [
    'set -m',
    'NODE_PID=',
    'stop_node() { if [ -n "$NODE_PID" ]; then kill -TERM -- -"$NODE_PID" 2>/dev/null; wait "$NODE_PID" 2>/dev/null; NODE_PID=; fi; }',
    'trap stop_node EXIT',
  ];
  all.forEach((s, i) => {
    if (/\bnpm start\b/.test(s.line)) {
      lines.push(
        'stop_node',
        `${s.line.replace(/\s+#.*$/, '')} > ${logDir}/out.${i} 2>&1 &`,
        'NODE_PID=$!',
        // Poll for the node, bounded: the first start writes the demo data.
        `for _ in $(seq 1 600); do curl -sf localhost:${port}/tap/availability >/dev/null && break; kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.5; done`,
        `curl -sf localhost:${port}/tap/availability >/dev/null; echo $? > ${logDir}/rc.${i}`,
      );
    } else {
      lines.push(`{ ${s.line}\n} > ${logDir}/out.${i} 2>&1; echo $? > ${logDir}/rc.${i}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The files the recipes name: a FITS table, folders of FITS images. */
async function prepare(work: string): Promise<void> {
  symlinkSync(join(ROOT, 'bin'), join(work, 'bin'));
  symlinkSync(join(ROOT, 'package.json'), join(work, 'package.json'));
  const fields: Field[] = [
    { name: 'source_id', datatype: 'long', ucd: 'meta.id;meta.main', description: 'source number' },
    {
      name: 'ra',
      datatype: 'double',
      unit: 'deg',
      ucd: 'pos.eq.ra;meta.main',
      description: 'right ascension',
    },
    { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main', description: 'declination' },
    {
      name: 'flux',
      datatype: 'double',
      unit: 'Jy',
      ucd: 'phot.flux.density',
      description: 'peak flux density',
    },
  ] as Field[];
  const rows = Array.from({ length: 50 }, (_, i) => [
    BigInt(i + 1),
    150 + i / 100,
    2 + i / 200,
    0.001 * (i + 1),
  ]);
  const parts: Buffer[] = [];
  for await (const c of encode('fits', { fields, rows })) parts.push(Buffer.from(c));
  writeFileSync(join(work, 'sources.fits'), Buffer.concat(parts));
  const plan = demoPlan(16).filter((p) => p.kind !== 'cube');
  for (const [folder, specs] of [
    ['survey', plan.slice(0, 3)],
    ['deep', plan.slice(3, 4)],
  ] as const) {
    mkdirSync(join(work, folder));
    for (const [i, spec] of specs.entries()) {
      const name = folder === 'survey' ? `field-${i + 1}.fits` : 'deep-1.fits';
      await writeDemoImage(join(work, folder, name), { ...spec, fileName: name, obsId: name }, []);
    }
  }
}

describe("the README's recipes", () => {
  it('are marked in the README', () => {
    expect(recipeBlocks(README).length).toBeGreaterThanOrEqual(5);
  });

  it('run as written: every command exits 0 and prints what it should', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vonode-readme-'));
    chmodSync(dir, 0o755);
    const work = join(dir, 'checkout');
    const logs = join(dir, 'logs');
    mkdirSync(work);
    mkdirSync(logs);
    await prepare(work);
    const port = await freePort();
    const all = steps(port);
    writeFileSync(join(dir, 'recipes.sh'), script(all, port, logs));
    writeFileSync(join(dir, 'edit.mjs'), EDIT_SCRIPT);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', [join(dir as string, 'recipes.sh')], {
        cwd: work,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          PORT: String(port),
          // Small demo data: the recipes, not the demo generator, are under test here.
          VONODE_DEMO_ROWS: '300',
          VONODE_DEMO_SCALE: '16',
          VONODE_LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      });
      child.on('close', resolve);
    });
    expect(code).toBe(0);
    const outputs: string[] = [];
    all.forEach((s, i) => {
      const out = readFileSync(join(logs, `out.${i}`), 'utf8');
      outputs.push(out);
      const rc = readFileSync(join(logs, `rc.${i}`), 'utf8').trim();
      expect(rc, `${s.line}\n${out}`).toBe('0');
      if (!s.silent && !/\bnpm start\b/.test(s.line)) expect(out.trim(), s.line).not.toBe('');
    });
    const at = (re: RegExp) => all.findIndex((s) => re.test(s.line));
    // What the recipes' comments promise.
    expect(outputs[at(/curl localhost:\d+\/tap\/availability/)]).toContain(
      '<vosi:available>true</vosi:available>',
    );
    expect(outputs[at(/curl "localhost/)]).not.toContain('field-07');
    expect(outputs[at(/curl -H "Authorization/)]).toContain('field-07');
    expect(outputs[at(/ tables\b/)]).toMatch(/radio\.pybdsf/);
    expect(outputs[at(/ products\b/)]).toMatch(/survey/);
    expect(outputs[at(/migrate --check/)]).toMatch(/up to date/);
    expect(outputs[at(/ backup node\.backup/)]).toMatch(/backed up/);
  }, 600_000);
});
