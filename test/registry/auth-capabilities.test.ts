import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capabilitiesDocument } from '../../registry/index.js';
import { NODE_URLS_STANDARD_ID, nodeServices, serviceCapabilities } from '../../src/services.js';
import { DEFAULT_TAP_LIMITS } from '../../src/tap/capability.js';
import { xsdErrors } from '../support/xsd.js';

const BASE = 'http://127.0.0.1:8080';
const OAUTH = 'ivo://ivoa.net/sso#OAuth';
const BASIC = 'ivo://ivoa.net/sso#BasicAA';
const tokenServices = nodeServices(DEFAULT_TAP_LIMITS, true);

/**
 * What Debian's pyvo (1.2) AuthSession would do with each URL after reading one
 * service's capabilities: the security methods its AuthURLs allows there, per document
 * (one Python process for all of them).
 */
function pyvoMethods(documents: readonly string[], urls: readonly string[]): Array<Record<string, string[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'vonode-caps-'));
  const files = documents.map((document, i) => {
    const file = join(dir, `capabilities-${i}.xml`);
    writeFileSync(file, document);
    return file;
  });
  const script = `
import json, sys
from pyvo.io.vosi import parse_capabilities
from pyvo.auth.authurls import AuthURLs
files, urls = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = []
for f in files:
    auth = AuthURLs()
    auth.update_from_capabilities(parse_capabilities(f))
    out.append({u: sorted(auth.allowed_auth_methods(u)) for u in urls})
print(json.dumps(out))
`;
  const out = execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify(files), JSON.stringify(urls)], {
    encoding: 'utf8',
  });
  return JSON.parse(out) as Array<Record<string, string[]>>;
}

describe('capabilities of a node that accepts tokens (SSO-5, SSO-6, SSO-29)', () => {
  it('stay schema-valid: one securityMethod per interface, the VOSI ones without', () => {
    for (const s of tokenServices) {
      const doc = capabilitiesDocument(serviceCapabilities(s, BASE));
      expect(xsdErrors(doc), s.path).toBe('');
      expect(doc).toContain(`standardID="${OAUTH}"`);
      expect(doc).toContain(`standardID="${BASIC}"`);
      expect(doc).toContain(`standardID="${NODE_URLS_STANDARD_ID}"`);
      // VOSI endpoints are anonymous (SSO-5): exactly one interface each, without a method.
      for (const vosi of ['capabilities', 'availability']) {
        const cap = doc.split('<capability').find((c) => c.includes(`VOSI#${vosi}"`))!;
        expect(cap.match(/<interface /g), vosi).toHaveLength(1);
        expect(cap).not.toContain('securityMethod');
      }
    }
  });

  it('cover every URL a row or a link points to, as pyvo AuthSession reads them', () => {
    // The URLs pyvo asks about: SCS's base URL loses its '?' in pyvo's DALQuery.
    const urls = [
      `${BASE}/tap/sync`,
      `${BASE}/tap/async/abc123/results/result`,
      `${BASE}/datalink/links`,
      `${BASE}/datalink/files/ivo%3A%2F%2Fvonode.demo%2Fproduct%3Ffield-07.fits`,
      `${BASE}/preview/ivo%3A%2F%2Fvonode.demo%2Fproduct%3Ffield-07.png`,
      `${BASE}/soda/sync`,
      `${BASE}/scs/query`,
      `${BASE}/sia/query`,
    ];
    const vosi = tokenServices.map((s) => `${BASE}/${s.path}/capabilities`);
    const all = pyvoMethods(
      tokenServices.map((s) => capabilitiesDocument(serviceCapabilities(s, BASE))),
      [...urls, ...vosi],
    );
    tokenServices.forEach((s, i) => {
      for (const url of urls) {
        expect(all[i][url], `${s.path}: ${url}`).toEqual(['anonymous', BASIC, OAUTH]);
      }
      // The VOSI document itself stays anonymous-only (a full-URL match wins in pyvo).
      expect(all[i][`${BASE}/${s.path}/capabilities`]).toEqual(['anonymous']);
    });
  });

  it('keep the SCS base URL ending in ? (SCS-01)', () => {
    const scs = tokenServices.find((s) => s.path === 'scs')!;
    const doc = capabilitiesDocument(serviceCapabilities(scs, BASE));
    expect(doc).toContain(`<accessURL use="base">${BASE}/scs/query?</accessURL>`);
  });
});
