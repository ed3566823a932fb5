import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { DmApiFixture } from '../rucio/dm-api-fixture.js';
import { startTestNode } from '../support/node.js';
import { type OwnDatabase, ownDatabase } from '../support/own-database.js';
import {
  BrokerClient,
  closeTo,
  type Doc,
  demoProducts,
  IVOA_DATA,
  PIPELINE,
  type Product,
  referenceStats,
} from './helpers.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
const SIMPLE_DATA = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/data/simple-data-resource-1.0';

/**
 * Data brought to the job (issue 21, item 3; EB-44, EB-45, EB-51, EB-93): two nodes on
 * loopback, each on a database and data folder of its own. Node B holds the products; node A
 * holds none (no demo data) and has B as its peer. A product held only at B, named on A by
 * its ObsCore DID, its DataLink #this URL or any URL, is staged into the session's scratch on
 * A and processed there.
 */
describe('broker staging: a product held only at another node is staged and processed', () => {
  let issuer: TestIssuer;
  let dbA: OwnDatabase;
  let dbB: OwnDatabase;
  let a: TestNode;
  let b: TestNode;
  let publicProduct: Product;
  let embargoed: Product;
  let dana: BrokerClient;
  /** A download server the site does not trust: it records what each request carried. */
  let plain: Server;
  let plainUrl: string;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  let release: () => void = () => {};
  /** SRCNet's Data Management API (the contract fixture of test/rucio), locating a Rucio replica. */
  let dm: DmApiFixture;

  const fileOf = (p: Product) => p.path;
  const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
  const stats = (data: Doc[]) => ({
    executable: { kind: PIPELINE, pipeline: 'cutout-stats', params: { size: '16' } },
    data,
  });
  const byDid = (did: string) => [
    { kind: IVOA_DATA, meta: { name: 'image' }, ivoa: { obscore: { obs_publisher_did: did } } },
  ];

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    issuer.keys.push(await signingKey('RS256', 'k1'));
    const auth = {
      VONODE_OIDC_ISSUER: issuer.url,
      VONODE_OIDC_AUDIENCE: 'vonode-test',
      VONODE_BROKER_POLL_MS: '100',
    };
    dm = await new DmApiFixture('dm-token').start();
    dbB = await ownDatabase('bstage_b');
    dbA = await ownDatabase('bstage_a', 0);
    b = await startTestNode({ ...auth, ...dbB.env, VONODE_BROKER_SITE: 'site-b' });
    a = await startTestNode({
      ...auth,
      ...dbA.env,
      VONODE_BROKER_SITE: 'site-a',
      VONODE_BROKER_PEERS: `site-b=${b.url}/broker`,
      VONODE_RUCIO_DM_API: dm.url,
      VONODE_RUCIO_TOKEN: 'dm-token',
    });
    const products = await demoProducts(dbB.env.DATABASE_URL, dbB.env.VONODE_DATA_DIR);
    publicProduct = products.find((p) => p.owner === null) as Product;
    embargoed = products.find((p) => p.owner !== null) as Product;
    dana = new BrokerClient(a.url, await issuer.token({ sub: 'dana', groups: [] }, { aud: 'vonode-test' }));

    const bytes = readFileSync(fileOf(publicProduct));
    const held = new Promise<void>((r) => {
      release = r;
    });
    plain = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url === '/private/image.fits') {
        res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/fits', 'content-length': bytes.length });
      if (req.method === 'HEAD') return res.end();
      if (req.url === '/slow/image.fits') {
        // Half now, the rest once the test has seen the copy under way in the session.
        res.write(bytes.subarray(0, bytes.length >> 1));
        void held.then(() => res.end(bytes.subarray(bytes.length >> 1)));
        return;
      }
      res.end(bytes);
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    dm.storages.set('SITE_X_XRD', {
      identifier: 'SITE_X_XRD',
      associated_storage_area_id: '2a73d212-8793-4011-a687-cad99841c269',
      distance: 1,
      colocated_services: [],
    });
    dm.namespaces.set(
      'testing',
      new Map([['image.fits', { metadata: {}, replicas: { SITE_X_XRD: [`${plainUrl}/rucio/image.fits`] } }]]),
    );
  });

  afterAll(async () => {
    release();
    await a?.stop();
    await b?.stop();
    await new Promise((r) => plain?.close(r));
    await issuer?.stop();
    await dm?.stop();
    await dbA?.drop();
    await dbB?.drop();
  });

  /** Offers on A, A's own first offer accepted, the finished session. */
  async function runOnA(client: BrokerClient, body: Doc): Promise<{ offer: Doc; done: Doc }> {
    const r = await client.call('POST', '/broker/offersets', body);
    expect(r.status, r.text).toBe(200);
    const offer = r.json.offers.find((o: Doc) => o.site === 'site-a');
    expect(offer, r.text).toBeDefined();
    expect((await client.setPhase(offer.meta.uuid, 'ACCEPTED')).status).toBe(200);
    return { offer, done: await client.waitFor(offer.meta.uuid, ['COMPLETED', 'FAILED']) };
  }

  async function statsOf(client: BrokerClient, done: Doc): Promise<Doc> {
    const href = done.results.find((x: Doc) => x.name === 'stats.json').href;
    return (await client.call('GET', BrokerClient.path(href))).json;
  }

  it('EB-45/EB-93: named by its ObsCore DID, the product is found at the peer, staged (checksummed, counted) and processed', async () => {
    // A does not hold it.
    const atA = await fetch(`${a.url}/datalink/files?ID=${encodeURIComponent(publicProduct.did)}`);
    expect(atA.status).toBe(404);
    const file = fileOf(publicProduct);
    const size = readFileSync(file).length;
    const { offer, done } = await runOnA(dana, stats(byDid(publicProduct.did)));
    // The offer says where the data comes from and how long bringing it takes (EB-51 preparing).
    expect(offer.data[0].local).toBe(false);
    expect(offer.data[0].staging).toMatchObject({
      source: `${b.url}/datalink/files?ID=${encodeURIComponent(publicProduct.did)}`,
      site: 'site-b',
      size,
      state: 'waiting',
    });
    expect(offer.data[0].staging.estimate).toMatch(/^PT\d+S$/);
    expect(offer.schedule.preparing.duration).toBe(offer.data[0].staging.estimate);
    expect(offer.storage[0].size.min).toBeGreaterThanOrEqual(Math.ceil(size / 2 ** 30));
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    expect(done.data[0].staging).toMatchObject({
      state: 'done',
      bytes: size,
      total: size,
      sha256: sha256(file),
    });
    const ref = referenceStats(file, 16);
    const got = await statsOf(dana, done);
    closeTo(got.mean, ref.mean, 1e-7);
    closeTo(got.rms, ref.rms, 1e-7);
  });

  it("only products the caller may read: an embargoed product at the peer is refused to a non-member exactly like a missing one, and staged for a member with the member's token", async () => {
    const refused = await dana.call('POST', '/broker/offersets', stats(byDid(embargoed.did)));
    const missing = await dana.call('POST', '/broker/offersets', stats(byDid(`${embargoed.did}-none`)));
    expect(refused.status).toBe(422);
    expect(missing.status).toBe(422);
    const text = (r: Doc, id: string) => r.json.meta.messages.map((m: Doc) => m.message.replace(id, 'X'));
    expect(text(refused, embargoed.did)).toEqual(text(missing, `${embargoed.did}-none`));
    expect(refused.json.meta.messages[0].type).toBe('uri:resource-not-found');

    const member = new BrokerClient(
      a.url,
      await issuer.token({ sub: 'erin', groups: [embargoed.owner as string] }, { aud: 'vonode-test' }),
    );
    // Named by URL this time: B's DataLink #this.
    const url = `${b.url}/datalink/files?ID=${encodeURIComponent(embargoed.did)}`;
    const { done } = await runOnA(
      member,
      stats([{ kind: SIMPLE_DATA, meta: { name: 'image' }, location: url }]),
    );
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    expect(done.data[0].staging.sha256).toBe(sha256(fileOf(embargoed)));
    closeTo((await statsOf(member, done)).mean, referenceStats(fileOf(embargoed), 16).mean, 1e-7);
  });

  it("an origin the site does not trust never gets the caller's token; progress shows in the session while the copy runs", async () => {
    const file = fileOf(publicProduct);
    const size = readFileSync(file).length;
    const r = await dana.call(
      'POST',
      '/broker/offersets',
      stats([
        {
          kind: SIMPLE_DATA,
          meta: { name: 'image' },
          location: `${plainUrl}/slow/image.fits`,
          checksum: { type: 'sha256', value: sha256(file) },
        },
      ]),
    );
    expect(r.status, r.text).toBe(200);
    const uuid = r.json.offers[0].meta.uuid;
    expect(r.json.offers[0].data[0].staging.site).toBeNull();
    await dana.setPhase(uuid, 'ACCEPTED');
    // Condition, not time: poll until the session shows the first half arrived.
    let during: Doc;
    for (let i = 0; i < 600; i++) {
      during = (await dana.call('GET', `/broker/sessions/${uuid}`)).json;
      if (during.data[0].staging.state === 'running' && during.data[0].staging.bytes > 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(during.phase).toBe('PREPARING');
    expect(during.data[0].staging.bytes).toBeLessThan(size);
    expect(during.data[0].staging.total).toBe(size);
    release();
    const done = await dana.waitFor(uuid, ['COMPLETED', 'FAILED']);
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    closeTo((await statsOf(dana, done)).mean, referenceStats(file, 16).mean, 1e-7);
    expect(seen.length).toBeGreaterThanOrEqual(2); // the offer's probe and the copy
    for (const s of seen) expect(s.headers.authorization, s.url).toBeUndefined();

    // Without the token, a source that needs one has nothing for this caller: no offer.
    const priv = await dana.call(
      'POST',
      '/broker/offersets',
      stats([{ kind: SIMPLE_DATA, meta: { name: 'image' }, location: `${plainUrl}/private/image.fits` }]),
    );
    expect(priv.status).toBe(422);
    expect(priv.json.meta.messages[0].type).toBe('uri:resource-not-found');
  });

  it('EB-44: a Rucio DID is located through the DM API and its replica staged', async () => {
    const { offer, done } = await runOnA(
      dana,
      stats([
        {
          kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/data/rucio-data-resource-1.0',
          meta: { name: 'image' },
          rucio: { endpoint: dm.url, scope: 'testing', object: 'image.fits' },
        },
      ]),
    );
    expect(offer.data[0].staging).toMatchObject({
      source: `${plainUrl}/rucio/image.fits`,
      site: 'SITE_X_XRD',
    });
    expect(done.phase, JSON.stringify(done.meta.messages)).toBe('COMPLETED');
    expect(done.data[0].staging.sha256).toBe(sha256(fileOf(publicProduct)));
    expect(dm.requests.some((r) => r.path.endsWith('/data/locate/testing/image.fits'))).toBe(true);
  });

  it('a copy whose checksum differs from the one given fails the session with the reason, and leaves nothing behind', async () => {
    const { done } = await runOnA(
      dana,
      stats([
        {
          kind: SIMPLE_DATA,
          meta: { name: 'image' },
          location: `${plainUrl}/plain/image.fits`,
          checksum: { type: 'md5', value: '0'.repeat(32) },
        },
      ]),
    );
    expect(done.phase).toBe('FAILED');
    const last = done.meta.messages.at(-1);
    expect(last.type).toBe('uri:staging-failed');
    expect(last.message).toMatch(/md5 checksum [0-9a-f]{32} differs from the expected 0{32}/);
    expect(done.data[0].staging.state).toBe('failed');
    const folder = join(dbA.env.VONODE_DATA_DIR, 'broker', done.meta.uuid, 'staged', 'image');
    expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
  });

  it("the SRCNet facade's JobInput dataset may be another node's URL: the job is staged there with the caller's token (EB-103)", async () => {
    const member = new BrokerClient(
      a.url,
      await issuer.token({ sub: 'fay', groups: [embargoed.owner as string] }, { aud: 'vonode-test' }),
    );
    const p = await member.call('PUT', '/broker/provision', {
      data_location: 'site-a',
      memory: 1,
      cpu_cores: 1,
      runtime: 1,
    });
    expect(p.json.response_code, p.text).toBe(0);
    const s = await member.call('PUT', `/broker/provision/${p.json.provision_id}/submit`, {
      container: 'cutout-stats',
      dataset: `${b.url}/datalink/files?ID=${encodeURIComponent(embargoed.did)}`,
      params: { '--size': 16 },
    });
    expect(s.json.response_code, s.text).toBe(0);
    let st: Doc;
    for (let i = 0; i < 600; i++) {
      st = (await member.call('GET', `/broker/provision/${p.json.provision_id}/status`)).json;
      if (st.response_code !== 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(st.response_code, JSON.stringify(st)).toBe(0);
    const listing = (await member.call('GET', BrokerClient.path(st.output_data))).json as Doc[];
    const out = await member.call(
      'GET',
      BrokerClient.path(listing.find((f) => f.name === 'stats.json').href),
    );
    closeTo(out.json.mean, referenceStats(fileOf(embargoed), 16).mean, 1e-7);
    // The token was kept only while staging: nothing of it is left.
    const uuid = (p.json.provision_id as string).slice('site-a-'.length, -'.prov'.length);
    const kept = await dbA.db.query('SELECT bearer FROM broker.staging WHERE session = $1', [uuid]);
    expect(kept.rows).toEqual([{ bearer: null }]);
  });
});
