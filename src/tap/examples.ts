import type { FastifyInstance } from 'fastify';

/** One DALI example (DALI-11, DALI-12, TAP-70..TAP-73): a query that runs on this node's data. */
export interface TapExample {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly query: string;
  readonly tables: readonly string[];
}

export const TAP_EXAMPLES: readonly TapExample[] = [
  {
    id: 'cone',
    name: 'Sources within 0.2 degrees of a position (the Fornax A field)',
    description:
      'A cone search on the source catalogue. CONTAINS with a constant CIRCLE uses the HEALPix index, so this stays fast on millions of rows.',
    query: `SELECT source_id, ra, dec, flux_int, maj_axis
FROM demo.sources
WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 50.67, -37.21, 0.2))
ORDER BY flux_int DESC`,
    tables: ['demo.sources'],
  },
  {
    id: 'brightest',
    name: 'The brightest sources with their spectral indices',
    description: 'Sorting the whole catalogue by integrated flux density.',
    query: `SELECT TOP 20 source_id, ra, dec, flux_int, spectral_index, ref_freq
FROM demo.sources
ORDER BY flux_int DESC`,
    tables: ['demo.sources'],
  },
  {
    id: 'fields',
    name: 'Sources per surveyed field',
    description:
      'An aggregate over the catalogue. Proprietary fields appear only for members of their groups.',
    query: `SELECT field_id, COUNT(*) AS n, AVG(spectral_index) AS mean_alpha
FROM demo.sources
GROUP BY field_id
ORDER BY field_id`,
    tables: ['demo.sources'],
  },
  {
    id: 'images-at',
    name: 'Images and cubes covering a position',
    description:
      'ObsCore footprints intersecting a point; access_url leads to each product’s DataLink document.',
    query: `SELECT obs_publisher_did, dataproduct_type, facility_name, em_min, em_max, access_url
FROM ivoa.obscore
WHERE 1 = INTERSECTS(s_region, POINT('ICRS', 50.67, -37.21))`,
    tables: ['ivoa.obscore'],
  },
  {
    id: 'low-frequency',
    name: 'Products observed below 200 MHz',
    description: 'em_min and em_max are vacuum wavelengths in metres: 200 MHz is 1.499 m.',
    query: `SELECT obs_id, target_name, em_min, em_max, t_min, t_max
FROM ivoa.obscore
WHERE em_max > 1.499
ORDER BY t_min`,
    tables: ['ivoa.obscore'],
  },
  {
    id: 'radio-extension',
    name: 'Spectral cubes with their beam and channel width (ObsCore radio extension)',
    description:
      'ivoa.obscore joined with ivoa.obscore_radio (ObsCore Extension for Radio Data) on obs_publisher_did: s_resolution_min/max (arcsec) are the smallest and largest restoring beam axes, f_resolution the channel width in kHz; frequencies in MHz from em_min/em_max.',
    query: `SELECT o.obs_publisher_did, o.target_name, r.s_resolution_min, r.s_resolution_max, r.f_resolution,
  299792458 / o.em_max / 1e6 AS f_min_mhz, 299792458 / o.em_min / 1e6 AS f_max_mhz
FROM ivoa.obscore AS o
JOIN ivoa.obscore_radio AS r USING (obs_publisher_did)
WHERE r.f_resolution < 1000 AND r.s_resolution_max < 60
ORDER BY r.s_resolution_min`,
    tables: ['ivoa.obscore', 'ivoa.obscore_radio'],
  },
  {
    id: 'crossmatch',
    name: 'Crossmatch: close pairs of sources',
    description:
      'A self-join at 10 arcseconds around one field. With an uploaded table (UPLOAD=mine,param:...) use TAP_UPLOAD.mine in place of the first table.',
    query: `SELECT TOP 100 a.source_id, b.source_id AS neighbour,
  DISTANCE(POINT('ICRS', a.ra, a.dec), POINT('ICRS', b.ra, b.dec)) * 3600 AS sep_arcsec
FROM demo.sources AS a JOIN demo.sources AS b
  ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', a.ra, a.dec, 10.0/3600))
WHERE a.source_id <> b.source_id
  AND 1 = CONTAINS(POINT('ICRS', a.ra, a.dec), CIRCLE('ICRS', 50.67, -37.21, 0.5))`,
    tables: ['demo.sources'],
  },
];

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The examples document: XHTML with RDFa Lite, one vocab on an ancestor (DALI-12). */
export function examplesDocument(examples: readonly TapExample[] = TAP_EXAMPLES): string {
  const items = examples
    .map(
      (e) => `  <div typeof="example" id="${esc(e.id)}" resource="#${esc(e.id)}">
    <h2 property="name">${esc(e.name)}</h2>
    <p>${esc(e.description)}</p>
    <pre class="dachs-ex-tapquery" property="query">${esc(e.query)}</pre>
    <p>Tables: ${e.tables.map((t) => `<span property="table">${esc(t)}</span>`).join(', ')}</p>
  </div>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head><title>vonode TAP examples</title></head>
<body vocab="http://www.ivoa.net/rdf/examples#">
<h1>Example queries for this TAP service</h1>
${items}
</body>
</html>
`;
}

export function registerTapExamples(app: FastifyInstance): void {
  const doc = examplesDocument();
  app.get('/tap/examples', async (_request, reply) =>
    reply.type('application/xhtml+xml; charset=utf-8').send(doc),
  );
}
