import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../test/auth/issuer.js';
import { BrokerClient, type Doc, demoProducts, IVOA_DATA, type Product } from '../test/broker/helpers.js';
import { testDatabaseUrl } from '../test/support/db.js';
import { startTestNode } from '../test/support/node.js';
import { CHROMIUM, CHROMIUM_FLAGS } from '../test/web/browser.js';

/**
 * Issue 21 item 4: Jupyter notebooks as ExecutionBroker sessions (EB-31 jupyter-notebook,
 * EB-33 access). A notebook server started for the user behind the node's proxy, opened in
 * Debian's Chromium with the user's token, reads a product and its output is downloaded;
 * a notebook run as a batch executable; refusals; the server ends with its session.
 */

const NOTEBOOK = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/executable/jupyter-notebook-1.0';

/** A notebook that reads the session's product (data/image.fits) with astropy and writes result.json. */
function readingNotebook(): Record<string, unknown> {
  const code = [
    'import json',
    'import numpy as np',
    'from astropy.io import fits',
    "with fits.open('data/image.fits', memmap=False) as hl:",
    '    hdu = next(h for h in hl if h.data is not None)',
    '    d = np.asarray(hdu.data, dtype=np.float64)',
    "result = {'shape': list(d.shape), 'finite': int(np.isfinite(d).sum()), 'sum': float(np.nansum(d))}",
    "with open('result.json', 'w') as f:",
    '    json.dump(result, f)',
    "print('RESULT', json.dumps(result))",
  ].join('\n');
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      {
        cell_type: 'code',
        id: 'read-product',
        metadata: {},
        execution_count: null,
        outputs: [],
        source: code,
      },
    ],
  };
}

/** The same figures read independently, by astropy in Debian's Python outside the node. */
function reference(path: string): { shape: number[]; finite: number; sum: number } {
  const script = `
import json, sys
import numpy as np
from astropy.io import fits
hl = fits.open(sys.argv[1], memmap=False)
data = [h.data for h in hl if h.data is not None][0].astype('f8')
print(json.dumps({'shape': list(data.shape), 'finite': int(np.count_nonzero(np.isfinite(data))), 'sum': float(np.nansum(data))}))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' }));
}

function expectSameFigures(got: Doc, want: ReturnType<typeof reference>): void {
  expect(got.shape).toEqual(want.shape);
  expect(got.finite).toBe(want.finite);
  expect(Math.abs(got.sum - want.sum)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want.sum)));
}

/** Processes whose command line names the session (Jupyter, its kernels: their files are in the work folder). */
function processesOf(uuid: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(uuid)) out.push(Number(pid));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  polls = 600,
): Promise<T> {
  for (let i = 0; i < polls; i++) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

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

describe('ExecutionBroker Jupyter notebooks (issue 21 item 4)', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let issuer: TestIssuer;
  let base: string;
  let alice: BrokerClient;
  let bob: BrokerClient;
  let aliceToken: string;
  let product: Product;
  let expected: ReturnType<typeof reference>;

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    issuer.keys.push(await signingKey('RS256', 'k1'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    node = await startTestNode({
      PORT: String(port),
      VONODE_HOST: '127.0.0.1',
      // The notebook server's pages link under the node's public path: the one the browser uses.
      VONODE_BASE_URL: base,
      VONODE_OIDC_ISSUER: issuer.url,
      VONODE_OIDC_AUDIENCE: 'vonode-test',
      VONODE_BROKER_POLL_MS: '100',
    });
    aliceToken = await issuer.token({ sub: 'alice-notebook', groups: ['/team-a'] }, { aud: 'vonode-test' });
    alice = new BrokerClient(base, aliceToken);
    bob = new BrokerClient(
      base,
      await issuer.token({ sub: 'bob-notebook', groups: ['/team-b'] }, { aud: 'vonode-test' }),
    );
    const products = await demoProducts(testDatabaseUrl());
    product = products.find((p) => p.owner === null && p.path.endsWith('.fits')) as Product;
    expect(product).toBeDefined();
    expected = reference(product.path);
  });

  afterAll(async () => {
    await node?.stop();
    await issuer?.stop();
  });

  const request = (executable: Record<string, unknown>, duration = 'PT10M') => ({
    name: 'notebook-run',
    executable: { kind: NOTEBOOK, meta: { name: 'notebook' }, ...executable },
    compute: { cores: { min: 1, max: 1 }, memory: { min: 1, max: 1 } },
    data: [
      {
        kind: IVOA_DATA,
        meta: { name: 'image.fits' },
        ivoa: { obscore: { obs_publisher_did: product.did } },
      },
    ],
    schedule: { requested: { duration } },
  });

  async function acceptFirst(client: BrokerClient, body: unknown): Promise<string> {
    const os = await client.call('POST', '/broker/offersets', body);
    expect(os.status, os.text).toBe(200);
    const uuid = os.json.offers[0].meta.uuid as string;
    const acc = await client.setPhase(uuid, 'ACCEPTED');
    expect(acc.status, acc.text).toBe(200);
    return uuid;
  }

  /** Waits until the proxied server answers its status API (it takes a moment to open its socket). */
  async function serverUp(uuid: string): Promise<void> {
    await alice.waitFor(uuid, ['RUNNING']);
    await until(`the notebook server of ${uuid}`, async () => {
      const r = await alice.call('GET', `/broker/sessions/${uuid}/notebook/api/status`);
      if (r.status === 200) return true;
      expect([503], r.text).toContain(r.status);
      return undefined;
    });
  }

  it('runs a notebook as a batch executable: the executed notebook and what it wrote are outputs (EB-31, EB-73)', async () => {
    const uuid = await acceptFirst(alice, request({ mode: 'batch', content: readingNotebook() }));
    const done = await alice.waitFor(uuid, ['COMPLETED', 'FAILED']);
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    expect(done.executable.kind).toBe(NOTEBOOK);
    expect(done.executable.mode).toBe('batch');
    const names = done.results.map((r: Doc) => r.href.split('/results/')[1]);
    expect(names).toEqual(expect.arrayContaining(['notebook.ipynb', 'result.json']));
    const executed = await alice.call('GET', `/broker/sessions/${uuid}/results/notebook.ipynb`);
    expect(executed.status).toBe(200);
    const cell = executed.json.cells[0];
    expect(cell.execution_count).toBe(1);
    const printed = cell.outputs.map((o: Doc) => [o.text].flat().join('')).join('');
    expectSameFigures(JSON.parse(printed.slice(printed.indexOf('RESULT ') + 7)), expected);
    const result = await alice.call('GET', `/broker/sessions/${uuid}/results/result.json`);
    expectSameFigures(result.json, expected);
    // The product itself is a link next to the notebook, never served as a result (issue 13).
    expect((await alice.call('GET', `/broker/sessions/${uuid}/results/data/image.fits`)).status).toBe(404);
  });

  it('a failing batch notebook is FAILED with the error (EB-73)', async () => {
    const nb = readingNotebook();
    (nb.cells as Doc[])[0].source = "raise ValueError('no such column: flux')";
    const uuid = await acceptFirst(alice, request({ mode: 'batch', content: nb }));
    const done = await alice.waitFor(uuid, ['COMPLETED', 'FAILED']);
    expect(done.phase).toBe('FAILED');
    expect(JSON.stringify(done.meta.messages)).toContain('no such column: flux');
  });

  it('refuses bad notebook requests with the reason (EB-61)', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ mode: 'sideways' }, 400, 'executable.mode'],
      [{ mode: 'batch' }, 400, 'executable.location'],
      [{ location: 'file:///etc/passwd' }, 400, 'executable.location'],
      [{ content: { cells: 'none' } }, 400, 'executable.content'],
      [
        { location: `data:application/json,${encodeURIComponent('{"not": "a notebook"}')}` },
        400,
        'executable.location',
      ],
    ];
    for (const [ex, status, path] of cases) {
      const r = await alice.call('POST', '/broker/offersets', request(ex));
      expect(r.status, r.text).toBe(status);
      expect(r.json.result).toBe('NO');
      expect(
        r.json.meta?.messages?.some((m: Doc) => m.values?.path === path) ?? r.text.includes(path),
        r.text,
      ).toBe(true);
    }
    // An http(s) notebook is fetched only from the prefixes the site lists (none here).
    const remote = await alice.call(
      'POST',
      '/broker/offersets',
      request({ location: 'http://127.0.0.1:1/x.ipynb' }),
    );
    expect(remote.status).toBe(422);
    expect(remote.text).toContain('is not one this site fetches from');
  });

  it("a data: URL notebook runs too, and the session's product is readable from it (EB-31)", async () => {
    const url = `data:application/x-ipynb+json;base64,${Buffer.from(JSON.stringify(readingNotebook())).toString('base64')}`;
    const uuid = await acceptFirst(alice, request({ mode: 'batch', location: url }));
    const done = await alice.waitFor(uuid, ['COMPLETED', 'FAILED']);
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    expectSameFigures(
      (await alice.call('GET', `/broker/sessions/${uuid}/results/result.json`)).json,
      expected,
    );
  });

  describe('interactive notebook server', () => {
    let uuid: string;
    let context: BrowserContext | undefined;
    let profile: string;

    beforeAll(async () => {
      uuid = await acceptFirst(alice, request({ content: readingNotebook() }));
      await serverUp(uuid);
    });
    afterAll(async () => {
      await context?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('EB-33: the session names the proxied server as its access point', async () => {
      const s = (await alice.call('GET', `/broker/sessions/${uuid}`)).json;
      expect(s.executable.mode).toBe('interactive');
      expect(s.executable.access).toEqual([
        { status: 'ACTIVE', protocol: 'HTTP', locations: [`${base}/broker/sessions/${uuid}/notebook/`] },
      ]);
    });

    it('refuses without a token (401), with another user’s token or cookie-less guesses (404 like other sessions)', async () => {
      const path = `/broker/sessions/${uuid}/notebook/api/status`;
      const anon = await fetch(`${base}${path}`);
      expect(anon.status).toBe(401);
      expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await bob.call('GET', path)).status).toBe(404);
      const bobFirst = await fetch(`${base}${path}?access_token=${encodeURIComponent(bob.token as string)}`, {
        redirect: 'manual',
      });
      expect(bobFirst.status).toBe(404);
      expect(bobFirst.headers.get('set-cookie')).toBeNull();
      const forged = await fetch(`${base}${path}`, { headers: { cookie: 'vonode_notebook=forged' } });
      expect(forged.status).toBe(401);
      // A cookie tells nothing about sessions: an unknown one answers the same.
      const unknown = await fetch(`${base}/broker/sessions/${randomUUID()}/notebook/api/status`, {
        headers: { cookie: 'vonode_notebook=forged' },
      });
      expect(unknown.status).toBe(401);
      const bad = await fetch(`${base}${path}?access_token=not-a-token`, { redirect: 'manual' });
      expect(bad.status).toBe(401);
      // Another user's session is absent to Bob whatever the path under it.
      expect((await bob.call('GET', `/broker/sessions/${uuid}/notebook/`)).status).toBe(404);
      // The server itself has no port: only a unix socket in the session's work folder.
      const ss = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
      for (const pid of processesOf(uuid)) expect(ss).not.toContain(`pid=${pid},`);
    });

    it('a first request with the token gets a session-scoped HttpOnly cookie and a redirect without the token', async () => {
      const first = await fetch(
        `${base}/broker/sessions/${uuid}/notebook/tree?access_token=${encodeURIComponent(aliceToken)}`,
        { redirect: 'manual' },
      );
      expect(first.status).toBe(303);
      expect(first.headers.get('location')).toBe(`/broker/sessions/${uuid}/notebook/tree`);
      const cookie = first.headers.get('set-cookie') as string;
      expect(cookie).toMatch(/^vonode_notebook=[A-Za-z0-9_-]{43};/);
      expect(cookie).toContain(`Path=/broker/sessions/${uuid}/notebook/`);
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Strict');
      expect(cookie).not.toContain(aliceToken);
      const tree = await fetch(`${base}/broker/sessions/${uuid}/notebook/tree`, {
        headers: { cookie: cookie.split(';')[0] },
      });
      expect(tree.status).toBe(200);
      // With the cookie alone, the server's API lists the notebook and the session's data.
      const listing = await fetch(`${base}/broker/sessions/${uuid}/notebook/api/contents`, {
        headers: { cookie: cookie.split(';')[0] },
      });
      expect(listing.status).toBe(200);
      const names = ((await listing.json()) as Doc).content.map((c: Doc) => c.name).sort();
      expect(names).toEqual(['data', 'notebook.ipynb']);
    });

    it('acceptance: the notebook opens in Chromium through the node with the user’s token, reads a product, and its output is downloaded', {
      timeout: 240_000,
    }, async () => {
      profile = mkdtempSync(join(tmpdir(), 'vonode-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        acceptDownloads: true,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      const foreign: string[] = [];
      context.on('request', (r) => {
        const u = new URL(r.url());
        if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== base) foreign.push(r.url());
      });
      const nbUrl = `${base}/broker/sessions/${uuid}/notebook/notebooks/notebook.ipynb`;
      await page.goto(`${nbUrl}?access_token=${encodeURIComponent(aliceToken)}`);
      // The redirect took the token out of the address bar.
      expect(page.url()).toBe(nbUrl);
      // The kernel's websocket came up through the proxy.
      await page.locator('#kernel_indicator_icon.kernel_idle_icon').waitFor({ timeout: 60_000 });
      await page.locator('#celllink').click();
      await page.locator('#run_all_cells').click();
      const output = page.locator('.output_area pre', { hasText: 'RESULT' });
      await output.waitFor({ timeout: 60_000 });
      const shown = await output.innerText();
      expectSameFigures(JSON.parse(shown.slice(shown.indexOf('RESULT ') + 7)), expected);
      // The output, downloaded by the browser through the proxy with its cookie.
      const download = page.waitForEvent('download');
      const href = `${base}/broker/sessions/${uuid}/notebook/files/result.json?download=1`;
      await page.evaluate(
        `{ const a = document.createElement('a'); a.href = ${JSON.stringify(href)}; a.download = 'result.json'; document.body.append(a); a.click(); }`,
      );
      const file = await (await download).path();
      expectSameFigures(JSON.parse(readFileSync(file, 'utf8')), expected);
      expect(foreign).toEqual([]);
      // The same output is a result of the session, for API clients.
      expectSameFigures(
        (await alice.call('GET', `/broker/sessions/${uuid}/results/result.json`)).json,
        expected,
      );
    });

    it('cancelling the session stops the server and its kernels; the proxy then refuses (EB-72)', {
      timeout: 120_000,
    }, async () => {
      expect(processesOf(uuid).length).toBeGreaterThan(0);
      const c = await alice.setPhase(uuid, 'CANCELLED');
      expect(c.status, c.text).toBe(200);
      await until('the notebook processes to end', () => processesOf(uuid).length === 0 || undefined);
      const r = await alice.call('GET', `/broker/sessions/${uuid}/notebook/api/status`);
      expect(r.status).toBe(409);
      expect(r.text).toContain('CANCELLED');
    });
  });

  it('a notebook server whose time runs out is stopped and the session FAILED with the reason (EB-73)', {
    timeout: 180_000,
  }, async () => {
    const uuid = await acceptFirst(alice, request({}, 'PT20S'));
    await alice.waitFor(uuid, ['RUNNING']);
    await until('a notebook process', () => processesOf(uuid).length > 0 || undefined);
    const done = await alice.waitFor(uuid, ['FAILED', 'COMPLETED', 'CANCELLED'], 1200);
    expect(done.phase).toBe('FAILED');
    expect(done.meta.messages.map((m: Doc) => m.type)).toContain('uri:time-limit');
    await until('the notebook processes to end', () => processesOf(uuid).length === 0 || undefined);
  });
});
