/**
 * Fills a node of an older vonode (OLD_BIN, on DATABASE_URL) with every kind of state
 * (test/support/node-state.ts) and writes what its queries answer to OUT (JSON), for the
 * upgrade test. Run by scripts/make-upgrade-fixture.sh, which then dumps the database.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  aliceToken,
  nodeSnapshot,
  populateNode,
  runVonode,
  STATE_QUERIES,
} from '../test/support/node-state.js';

const { OLD_BIN, DATABASE_URL, WORK, OUT, COMMIT } = process.env as Record<string, string>;

const port = await new Promise<number>((resolve) => {
  const srv = createServer();
  srv.listen(0, '127.0.0.1', () => {
    const a = srv.address();
    srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
  });
});
const env = {
  DATABASE_URL,
  VONODE_DATA_DIR: `${WORK}/var`,
  VONODE_DEMO_ROWS: '300',
  VONODE_DEMO_SCALE: '16',
  VONODE_DEV_ISSUER: 'on',
  VONODE_LOG_LEVEL: 'warn',
  PORT: String(port),
};
const node = spawn(process.execPath, [OLD_BIN, 'serve'], {
  env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const url = `http://127.0.0.1:${port}`;
try {
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (node.exitCode !== null) throw new Error(`the node exited with ${node.exitCode}`);
    const ok = await fetch(`${url}/tap/availability`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error('the node did not start in 300 s');
    await new Promise((r) => setTimeout(r, 500));
  }
  const vonode = (args: readonly string[]) => runVonode(OLD_BIN, env, args);
  const facts = await populateNode(url, vonode, WORK);
  const snapshot = await nodeSnapshot(url, await aliceToken(vonode), facts);
  writeFileSync(
    OUT,
    `${JSON.stringify({ commit: COMMIT, env: { VONODE_DEMO_ROWS: '300', VONODE_DEMO_SCALE: '16' }, queries: STATE_QUERIES, facts, snapshot }, null, 2)}\n`,
  );
  console.log(`wrote ${OUT}`);
} finally {
  node.kill('SIGTERM');
  await new Promise((r) => node.once('exit', r));
}
