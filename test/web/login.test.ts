import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.js';
import { CHROMIUM, CHROMIUM_FLAGS, SHOTS } from './browser.js';

/**
 * Issue 18 item 5: the pages log in with the node's issuer (here the development issuer,
 * VONODE_DEV_ISSUER=on) by the authorization code flow with PKCE, and then every request
 * carries the user's rights: a team-a member sees the proprietary field-07 (its product in
 * ivoa.obscore, its sources in demo.sources; src/ingest/demo.ts DEMO_PROPRIETARY), which a
 * logged-out visitor does not. Debian's Chromium through playwright-core, against a live node.
 */

/** The demo products are numbered like the fields: field-07's obs_id is <array>-<date>-007. */
const FIELD_07_PRODUCTS =
  "SELECT obs_id, data_rights, obs_publisher_did FROM ivoa.obscore WHERE obs_id LIKE '%-007' ORDER BY obs_id";
const FIELD_07_SOURCES = "SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = 'field-07'";

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

let node: Awaited<ReturnType<typeof startTestNode>>;
let base: string;
let context: BrowserContext;
let page: Page;
let profile: string;
let missing: Error | undefined;

function pageTest(name: string, body: () => Promise<void>, timeout?: number): void {
  it(
    name,
    async () => {
      if (missing) throw missing;
      await body();
    },
    timeout,
  );
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    missing = new Error(
      `Chromium is missing at ${CHROMIUM}: the web tests need Debian's chromium package (run: bash scripts/install-debian-deps.sh, or apt-get install chromium)`,
    );
    return;
  }
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  node = await startTestNode({
    PORT: String(port),
    VONODE_HOST: '127.0.0.1',
    VONODE_BASE_URL: base,
    VONODE_DEV_ISSUER: 'on',
  });
  profile = mkdtempSync(join(tmpdir(), 'vonode-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    acceptDownloads: true,
    viewport: { width: 1366, height: 900 },
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await context?.close();
  await node?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function setQuery(text: string): Promise<void> {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/** Runs `query` synchronously on the query page; the result's rows as cell texts. */
async function runSync(query: string): Promise<string[][]> {
  await setQuery(query);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await expect
    .poll(() => page.locator('#result-status').innerText(), { timeout: 30_000 })
    .toMatch(/\d+ rows in/);
  const rows = page.locator('#result-table table.rows tbody tr');
  const out: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++) {
    // The first cell is the row number.
    out.push((await rows.nth(i).locator('td').allInnerTexts()).slice(1));
  }
  return out;
}

/** Runs `query` as an async job; the count its single row holds, once the job completes. */
async function runAsyncCount(query: string): Promise<{ n: number; jobId: string }> {
  await setQuery(query);
  // The list keeps this browser's earlier jobs: wait for the new one to head it.
  const ids = () =>
    page.locator('#job-list tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job')));
  const before = new Set(await ids());
  await page.getByRole('button', { name: 'Run as async job' }).click();
  await expect
    .poll(
      async () => {
        const first = (await ids())[0];
        return typeof first === 'string' && !before.has(first);
      },
      { timeout: 30_000 },
    )
    .toBe(true);
  const jobId = (await ids())[0]!;
  const row = page.locator(`#job-list tr[data-job="${jobId}"]`);
  await expect.poll(() => row.locator('.phase').innerText(), { timeout: 30_000 }).toBe('COMPLETED');
  await expect
    .poll(() => page.locator('#result-status').innerText(), { timeout: 30_000 })
    .toMatch(new RegExp(`^Job ${jobId}: 1 rows in`));
  const n = Number(await page.locator('#result-table table.rows tbody tr td').nth(1).innerText());
  return { n, jobId };
}

/** The page's session as web/common/session.ts keeps it in sessionStorage (null: none). */
async function storedSession(): Promise<unknown> {
  return JSON.parse((await page.evaluate('sessionStorage.getItem("vonode.session")')) ?? 'null');
}

async function storeSession(session: Record<string, unknown>): Promise<void> {
  await page.evaluate(`sessionStorage.setItem("vonode.session", ${JSON.stringify(JSON.stringify(session))})`);
}

/** What the node's TAP says with no token, or with `token`: the count of field-07's sources. */
async function countDirect(token?: string): Promise<number> {
  const q = new URLSearchParams({ LANG: 'ADQL', RESPONSEFORMAT: 'csv', QUERY: FIELD_07_SOURCES });
  const res = await fetch(`${base}/tap/sync?${q}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  expect(res.status).toBe(200);
  return Number((await res.text()).trim().split(/\r?\n/)[1]);
}

/** field-07's products as the node gives them to `token`'s holder (none without a token). */
async function field07Products(token?: string): Promise<string[][]> {
  const q = new URLSearchParams({
    LANG: 'ADQL',
    RESPONSEFORMAT: 'csv',
    QUERY:
      "SELECT obs_id, obs_publisher_did, s_ra, s_dec FROM ivoa.obscore WHERE obs_id LIKE '%-007' ORDER BY obs_id",
  });
  const res = await fetch(`${base}/tap/sync?${q}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  expect(res.status).toBe(200);
  return (await res.text())
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','));
}

/** How many products ivoa.obscore holds for `token`'s holder (for everyone without one). */
async function obscoreCount(token?: string): Promise<number> {
  const q = new URLSearchParams({
    LANG: 'ADQL',
    RESPONSEFORMAT: 'csv',
    QUERY: 'SELECT COUNT(*) FROM ivoa.obscore',
  });
  const res = await fetch(`${base}/tap/sync?${q}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  expect(res.status).toBe(200);
  return Number((await res.text()).trim().split(/\r?\n/)[1]);
}

/** The sky view, drawn: the obs_ids in its list of footprints (all of ivoa.obscore by default). */
async function skyFootprints(): Promise<string[]> {
  await page.goto(`${base}/web/sky`);
  await page.waitForSelector('body[data-sky="drawn"]', { timeout: 150_000 });
  // Each entry reads "<obs_id> (<type>, <collection>)".
  return (await page.locator('#footprint-list li').allInnerTexts()).map((t) => t.split(' ')[0]!);
}

/** The product search around (ra, dec): the obs_ids it lists. */
async function searchAround(ra: string, dec: string): Promise<string[]> {
  await page.goto(`${base}/web/products`);
  await page.getByLabel('RA', { exact: true }).fill(ra);
  await page.getByLabel('Dec', { exact: true }).fill(dec);
  await page.getByLabel('Radius', { exact: true }).fill('0.05');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect.poll(() => page.locator('#search-status').innerText()).toMatch(/^(\d+ products?|No products)/);
  return page.locator('#search-results tbody th').allInnerTexts();
}

/** Each page's header has the pages nav and the login region saying `session`. */
async function headerSays(session: RegExp): Promise<void> {
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  await expect.poll(() => page.locator('header #session').innerText()).toMatch(session);
}

/** field-07's first product as seen logged in: kept for the logged-out checks. */
let field07: string[] | undefined;

describe('logging in on the pages (issue 18 item 5)', () => {
  pageTest('logged out: public data only, a Log in button, and no token to show', async () => {
    await page.goto(`${base}/web/query`);
    await page.locator('#session').getByRole('button', { name: 'Log in' }).waitFor();
    expect(await runSync(FIELD_07_PRODUCTS)).toEqual([]);
    expect(await page.locator('#result-status').innerText()).toMatch(/Query: 0 rows in/);
    const { n } = await runAsyncCount(FIELD_07_SOURCES);
    expect(n).toBe(0);
    await page.goto(`${base}/web/token`);
    await expect.poll(() => page.locator('#token-page').innerText()).toMatch(/You are not logged in/);
    // The landing page leads there.
    await page.goto(`${base}/`);
    expect(
      await page.getByRole('link', { name: 'Log in and get a personal token' }).getAttribute('href'),
    ).toBe('web/token');
  });

  pageTest('refuses an answer that does not carry the state of the login started in this tab', async () => {
    await page.goto(`${base}/web/query`);
    await page.locator('#session').getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/dev-issuer\/authorize\?/);
    const started = new URL(page.url());
    expect(started.searchParams.get('code_challenge_method')).toBe('S256');
    expect(started.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(started.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(started.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(started.searchParams.get('redirect_uri')).toBe(`${base}/web/callback`);
    expect(started.searchParams.get('client_id')).toBe('vonode-web');
    await page.screenshot({ path: join(SHOTS, 'dev-issuer-login.png') });
    // Someone else's answer (a forged or replayed redirect) arrives instead of ours.
    await page.goto(`${base}/web/callback?code=forged&state=not-ours`);
    await expect.poll(() => page.locator('#callback').innerText()).toMatch(/Login failed: .*state mismatch/);
    await page.goto(`${base}/web/query`);
    await page.locator('#session').getByRole('button', { name: 'Log in' }).waitFor();
  });

  pageTest('a cancelled login says so and leaves the page logged out', async () => {
    await page.goto(`${base}/web/query`);
    await page.locator('#session').getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/dev-issuer\/authorize\?/);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await expect
      .poll(() => page.locator('#callback').innerText())
      .toMatch(/Login failed: the identity provider refused the login: the user cancelled the login/);
    expect(await storedSession()).toBeNull();
    await page.getByRole('link', { name: 'Back to the query page' }).click();
    await page.locator('#session').getByRole('button', { name: 'Log in' }).waitFor();
  });

  pageTest(
    'a team-a member logs in and sees field-07 in sync and async results and downloads',
    async () => {
      await page.goto(`${base}/web/query`);
      await page.locator('#session').getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/dev-issuer\/authorize\?/);
      await page.getByLabel('User name').fill('alice');
      await page.getByLabel('Groups (comma-separated)').fill('team-a');
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(`${base}/web/query`);
      await expect.poll(() => page.locator('#session').innerText()).toMatch(/Logged in as alice \(team-a\)/);

      const products = await runSync(FIELD_07_PRODUCTS);
      expect(products.length).toBeGreaterThan(0);
      for (const [obsId, rights] of products) {
        expect(obsId).toMatch(/-007$/);
        expect(rights).toBe('proprietary');
      }
      // Downloads carry the token too (fetch + blob: a link cannot carry a header).
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#result-downloads').getByRole('button', { name: 'CSV', exact: true }).click(),
      ]);
      const csv = readFileSync((await download.path())!, 'utf8');
      expect(csv.split(/\r?\n/)[0]).toBe('obs_id,data_rights,obs_publisher_did');
      for (const [obsId] of products) expect(csv).toContain(obsId);

      const { n, jobId } = await runAsyncCount(FIELD_07_SOURCES);
      expect(n).toBeGreaterThan(0);
      expect(n).toBe(await countDirect(((await storedSession()) as { accessToken: string }).accessToken));
      // The job's own result link, fetched with the token.
      const [jobResult] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: `Download result result of job ${jobId}` }).click(),
      ]);
      expect(readFileSync((await jobResult.path())!, 'utf8')).toContain(`<TD>${n}</TD>`);
      await page.screenshot({ path: join(SHOTS, 'query-page-logged-in.png') });
    },
    120_000,
  );

  pageTest(
    'logged in, the sky view, the product search and the product page show field-07 (issue 18 acceptance)',
    async () => {
      const token = ((await storedSession()) as { accessToken: string }).accessToken;
      const products = await field07Products(token);
      expect(products.length).toBeGreaterThan(0);
      field07 = products[0]!;
      const [obsId, did, ra, dec] = field07;
      // The sky view lists every product the user may see, field-07's among them.
      const listed = await skyFootprints();
      await headerSays(/Logged in as alice \(team-a\)/);
      expect(listed).toHaveLength(await obscoreCount(token));
      expect(listed.filter((id) => id.endsWith('-007')).sort()).toEqual(products.map((p) => p[0]).sort());
      await page.screenshot({ path: join(SHOTS, 'sky-view-logged-in.png') });
      expect(await searchAround(ra!, dec!)).toContain(obsId);
      await headerSays(/Logged in as alice/);
      await page.goto(`${base}/web/product?id=${encodeURIComponent(did!)}`);
      await expect.poll(() => page.locator('#product-h').innerText()).toBe(obsId);
      await headerSays(/Logged in as alice/);
    },
    240_000,
  );

  pageTest(
    'the token page shows the token, its expiry, a copy button and a pyvo snippet that works',
    async () => {
      await page.goto(`${base}/web/query`);
      await page.locator('#session').getByRole('link', { name: 'Personal token' }).click();
      await page.waitForURL(`${base}/web/token`);
      const token = await page.getByLabel('Your access token').inputValue();
      expect(token.split('.')).toHaveLength(3);
      expect(await page.locator('#token-sub').innerText()).toBe('alice');
      expect(await page.locator('#token-page').innerText()).toMatch(/member of team-a/);
      // The development issuer's tokens live an hour.
      expect(await page.locator('#token-expiry').innerText()).toMatch(
        /^It expires .* \(in about (59|60) minutes\)/,
      );
      await page.getByRole('button', { name: 'Copy the token' }).click();
      await expect.poll(() => page.locator('#copy-status').innerText()).toBe('Copied.');
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(token);
      await page.screenshot({ path: join(SHOTS, 'token-page.png'), fullPage: true });

      // The token works outside the browser: curl-like, and with the page's own pyvo snippet.
      const inside = await countDirect(token);
      expect(inside).toBeGreaterThan(0);
      expect(await countDirect()).toBe(0);
      const snippet = await page.locator('#pyvo-snippet').innerText();
      expect(snippet).toContain(`pyvo.dal.TAPService("${base}/tap", session=auth)`);
      const dir = mkdtempSync(join(tmpdir(), 'vonode-pyvo-'));
      try {
        writeFileSync(join(dir, 'token.txt'), `${token}\n`);
        const script = snippet.replace(
          /print\(tap\.search\(.*\)\.to_table\(\)\)\s*$/,
          `print(tap.search("${FIELD_07_SOURCES}").to_table()["n"][0])`,
        );
        expect(script).not.toBe(snippet);
        // Not execFileSync: the node answering pyvo runs in this process.
        const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-c', script], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 120_000,
        });
        expect(Number(stdout.trim())).toBe(inside);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );

  pageTest('logging out forgets the token; public data still works and field-07 is gone', async () => {
    await page.goto(`${base}/web/token`);
    await page.locator('#session').getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.locator('#token-page').innerText()).toMatch(/You are not logged in/);
    expect(await storedSession()).toBeNull();
    await page.goto(`${base}/web/query`);
    await page.locator('#session').getByRole('button', { name: 'Log in' }).waitFor();
    expect(await runSync(FIELD_07_PRODUCTS)).toEqual([]);
    const all = await runSync('SELECT TOP 5 obs_id, data_rights FROM ivoa.obscore ORDER BY obs_id');
    expect(all.length).toBeGreaterThan(0);
    for (const [, rights] of all) expect(rights).not.toBe('proprietary');
  });

  pageTest(
    'logged out, field-07 is absent from the sky view, the product search and its product page',
    async () => {
      expect(field07).toBeDefined();
      const [obsId, did, ra, dec] = field07!;
      expect(await field07Products()).toEqual([]);
      const listed = await skyFootprints();
      await headerSays(/Log in/);
      expect(listed.length).toBeGreaterThan(0);
      expect(listed).toHaveLength(await obscoreCount());
      expect(listed.filter((id) => id.endsWith('-007'))).toEqual([]);
      expect(await searchAround(ra!, dec!)).not.toContain(obsId);
      await headerSays(/Log in/);
      await page.goto(`${base}/web/product?id=${encodeURIComponent(did!)}`);
      await expect.poll(() => page.locator('#product-h').innerText()).toBe('Product not found');
      await headerSays(/Log in/);
    },
    240_000,
  );

  pageTest(
    'a token the node refuses ends the session with a message; an expired one is dropped',
    async () => {
      await page.goto(`${base}/web/query`);
      await page.locator('#session').getByRole('button', { name: 'Log in' }).waitFor();
      // A session whose token the node does not accept (signed by nobody it knows).
      await storeSession({ accessToken: 'e30.e30.c2ln', sub: 'mallory', groups: [], issuer: 'x' });
      await page.reload();
      // The first request that carries it (the table list) is refused: the session ends, the
      // header says why, and the page goes on with the public view.
      await expect
        .poll(() => page.locator('#session').innerText())
        .toMatch(/The node no longer accepts your login: log in again/);
      expect(await storedSession()).toBeNull();
      await expect.poll(() => page.locator('#table-tree').innerText()).toContain('obscore');
      // Logged out now, the same query runs with the public view.
      expect((await runSync('SELECT TOP 1 obs_id FROM ivoa.obscore')).length).toBe(1);

      await storeSession({
        accessToken: 'e30.e30.c2ln',
        expiresAt: Date.now() - 1000,
        sub: 'old',
        groups: [],
        issuer: 'x',
      });
      await page.reload();
      await expect.poll(() => page.locator('#session').innerText()).toMatch(/Your login has expired/);
      await page.locator('#session').getByRole('button', { name: 'Log in' }).waitFor();
    },
  );
});
