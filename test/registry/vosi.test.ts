import { describe, expect, it } from 'vitest';
import {
  availabilityDocument,
  capabilitiesDocument,
  tableDocument,
  tablesetDocument,
  vosiCapabilities,
} from '../../registry/index.js';
import { SERVICES, serviceCapabilities } from '../../src/services.js';
import { publishedSchemas } from '../../src/tap/tables/index.js';
import { xsdErrors } from '../support/xsd.js';

describe('VOSI documents validate against the IVOA schemas (from Debian STILTS)', () => {
  it('availability, available and not (VOSI-15, VOSI-19)', () => {
    expect(xsdErrors(availabilityDocument({ available: true, upSince: new Date(), notes: ['ok'] }))).toBe('');
    expect(xsdErrors(availabilityDocument({ available: false, notes: ['down', 'really'] }))).toBe('');
  });

  it('capabilities of every service (VOSI-6..VOSI-12)', () => {
    for (const s of SERVICES) {
      const doc = capabilitiesDocument(serviceCapabilities(s, 'http://localhost:8080'));
      expect(xsdErrors(doc), s.path).toBe('');
    }
    expect(xsdErrors(capabilitiesDocument(vosiCapabilities('http://x/y')))).toBe('');
  });

  it('the tableset at both details, and each table (VOSI-21..VOSI-29)', () => {
    const schemas = publishedSchemas();
    expect(xsdErrors(tablesetDocument(schemas, 'max'))).toBe('');
    expect(xsdErrors(tablesetDocument(schemas, 'min'))).toBe('');
    expect(tablesetDocument(schemas, 'min')).not.toContain('<column');
    for (const s of schemas) for (const t of s.tables) expect(xsdErrors(tableDocument(t)), t.name).toBe('');
  });

  it('rejects what the schema forbids, so the check is real', () => {
    const bad = availabilityDocument({ available: true }).replace(
      '<vosi:available>true',
      '<vosi:available>maybe',
    );
    expect(xsdErrors(bad)).toMatch(/available/);
  });
});
