import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { startTestNode } from '../support/node.js';

/**
 * A live test node and Debian's Chromium driving it, for the page tests (docs/web.md):
 * the same flags as test/web/query-page.test.ts, plus WebGL in software (SwiftShader) for
 * the sky view's Aladin Lite, since the test machine has no GPU.
 */
export const CHROMIUM = process.env.VONODE_TEST_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = join(import.meta.dirname, 'screenshots');

/** Chromium's flags for the page tests: no network, a fresh profile, WebGL 2 in software. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGL 2 without a GPU: ANGLE on SwiftShader (Aladin Lite draws HiPS and MOCs with WebGL 2).
  '--use-gl=angle',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Session {
  readonly base: string;
  readonly page: Page;
  readonly context: BrowserContext;
  readonly node: Awaited<ReturnType<typeof startTestNode>>;
  /** Requests the pages sent to any other origin than the node's. */
  readonly foreign: string[];
  close(): Promise<void>;
}

/** Starts a node on a free loopback port and Chromium on a fresh profile; fails without Chromium. */
export async function openSession(): Promise<Session> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the web tests need Debian's chromium package (run: bash scripts/install-debian-deps.sh, or apt-get install chromium)`,
    );
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The pages follow the node's own URLs (DataLink access URLs): they must be this one.
  const node = await startTestNode({ PORT: String(port), VONODE_HOST: '127.0.0.1', VONODE_BASE_URL: base });
  const profile = mkdtempSync(join(tmpdir(), 'vonode-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    acceptDownloads: true,
    viewport: { width: 1366, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const foreign: string[] = [];
  context.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== base) foreign.push(r.url());
  });
  return {
    base,
    page,
    context,
    node,
    foreign,
    async close() {
      await context.close();
      await node.stop();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
