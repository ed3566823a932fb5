import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAI_EMAIL, parseConfig } from '../../src/config/index.js';
import { startTestNode } from '../support/node.js';

// Issue 19: with the default configuration Identify's adminEmail was vo-admin@localhost,
// which the OAI-PMH 2.0 schema refuses (emailType: \S+@(\S+\.)+\S+), so harvesters did too.

let node: Awaited<ReturnType<typeof startTestNode>>;

beforeAll(async () => {
  // No VONODE_AUTHORITY, no VONODE_CONTACT_EMAIL: the defaults.
  node = await startTestNode();
}, 120000);

afterAll(async () => {
  await node?.stop();
});

describe('OAI-PMH Identify with the default configuration (REG-34)', () => {
  it('has an adminEmail of the form the OAI-PMH schema accepts', async () => {
    const res = await fetch(`${node.url}/registry/oai?verb=Identify`);
    expect(res.status).toBe(200);
    const doc = new XMLParser({ removeNSPrefix: true }).parse(await res.text())['OAI-PMH'];
    const email = String(doc.Identify.adminEmail);
    expect(email).toBe('vo-admin@vonode.demo');
    expect(email).toMatch(OAI_EMAIL);
  });

  it('refuses at start a contact address the schema would refuse, saying why', () => {
    const env = { VONODE_DATA_DIR: node.dataDir };
    expect(() => parseConfig({ ...env, VONODE_CONTACT_EMAIL: 'vo@localhost' })).toThrow(
      /OAI-PMH needs a domain/,
    );
    expect(parseConfig({ ...env, VONODE_CONTACT_EMAIL: 'vo@src.example.org' }).publisher.email).toBe(
      'vo@src.example.org',
    );
    // An authority without a dot gives a placeholder domain that is still valid.
    expect(parseConfig({ ...env, VONODE_AUTHORITY: 'skao' }).publisher.email).toMatch(OAI_EMAIL);
  });
});
