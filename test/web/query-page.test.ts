import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DEMO_ROWS } from '../support/node.js';
import { openSession, type Session, SHOTS } from './browser.js';

/**
 * Issue 18, items 1 and 2: the query page in Debian's Chromium against a live node, as a
 * person uses it. Chromium comes from scripts/install-debian-deps.sh; without it this test
 * fails (never skips) saying how to install it. Screenshots go to test/web/screenshots
 * (git-ignored).
 */

/**
 * A 100,000-row result from the test catalogue: 40 sources, each with every public source
 * (the proprietary fields' rows are hidden from an anonymous caller), cut by TOP.
 */
const BIG_QUERY = `SELECT TOP 100000 a.source_id, a.ra, a.dec, a.flux_int, b.source_id AS partner
FROM demo.sources AS a CROSS JOIN demo.sources AS b
WHERE a.source_id <= ${(2 * 100_000) / TEST_DEMO_ROWS}`;

let base: string;
let page: Page;

/** Set when Chromium is missing or the node cannot start: every test then fails with it (none is skipped). */
let missing: Error | undefined;

/** A test of the page: it fails, saying how to install Chromium, where there is none. */
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

let session: Session | undefined;

beforeAll(async () => {
  try {
    // A node on a free loopback port and Chromium on a fresh profile (test/web/browser.ts).
    session = await openSession();
  } catch (err) {
    missing = err instanceof Error ? err : new Error(String(err));
    return;
  }
  ({ base, page } = session);
});

afterAll(async () => {
  await session?.close();
});

const editorText = () => page.locator('.cm-content').innerText();

async function setQuery(text: string): Promise<void> {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  // insertText: the editor's auto-closing brackets and indentation do not rewrite it.
  await page.keyboard.insertText(text);
}

async function setMaxrec(value: string): Promise<void> {
  await page.getByLabel('MAXREC (rows at most)').fill(value);
}

describe('the query page (issue 18)', () => {
  pageTest(
    'loads from the node alone, is linked from the landing page, and reports its time to interactive',
    async () => {
      // The node bundles the page's script once, at start under `npm start` (src/cli): do it here
      // too, so the figure below is the page's, in a browser with an empty cache.
      expect((await fetch(`${base}/web/query`)).status).toBe(200);
      await page.goto(`${base}/`);
      await page.getByRole('link', { name: 'Write and run an ADQL query' }).click();
      await page.waitForURL(`${base}/web/query`);
      await page.waitForFunction(() => performance.getEntriesByName('vonode:tables').length > 0);
      const timing = await page.evaluate(() => {
        // Browser-side types (the test's own types are Node's).
        type Nav = { domInteractive: number; domContentLoadedEventEnd: number; loadEventEnd: number };
        type Entry = { transferSize?: number };
        const entries = (t: string) => (performance.getEntriesByType as (t: string) => unknown[])(t);
        const nav = entries('navigation')[0] as Nav & Entry;
        const mark = (n: string) => performance.getEntriesByName(n)[0]?.startTime ?? Number.NaN;
        return {
          domInteractive: nav.domInteractive,
          domContentLoaded: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd,
          editorReady: mark('vonode:interactive'),
          tablesShown: mark('vonode:tables'),
          transferBytes: [...entries('resource'), nav].reduce(
            (s: number, e) => s + ((e as Entry).transferSize ?? 0),
            0,
          ),
        };
      });
      // A figure for the report, not a timed assertion (issue 18 asks for the number).
      console.log(
        `query page: time to interactive (editor ready) ${timing.editorReady.toFixed(0)} ms, DOM interactive ${timing.domInteractive.toFixed(0)} ms, load ${timing.load.toFixed(0)} ms, tables shown ${timing.tablesShown.toFixed(0)} ms, ${(timing.transferBytes / 1024).toFixed(0)} kB transferred`,
      );
      expect(timing.editorReady).toBeGreaterThan(0);
      // Every request of the page went to the node itself (no CDN).
      const origins = await page.evaluate(() =>
        performance.getEntriesByType('resource').map((e) => new URL(e.name).origin),
      );
      expect(new Set(origins)).toEqual(new Set([base]));
      await expect.poll(() => page.locator('#table-tree').innerText()).toContain('sources');
      await page.screenshot({ path: join(SHOTS, 'query-page.png'), fullPage: true });
    },
  );

  pageTest('completes table and column names from TAP_SCHEMA while typing (TAP-8 tables, VOSI)', async () => {
    await setQuery('SELECT TOP 5 source_id\nFROM demo.sou');
    await page.keyboard.press('Control+Space');
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'sources' }).first();
    await option.click();
    expect(await editorText()).toContain('FROM demo.sources');
    await page.keyboard.insertText('\nWHERE demo.sources.flux_p');
    await page.keyboard.press('Control+Space');
    const column = page.locator('.cm-tooltip-autocomplete li', { hasText: 'flux_peak' }).first();
    await column.waitFor();
    // The column's unit shows beside it (from the VOSI tables' <unit>).
    expect(await page.locator('.cm-tooltip-autocomplete').innerText()).toMatch(/Jy/);
    await page.screenshot({ path: join(SHOTS, 'completion.png') });
    await column.click();
    await page.keyboard.insertText(' > 0');
    expect(await editorText()).toMatch(/WHERE demo\.sources\.flux_peak > 0/);
    await setMaxrec('');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/5 rows in/);
    // Units and UCDs in the headers.
    expect(await page.locator('#result-table table.rows thead').innerText()).toMatch(
      /source_id[\s\S]*meta\.id/,
    );
  });

  pageTest('runs a sync query with MAXREC and shows OVERFLOW (DALI-44)', async () => {
    await setQuery('SELECT source_id, ra, dec FROM demo.sources');
    await setMaxrec('7');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/OVERFLOW/);
    expect(await page.locator('#result-table table.rows tbody tr').count()).toBe(7);
    expect(await page.locator('#result-table table.rows thead').innerText()).toMatch(
      /ra\s+deg\s+pos\.eq\.ra/,
    );
  });

  pageTest(
    'pages through a 100,000-row result as it streams, and sorts it',
    async () => {
      await setQuery(BIG_QUERY);
      await setMaxrec('100000');
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await expect
        .poll(() => page.locator('#result-status').innerText(), { timeout: 60_000 })
        .toMatch(/100,000 rows in/);
      expect(await page.locator('#page-of').innerText()).toBe('of 1,000');
      await page.getByRole('button', { name: 'Next page' }).click();
      expect(await page.locator('#page-rows').innerText()).toBe('rows 101–200 of 100,000');
      expect(
        await page.locator('#result-table table.rows tbody tr').first().locator('td').first().innerText(),
      ).toBe('101');
      await page.locator('#page-number').fill('1000');
      await page.locator('#page-number').press('Enter');
      expect(await page.locator('#page-rows').innerText()).toBe('rows 99,901–100,000 of 100,000');
      expect(
        await page.locator('#result-table table.rows tbody tr').last().locator('td').first().innerText(),
      ).toBe('100000');
      // Only the shown page is in the DOM.
      expect(await page.locator('#result-table table.rows tbody tr').count()).toBe(100);
      await page.screenshot({ path: join(SHOTS, 'results-paged.png'), fullPage: true });
      // Sort the whole result by partner, descending: page 1 holds the largest ids, the last page the smallest.
      const sortPartner = page
        .locator('#result-table table.rows thead th', { hasText: 'partner' })
        .getByRole('button');
      await sortPartner.click();
      await sortPartner.click();
      expect(
        await page
          .locator('#result-table table.rows thead th', { hasText: 'partner' })
          .getAttribute('aria-sort'),
      ).toBe('descending');
      expect(await page.locator('#page-rows').innerText()).toBe('rows 1–100 of 100,000');
      const partners = async () =>
        (await page.locator('#result-table table.rows tbody tr td:nth-child(6)').allInnerTexts()).map(Number);
      const descending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! >= x);
      const top = await partners();
      expect(top).toHaveLength(100);
      expect(descending(top)).toBe(true);
      await page.getByRole('button', { name: 'Last page' }).click();
      const bottom = await partners();
      expect(descending(bottom)).toBe(true);
      expect(bottom.at(-1)).toBe(1);
      expect(top[0]!).toBeGreaterThan(bottom[0]!);
    },
    120_000,
  );

  pageTest('downloads the result as CSV and VOTable (TAP-33, TAP-35)', async () => {
    await setQuery('SELECT TOP 50 source_id, ra, dec FROM demo.sources ORDER BY source_id');
    await setMaxrec('');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/50 rows in/);
    const save = async (label: string) => {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#result-downloads').getByRole('link', { name: label, exact: true }).click(),
      ]);
      return readFileSync((await download.path())!, 'utf8');
    };
    const csv = await save('CSV');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toBe('source_id,ra,dec');
    expect(lines).toHaveLength(51);
    expect(lines[1]!.split(',')[0]).toBe('1');
    const votable = await save('VOTable (TABLEDATA)');
    expect(votable).toContain('<INFO name="QUERY_STATUS" value="OK"');
    expect(votable.match(/<TR>/g)).toHaveLength(50);
    const binary2 = await save('VOTable (BINARY2)');
    expect(binary2).toContain('<BINARY2>');
  });

  pageTest('shows a broken query’s error at its line and column (DALI-43)', async () => {
    await setQuery('SELECT source_id,\nra FROM demo.sourcs');
    await page.keyboard.press('Control+Enter');
    const alert = page.locator('#query-error');
    await alert.waitFor({ state: 'visible' });
    expect(await alert.innerText()).toMatch(/^Line 2, column 9: no table 'demo\.sourcs'/);
    // The editor underlines the very token the compiler named.
    expect(await page.locator('.cm-lintRange-error').innerText()).toBe('demo.sourcs');
    expect(await page.locator('#result-status').innerText()).toMatch(/refused.*did you mean 'demo\.sources'/);
    await page.screenshot({ path: join(SHOTS, 'query-error.png') });
    // The place travels as INFOs of the error document, beside the message.
    const doc = await (
      await fetch(
        `${base}/tap/sync?LANG=ADQL&QUERY=${encodeURIComponent('SELECT source_id,\nra FROM demo.sourcs')}`,
      )
    ).text();
    expect(doc).toMatch(
      /<INFO name="ADQL_ERROR_LINE" value="2"\/>\s*<INFO name="ADQL_ERROR_COLUMN" value="9"\/>/,
    );
    await alert.getByRole('button', { name: 'Go to the error' }).click();
    // Editing hides the stale error.
    await page.keyboard.insertText('x');
    await alert.waitFor({ state: 'hidden' });
  });

  pageTest(
    'runs an async job, lists it with phase and duration, shows its rows and deletes it (TAP-8, UWS)',
    async () => {
      await setQuery('SELECT TOP 30 source_id, flux_int FROM demo.sources ORDER BY flux_int DESC');
      await setMaxrec('');
      await page.getByRole('button', { name: 'Run as async job' }).click();
      const row = page.locator('#job-list tbody tr').first();
      await expect.poll(() => row.locator('.phase').innerText(), { timeout: 30_000 }).toBe('COMPLETED');
      expect(await row.locator('td').nth(3).innerText()).toMatch(/^\d+\.\d s$/);
      await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/^Job \S+: 30 rows in/);
      const jobId = (await row.getAttribute('data-job'))!;
      await page.screenshot({ path: join(SHOTS, 'async-job.png'), fullPage: true });
      await row.getByRole('button', { name: `Delete job ${jobId}` }).click();
      await expect.poll(() => page.locator(`#job-list tr[data-job="${jobId}"]`).count()).toBe(0);
      const gone = await fetch(`${base}/tap/async/${jobId}`);
      expect(gone.status).toBe(404);
    },
  );

  pageTest('says why a job failed, with the error document of the job', async () => {
    await setQuery('SELECT source_id / (source_id - source_id) AS boom FROM demo.sources');
    await page.getByRole('button', { name: 'Run as async job' }).click();
    const row = page.locator('#job-list tbody tr').first();
    await expect.poll(() => row.locator('.phase').innerText(), { timeout: 30_000 }).toBe('ERROR');
    await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/failed: .*division by zero/);
  });

  pageTest('queries an uploaded CSV file as TAP_UPLOAD (TAP-30 uploads)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vonode-upload-'));
    const file = join(dir, 'my targets.csv');
    writeFileSync(
      file,
      'name,ra,dec\n"NGC 1316, Fornax A",50.67,-37.21\nM87,187.70,12.39\nCen A,201.37,-43.02\n',
    );
    await page.locator('#upload-box summary').click();
    await page.getByLabel('File').setInputFiles(file);
    expect(await page.getByLabel('Table name').inputValue()).toBe('my_targets');
    await setQuery('SELECT name, ra FROM TAP_UPLOAD.my_targets WHERE dec < 0 ORDER BY ra');
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/2 rows in/);
    expect(await page.locator('#result-table table.rows tbody tr td:nth-child(2)').allInnerTexts()).toEqual([
      'NGC 1316, Fornax A',
      'Cen A',
    ]);
    await page.getByRole('button', { name: 'Remove' }).click();
    rmSync(dir, { recursive: true, force: true });
  });

  pageTest(
    'says so when MAXREC is above the limit or the node cannot be reached, never a blank page',
    async () => {
      await setQuery('SELECT TOP 3 source_id FROM demo.sources');
      await setMaxrec('999999999999');
      await page.keyboard.press('Control+Enter');
      expect(await page.locator('.maxrec-notice').innerText()).toMatch(/above this node's limit/);
      await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/3 rows in/);
      await setMaxrec('');
      await page.route('**/tap/sync', (route) => route.abort('internetdisconnected'));
      await page.keyboard.press('Control+Enter');
      await expect.poll(() => page.locator('#result-status').innerText()).toMatch(/could not be reached/);
      await page.unroute('**/tap/sync');
      // An answer cut in the middle of the table: the rows so far, and a message that they are not all.
      await page.route('**/tap/sync', async (route) => {
        const whole = await (await route.fetch()).text();
        await route.fulfill({
          status: 200,
          contentType: 'application/x-votable+xml',
          body: whole.slice(0, whole.indexOf('<TR>', whole.indexOf('<TR>') + 1) + 10),
        });
      });
      await page.keyboard.press('Control+Enter');
      await expect
        .poll(() => page.locator('#result-status').innerText())
        .toMatch(/stopped before the table ended, after 1 rows/);
      await page.unroute('**/tap/sync');
      await page.screenshot({ path: join(SHOTS, 'connection-lost.png') });
    },
  );

  pageTest('loads a node example with one choice', async () => {
    const examples = page.getByLabel('Load an example query');
    await expect.poll(() => examples.locator('option').count()).toBeGreaterThan(1);
    await examples.selectOption({ index: 1 });
    expect(await editorText()).toMatch(/SELECT/);
    expect(await page.locator('#examples-link').getAttribute('href')).toBe('../tap/examples');
  });
});
