/**
 * Token and existence attacks (issue 13, builds 3, 4 and 5): a token without exp, the
 * challenges anonymous clients need to find login, a token as the HTTP Basic password, and
 * whether a non-member can tell an embargoed product from one that does not exist.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, SignJWT } from 'jose';
import {
  DATA,
  EMBARGOED_DID,
  http,
  MISSING_DID,
  PUBLIC_DID,
  report,
  Tally,
  TEAM_A_DID,
  TOKEN_A,
  tapSync,
} from './lib.js';

/** Rows of field-07 (team-a) visible with these request options: 1 when the token is honoured. */
const TEAM_A_QUERY = `SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_publisher_did = '${TEAM_A_DID}'`;

function payload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

export async function tokenExp(): Promise<void> {
  const t = new Tally();
  // The development issuer's own key signs a token that is valid in every way but has no exp.
  const jwk = JSON.parse(readFileSync(join(DATA(), 'dev-issuer', 'dev-issuer-key.json'), 'utf8'));
  const key = await importJWK(jwk, 'RS256');
  const claims = payload(TOKEN_A());
  const { exp: _exp, iat: _iat, nbf: _nbf, ...rest } = claims;
  const noExp = await new SignJWT(rest)
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
    .setIssuedAt()
    .sign(key);
  const control = await tapSync(TEAM_A_QUERY, { token: TOKEN_A() });
  const a = await tapSync(TEAM_A_QUERY, { token: noExp });
  const seen = a.status === 200 && a.text.trim().split('\n')[1] === '1';
  if (seen) t.leak(`a token without exp read field-07 (answer ${a.status})`);
  else if (a.status >= 500 || a.status === 0) t.bad(`token without exp: answer ${a.status || a.error}`);
  else t.hold();
  const controlOk = control.status === 200 && control.text.trim().split('\n')[1] === '1';
  report(
    t.outcome(
      'token without exp',
      'auth',
      `token without exp: ${a.status} ${seen ? 'ACCEPTED (field-07 visible)' : 'refused'}; control token with exp: ${control.status} ${controlOk ? 'field-07 visible' : 'NOT visible'}`,
      controlOk,
    ),
  );
}

export async function challenges(): Promise<void> {
  const t = new Tally();
  const paths = [
    '/tap/capabilities',
    '/tap/tables',
    '/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%201%20source_id%20FROM%20demo.sources',
    '/tap/async',
    '/sia/capabilities',
    '/sia/query?POS=CIRCLE%2045%201%201',
    '/scs/capabilities',
    '/scs/query?RA=45&DEC=1&SR=0.1',
    `/datalink/links?ID=${encodeURIComponent(PUBLIC_DID)}`,
    '/soda/capabilities',
    '/datalink/capabilities',
  ];
  const lines: string[] = [];
  for (const p of paths) {
    const a = await http('GET', p);
    const ch = a.headers.get('www-authenticate') ?? '';
    const ok = /\b(ivoa_bearer|bearer)\b/i.test(ch);
    lines.push(
      `${p.split('?')[0]} ${a.status} ${ok ? `[${ch.replace(/\s+/g, ' ').slice(0, 90)}]` : 'NO CHALLENGE'}`,
    );
    if (a.status === 404) continue; // not a route of this node
    if (ok) t.hold();
    else
      t.bad(
        `anonymous ${p.split('?')[0]} (${a.status}) has no WWW-Authenticate Bearer/ivoa_bearer challenge`,
      );
  }
  const authed = await tapSync(TEAM_A_QUERY, { token: TOKEN_A() });
  const xva = authed.headers.get('x-vo-authenticated');
  if (xva) t.hold();
  else t.bad('an authenticated /tap/sync answer has no X-VO-Authenticated header');
  lines.push(`authenticated /tap/sync X-VO-Authenticated: ${xva ?? 'absent'}`);
  report(t.outcome('auth challenges on anonymous answers', 'auth', lines.join('; ')));
}

export async function basicToken(): Promise<void> {
  const t = new Tally();
  const lines: string[] = [];
  for (const user of ['x-oauth-basic', 'alice']) {
    const a = await http('POST', '/tap/sync', {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${TOKEN_A()}`).toString('base64')}` },
      form: { LANG: 'ADQL', FORMAT: 'csv', QUERY: TEAM_A_QUERY },
    });
    const seen = a.status === 200 && a.text.trim().split('\n')[1] === '1';
    lines.push(`Basic ${user}:<token> ${a.status} ${seen ? 'field-07 visible' : 'field-07 NOT visible'}`);
    if (seen) t.hold();
    else
      t.bad(`the token as the Basic password (user ${user}) did not give team-a's rows (answer ${a.status})`);
  }
  const wrong = await http('POST', '/tap/sync', {
    headers: { authorization: `Basic ${Buffer.from('x-oauth-basic:not-a-token').toString('base64')}` },
    form: { LANG: 'ADQL', FORMAT: 'csv', QUERY: TEAM_A_QUERY },
  });
  const wrongSeen = wrong.status === 200 && wrong.text.trim().split('\n')[1] === '1';
  if (wrongSeen) t.leak('a Basic password that is not a token read field-07');
  else t.hold();
  lines.push(`Basic with a bad password ${wrong.status}`);
  report(t.outcome('token as HTTP Basic password', 'auth', lines.join('; ')));
}

/** Replaces what legitimately differs between two answers: the ID asked for, times, UUIDs. */
function normalise(text: string, did: string): string {
  const forms = [did, encodeURIComponent(did), did.replace('?', '%3F'), did.split('?')[1]];
  let out = text;
  for (const f of forms) out = out.split(f).join('<ID>');
  return out
    .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, '<TIME>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<UUID>')
    .replace(/"time":\s*"[^"]*"/g, '"time":"<TIME>"');
}

export async function existence(): Promise<void> {
  const t = new Tally();
  const token = TOKEN_A(); // alice is in team-a, not team-b: a non-member of field-10
  const brokerBody = (did: string) =>
    JSON.stringify({
      executable: {
        kind: 'urn:vonode:broker:types:executable:pipeline-1.0',
        pipeline: 'cutout-stats',
        params: { size: '16' },
      },
      data: [
        {
          kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/data/ivoa-data-resource-1.0',
          meta: { name: 'image' },
          ivoa: { obscore: { obs_publisher_did: did } },
        },
      ],
      schedule: { requested: { duration: 'PT10M' } },
    });
  const probes: [string, (did: string) => Promise<Awaited<ReturnType<typeof http>>>][] = [
    ['DataLink links', (d) => http('GET', `/datalink/links?ID=${encodeURIComponent(d)}`, { token })],
    ['DataLink files', (d) => http('GET', `/datalink/files?ID=${encodeURIComponent(d)}`, { token })],
    [
      'DataLink header',
      (d) => http('GET', `/datalink/files?ID=${encodeURIComponent(d)}&KIND=header`, { token }),
    ],
    ['preview', (d) => http('GET', `/preview/${encodeURIComponent(d)}.png`, { token })],
    ['thumbnail', (d) => http('GET', `/preview/${encodeURIComponent(d)}.png?SIZE=thumbnail`, { token })],
    [
      'SODA sync',
      (d) =>
        http('GET', `/soda/sync?ID=${encodeURIComponent(d)}&CIRCLE=${encodeURIComponent('45 1 0.1')}`, {
          token,
        }),
    ],
    ['SODA async', (d) => sodaAsync(d, token)],
    [
      'broker offer',
      (d) =>
        http('POST', '/broker/offersets', {
          token,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: brokerBody(d),
        }),
    ],
  ];
  const lines: string[] = [];
  for (const [label, probe] of probes) {
    const hidden = await probe(EMBARGOED_DID);
    const none = await probe(MISSING_DID);
    const same =
      hidden.status === none.status &&
      normalise(hidden.text, EMBARGOED_DID) === normalise(none.text, MISSING_DID);
    lines.push(`${label} ${hidden.status}/${none.status}${same ? '' : ' DIFFER'}`);
    if (hidden.status === 200 && !['DataLink links', 'SODA async', 'broker offer'].includes(label))
      t.leak(`${label}: embargoed product served (200)`);
    else if (same) t.hold();
    else {
      // Show where the two answers part: that is what a non-member can read.
      const x = normalise(hidden.text, EMBARGOED_DID);
      const y = normalise(none.text, MISSING_DID);
      let at = 0;
      while (at < x.length && x[at] === y[at]) at++;
      const from = Math.max(0, at - 20);
      const clip = (v: string) => v.slice(from, from + 110).replace(/\s+/g, ' ');
      t.leak(`${label}: embargoed ${hidden.status} "…${clip(x)}" vs missing ${none.status} "…${clip(y)}"`);
    }
  }
  report(
    t.outcome(
      'existence of embargoed products',
      'existence',
      `embargoed/missing status: ${lines.join('; ')}`,
    ),
  );
}

/** SODA async job for an ID; the answer compared is the job's final error text. */
async function sodaAsync(did: string, token: string) {
  const a = await http('POST', '/soda/async', {
    token,
    form: { ID: did, CIRCLE: '45 1 0.1', PHASE: 'RUN' },
  });
  const job = a.headers.get('location');
  if (!job) return a;
  for (let i = 0; i < 50; i++) {
    const p = (await http('GET', `${job}/phase`, { token })).text.trim();
    if (['COMPLETED', 'ERROR', 'ABORTED'].includes(p)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const doc = await http('GET', job, { token });
  const phase = /<uws:phase>(\w+)</.exec(doc.text)?.[1] ?? `HTTP ${doc.status}`;
  const summary = /<uws:message>([^<]*)</.exec(doc.text)?.[1] ?? '';
  const err = phase === 'ERROR' ? (await http('GET', `${job}/error`, { token })).text : '';
  await http('DELETE', job, { token });
  return { ...a, text: `${phase}\n${summary}\n${err}` };
}
