import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * IVOA XML schemas for validating vonode's documents with xmllint. They are taken at
 * test time from Debian's STILTS (the copies taplint itself validates with), so the
 * project carries none; their schemaLocations are pointed at the local copies and
 * xmllint runs with --nonet, so nothing is fetched.
 */
const JAR = '/usr/share/java/starlink-ttools.jar';
const PREFIX = 'uk/ac/starlink/ttools/taplint/';

let folder: string | undefined;

const NAMESPACES: Array<[ns: string, file: string]> = [
  // VOResource 1.1 (same namespace): one securityMethod per interface, rights with rightsURI.
  ['http://www.ivoa.net/xml/VOResource/v1.0', 'VOResource-v1.1.xsd'],
  ['http://www.ivoa.net/xml/VODataService/v1.1', 'VODataService-v1.2.xsd'],
  ['http://www.ivoa.net/xml/TAPRegExt/v1.0', 'TAPRegExt-v1.0-Erratum1.xsd'],
  ['http://www.ivoa.net/xml/VOSICapabilities/v1.0', 'VOSICapabilities-v1.0.xsd'],
  ['http://www.ivoa.net/xml/VOSIAvailability/v1.0', 'VOSIAvailability-v1.0.xsd'],
  ['http://www.ivoa.net/xml/VOSITables/v1.0', 'VOSITables-v1.1.xsd'],
  ['http://www.ivoa.net/xml/UWS/v1.0', 'UWS-v1.1.xsd'],
  // SimpleDALRegExt's cs:ConeSearch: not in STILTS, see test/fixtures/xsd.
  ['http://www.ivoa.net/xml/ConeSearch/v1.0', 'ConeSearch-v1.0.xsd'],
];

/** Schemas STILTS does not ship, kept with the tests. */
const FIXTURES = new URL('../fixtures/xsd/', import.meta.url);

function schemaFolder(): string {
  if (folder) return folder;
  if (!existsSync(JAR))
    throw new Error(`${JAR} is missing: install Debian's stilts (scripts/install-debian-deps.sh)`);
  const dir = mkdtempSync(join(tmpdir(), 'vonode-xsd-'));
  execFileSync('/usr/bin/python3', [
    '-c',
    `import zipfile,sys
z=zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.startswith(sys.argv[2]) and n.endswith('.xsd'):
        open(sys.argv[3]+'/'+n.split('/')[-1],'wb').write(z.read(n))`,
    JAR,
    PREFIX,
    dir,
  ]);
  for (const f of readdirSync(FIXTURES)) writeFileSync(join(dir, f), readFileSync(new URL(f, FIXTURES)));
  const local: Record<string, string> = { 'xml.xsd': 'xmlnamespace.xsd' };
  for (const f of readdirSync(dir)) local[f] = f;
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    const text = readFileSync(path, 'utf8').replace(/schemaLocation="([^"]+)"/g, (_m, loc: string) => {
      const base = loc.split('/').pop() ?? loc;
      const target = base.startsWith('VOResource') ? 'VOResource-v1.1.xsd' : (local[base] ?? base);
      return `schemaLocation="${target}"`;
    });
    writeFileSync(path, text);
  }
  // One schema importing every namespace, so documents mixing vs:, tr:, vr: types validate.
  const imports = NAMESPACES.map(
    ([ns, file]) => `  <xs:import namespace="${ns}" schemaLocation="${file}"/>`,
  ).join('\n');
  writeFileSync(
    join(dir, 'all.xsd'),
    `<?xml version="1.0"?>\n<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:vonode:all" elementFormDefault="qualified">\n${imports}\n</xs:schema>\n`,
  );
  mkdirSync(dir, { recursive: true });
  folder = dir;
  return dir;
}

/** Validates an XML document against the IVOA schemas; returns xmllint's complaints ('' if valid). */
export function xsdErrors(xml: string): string {
  const dir = schemaFolder();
  const file = join(mkdtempSync(join(tmpdir(), 'vonode-doc-')), 'doc.xml');
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--nonet', '--noout', '--schema', join(dir, 'all.xsd'), file], {
    encoding: 'utf8',
  });
  if (r.status === 0) return '';
  return (r.stderr || r.stdout || `xmllint exited ${r.status}`).replaceAll(file, 'doc.xml');
}

/**
 * Validates a registry record's ri:Resource as a vr:Resource (with its xsi:type, e.g.
 * vs:CatalogService), against VOResource 1.1. No RegistryInterface or VORegistry schema ships with STILTS, so the
 * record's root is renamed into a test namespace whose one element has type vr:Resource:
 * everything inside is checked against VOResource, VODataService and TAPRegExt.
 */
export function xsdResourceErrors(record: string): string {
  const dir = schemaFolder();
  const wrapper = join(dir, 'record.xsd');
  if (!existsSync(wrapper))
    writeFileSync(
      wrapper,
      `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" targetNamespace="urn:vonode:record" elementFormDefault="unqualified">
  <xs:import namespace="http://www.ivoa.net/xml/VOResource/v1.0" schemaLocation="VOResource-v1.1.xsd"/>
  <xs:import namespace="http://www.ivoa.net/xml/VODataService/v1.1" schemaLocation="VODataService-v1.2.xsd"/>
  <xs:import namespace="http://www.ivoa.net/xml/TAPRegExt/v1.0" schemaLocation="TAPRegExt-v1.0-Erratum1.xsd"/>
  <xs:import namespace="http://www.ivoa.net/xml/ConeSearch/v1.0" schemaLocation="ConeSearch-v1.0.xsd"/>
  <xs:element name="Resource" type="vr:Resource"/>
</xs:schema>
`,
    );
  // Cut out of an OAI-PMH response, the record may lean on the envelope's xmlns:xsi.
  const xsi = /xmlns:xsi=/.test(record.slice(0, record.indexOf('>')))
    ? ''
    : ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
  const renamed = record
    .replace(/<ri:Resource\b/, `<rec:Resource xmlns:rec="urn:vonode:record"${xsi}`)
    .replace(/<\/ri:Resource>\s*$/, '</rec:Resource>');
  const file = join(mkdtempSync(join(tmpdir(), 'vonode-doc-')), 'record.xml');
  writeFileSync(file, renamed);
  const r = spawnSync('xmllint', ['--nonet', '--noout', '--schema', wrapper, file], { encoding: 'utf8' });
  if (r.status === 0) return '';
  return (r.stderr || r.stdout || `xmllint exited ${r.status}`).replaceAll(file, 'record.xml');
}
