/**
 * The edit a person makes to the draft `vonode describe` prints, scripted for
 * conformance/publish.sh: table names, titles and descriptions, a description and UCD for
 * every column, units fixed to VOUnit, the primary key, the position columns, rights and
 * the registry metadata. Columns are found by the data file's column name (`source`, else
 * `name`, any case), so the edit does not depend on how the draft spells them.
 *
 *   tsx conformance/publish/edit.ts RECIPE DRAFT.yaml OUT.yaml
 *
 * RECIPE: pybdsf, sofia, sofia-embargoed, csv, parquet. A column of the recipe missing from
 * the draft, or a draft column the recipe does not describe, is an error naming it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml, stringify } from 'yaml';

interface ColumnEdit {
  /** New ADQL name (the file's name stays as `source`). */
  readonly name?: string;
  readonly description: string;
  readonly ucd: string;
  /** Replaces the draft's unit; null removes it. */
  readonly unit?: string | null;
}

interface Recipe {
  readonly schema: { readonly name: string; readonly description: string };
  readonly table: string;
  readonly title: string;
  readonly description: string;
  readonly primaryKey: readonly string[];
  readonly position: { readonly ra: string; readonly dec: string };
  readonly rights?: Record<string, string>;
  readonly registry: Record<string, unknown>;
  /** Keyed by the data file's column name. */
  readonly columns: Readonly<Record<string, ColumnEdit>>;
}

const RADIO = {
  name: 'radio',
  description: 'Radio continuum and HI catalogues made by the regional centre from SKA precursor surveys.',
};

const PYBDSF: Recipe = {
  schema: RADIO,
  table: 'pybdsf_srl',
  title: 'PyBDSF source list of the northern continuum mosaic',
  description:
    'Sources found by PyBDSF in the 20 x 16 degree continuum mosaic centred on RA 180, Dec +45: one row per source, Gaussians of an island merged (S_Code tells how).',
  primaryKey: ['source_id'],
  position: { ra: 'ra', dec: 'dec' },
  registry: {
    title: 'Northern continuum mosaic: PyBDSF source list',
    creators: ['SRC continuum working group'],
    subjects: ['radio-sources', 'radio-continuum-emission'],
    waveband: ['Radio'],
    licence: 'CC-BY-4.0',
  },
  columns: {
    Source_id: {
      name: 'source_id',
      ucd: 'meta.id;meta.main',
      description: 'Source number in the list (from 0)',
    },
    Isl_id: { name: 'island_id', ucd: 'meta.id.parent', description: 'Island the source belongs to' },
    RA: {
      name: 'ra',
      ucd: 'pos.eq.ra;meta.main',
      description: 'Right ascension (ICRS) of the source centroid',
    },
    E_RA: { name: 'ra_err', ucd: 'stat.error;pos.eq.ra', description: 'Error of the right ascension' },
    DEC: {
      name: 'dec',
      ucd: 'pos.eq.dec;meta.main',
      description: 'Declination (ICRS) of the source centroid',
    },
    E_DEC: { name: 'dec_err', ucd: 'stat.error;pos.eq.dec', description: 'Error of the declination' },
    Total_flux: {
      name: 'flux_int',
      ucd: 'phot.flux.density;em.radio',
      description: 'Integrated flux density of the source',
    },
    E_Total_flux: {
      name: 'flux_int_err',
      ucd: 'stat.error;phot.flux.density;em.radio',
      description: 'Error of the integrated flux density',
    },
    Peak_flux: {
      name: 'flux_peak',
      ucd: 'phot.flux.density;stat.max;em.radio',
      description: 'Peak brightness of the source',
    },
    E_Peak_flux: {
      name: 'flux_peak_err',
      ucd: 'stat.error;phot.flux.density;em.radio',
      description: 'Error of the peak brightness',
    },
    Maj: {
      name: 'maj_axis',
      ucd: 'phys.angSize.smajAxis',
      description: 'FWHM major axis of the fitted shape',
    },
    E_Maj: {
      name: 'maj_axis_err',
      ucd: 'stat.error;phys.angSize.smajAxis',
      description: 'Error of the major axis',
    },
    Min: {
      name: 'min_axis',
      ucd: 'phys.angSize.sminAxis',
      description: 'FWHM minor axis of the fitted shape',
    },
    E_Min: {
      name: 'min_axis_err',
      ucd: 'stat.error;phys.angSize.sminAxis',
      description: 'Error of the minor axis',
    },
    PA: { name: 'pa', ucd: 'pos.posAng', description: 'Position angle of the major axis, east of north' },
    E_PA: { name: 'pa_err', ucd: 'stat.error;pos.posAng', description: 'Error of the position angle' },
    DC_Maj: {
      name: 'dc_maj_axis',
      ucd: 'phys.angSize.smajAxis',
      description: 'FWHM major axis deconvolved from the restoring beam',
    },
    DC_Min: {
      name: 'dc_min_axis',
      ucd: 'phys.angSize.sminAxis',
      description: 'FWHM minor axis deconvolved from the restoring beam',
    },
    DC_PA: {
      name: 'dc_pa',
      ucd: 'pos.posAng',
      description: 'Position angle of the deconvolved shape (null when the fit did not converge)',
    },
    Isl_rms: { name: 'island_rms', ucd: 'instr.det.noise', description: 'Mean background rms in the island' },
    S_Code: {
      name: 's_code',
      ucd: 'meta.code.class',
      description: 'S: one Gaussian, M: several Gaussians, C: one Gaussian in an island with other sources',
    },
  },
};

const sofiaColumns: Record<string, ColumnEdit> = {
  name: { ucd: 'meta.id', description: 'Source name from its position (IAU convention)' },
  id: { ucd: 'meta.id;meta.main', description: 'Source number in the catalogue' },
  x: { ucd: 'pos.cartesian.x', description: 'Centroid position along the first axis of the cube' },
  y: { ucd: 'pos.cartesian.y', description: 'Centroid position along the second axis of the cube' },
  z: { ucd: 'pos.cartesian.z', description: 'Centroid position along the spectral axis of the cube' },
  x_min: { ucd: 'pos.cartesian.x;stat.min', description: 'Lower edge of the bounding box, first axis' },
  x_max: { ucd: 'pos.cartesian.x;stat.max', description: 'Upper edge of the bounding box, first axis' },
  y_min: { ucd: 'pos.cartesian.y;stat.min', description: 'Lower edge of the bounding box, second axis' },
  y_max: { ucd: 'pos.cartesian.y;stat.max', description: 'Upper edge of the bounding box, second axis' },
  z_min: { ucd: 'pos.cartesian.z;stat.min', description: 'Lower edge of the bounding box, spectral axis' },
  z_max: { ucd: 'pos.cartesian.z;stat.max', description: 'Upper edge of the bounding box, spectral axis' },
  n_pix: { ucd: 'meta.number;instr.pixel', description: 'Number of pixels in the source mask' },
  f_min: { ucd: 'phot.flux.density;stat.min', description: 'Lowest flux density in the mask' },
  f_max: { ucd: 'phot.flux.density;stat.max', description: 'Highest flux density in the mask' },
  f_sum: { ucd: 'phot.flux', unit: 'Jy.Hz', description: 'Integrated flux of the source' },
  rel: { ucd: 'stat.probability', description: 'Reliability of the detection' },
  flag: { ucd: 'meta.code.qual', description: 'Quality flags (0: no problem)' },
  rms: { ucd: 'instr.det.noise', description: 'Local noise level' },
  w20: { ucd: 'spect.line.width', description: 'Line width at 20 per cent of the peak' },
  w50: { ucd: 'spect.line.width', description: 'Line width at 50 per cent of the peak' },
  wm50: { ucd: 'spect.line.width', description: 'Line width at 50 per cent of the mean' },
  ell_maj: {
    ucd: 'phys.angSize.smajAxis',
    description: 'Major axis of the ellipse fitted to the moment 0 map',
  },
  ell_min: {
    ucd: 'phys.angSize.sminAxis',
    description: 'Minor axis of the ellipse fitted to the moment 0 map',
  },
  ell_pa: { ucd: 'pos.posAng', description: 'Position angle of the fitted ellipse' },
  ell3s_maj: { ucd: 'phys.angSize.smajAxis', description: 'Major axis of the ellipse fitted above 3 sigma' },
  ell3s_min: { ucd: 'phys.angSize.sminAxis', description: 'Minor axis of the ellipse fitted above 3 sigma' },
  ell3s_pa: { ucd: 'pos.posAng', description: 'Position angle of the ellipse fitted above 3 sigma' },
  kin_pa: { ucd: 'pos.posAng', description: 'Kinematic position angle' },
  err_x: { ucd: 'stat.error;pos.cartesian.x', description: 'Error of x' },
  err_y: { ucd: 'stat.error;pos.cartesian.y', description: 'Error of y' },
  err_z: { ucd: 'stat.error;pos.cartesian.z', description: 'Error of z' },
  err_f_sum: { ucd: 'stat.error;phot.flux', unit: 'Jy.Hz', description: 'Error of the integrated flux' },
  snr: { ucd: 'stat.snr', description: 'Integrated signal-to-noise ratio' },
  ra: { ucd: 'pos.eq.ra;meta.main', description: 'Right ascension (ICRS) of the centroid' },
  dec: { ucd: 'pos.eq.dec;meta.main', description: 'Declination (ICRS) of the centroid' },
  freq: { ucd: 'em.freq', description: 'Barycentric frequency of the centroid' },
};

const SOFIA: Recipe = {
  schema: RADIO,
  table: 'sofia_hi',
  title: 'SoFiA-2 HI detections of the southern HI field',
  description:
    'HI sources found by SoFiA-2 in the 12 x 12 degree field centred on RA 160, Dec -25, 1.30 to 1.42 GHz.',
  primaryKey: ['id'],
  position: { ra: 'ra', dec: 'dec' },
  registry: {
    title: 'Southern HI field: SoFiA-2 source catalogue',
    creators: ['SRC HI working group'],
    subjects: ['hi-line-emission', 'galaxies'],
    waveband: ['Radio'],
    licence: 'CC-BY-4.0',
  },
  columns: sofiaColumns,
};

const SOFIA_EMBARGOED: Recipe = {
  ...SOFIA,
  table: 'sofia_embargoed',
  title: 'SoFiA-2 HI detections (team-a, embargoed)',
  description: 'The team-a HI detections: proprietary to team-a, with no release date yet.',
  rights: { ownerGroup: 'team-a' },
  registry: { ...SOFIA.registry, title: 'Southern HI field: team-a SoFiA-2 detections' },
};

const CSV: Recipe = {
  schema: {
    name: 'allsky',
    description: 'All-sky survey products of the regional centre.',
  },
  table: 'components',
  title: 'All-sky continuum component list',
  description: 'Gaussian components of the all-sky continuum survey, exported by the survey pipeline as CSV.',
  primaryKey: ['component_id'],
  position: { ra: 'ra_deg', dec: 'dec_deg' },
  registry: {
    title: 'All-sky continuum survey: component list',
    creators: ['SRC survey team'],
    subjects: ['radio-continuum-emission', 'surveys'],
    waveband: ['Radio'],
    licence: 'CC-BY-4.0',
  },
  columns: {
    component_id: { ucd: 'meta.id;meta.main', description: 'Component number' },
    ra_deg: { ucd: 'pos.eq.ra;meta.main', unit: 'deg', description: 'Right ascension (ICRS)' },
    dec_deg: { ucd: 'pos.eq.dec;meta.main', unit: 'deg', description: 'Declination (ICRS)' },
    flux_mjy: { ucd: 'phot.flux.density;em.radio', unit: 'mJy', description: 'Integrated flux density' },
    flux_err_mjy: {
      ucd: 'stat.error;phot.flux.density;em.radio',
      unit: 'mJy',
      description: 'Error of the integrated flux density (null when the fit gave none)',
    },
    maj_arcsec: { ucd: 'phys.angSize.smajAxis', unit: 'arcsec', description: 'FWHM major axis' },
    field: { ucd: 'meta.id;obs.field', unit: null, description: 'Survey field the component was found in' },
  },
};

const PARQUET: Recipe = {
  schema: RADIO,
  table: 'spectral_index',
  title: 'Spectral indices between 144 MHz and 1.4 GHz',
  description:
    'Sources matched between the 144 MHz and 1.4 GHz surveys in the equatorial strip, with spectral indices.',
  primaryKey: ['source_id'],
  position: { ra: 'ra', dec: 'dec' },
  registry: {
    title: 'Equatorial strip: 144 MHz to 1.4 GHz spectral indices',
    creators: ['SRC continuum working group'],
    subjects: ['radio-sources', 'spectral-index'],
    waveband: ['Radio'],
    licence: 'CC-BY-4.0',
  },
  columns: {
    source_id: { ucd: 'meta.id;meta.main', description: 'Source identifier' },
    ra: { ucd: 'pos.eq.ra;meta.main', unit: 'deg', description: 'Right ascension (ICRS)' },
    dec: { ucd: 'pos.eq.dec;meta.main', unit: 'deg', description: 'Declination (ICRS)' },
    flux_144mhz: {
      ucd: 'phot.flux.density;em.radio.100-200MHz',
      unit: 'mJy',
      description: 'Flux density at 144 MHz',
    },
    flux_1400mhz: {
      ucd: 'phot.flux.density;em.radio.750-1500MHz',
      unit: 'mJy',
      description: 'Flux density at 1.4 GHz',
    },
    spectral_index: {
      ucd: 'spect.index;em.radio',
      description: 'Spectral index alpha (S proportional to nu^alpha); null when undetermined',
    },
    resolved: { ucd: 'meta.code', description: 'True when the source is resolved at 1.4 GHz' },
    morphology: {
      ucd: 'src.morph.type',
      description: 'Morphological class: compact, extended, double, diffuse',
    },
  },
};

const RECIPES: Record<string, Recipe> = {
  pybdsf: PYBDSF,
  sofia: SOFIA,
  'sofia-embargoed': SOFIA_EMBARGOED,
  csv: CSV,
  parquet: PARQUET,
};

type Json = Record<string, unknown>;

function apply(recipe: Recipe, draft: Json, path: string): Json {
  const tables = draft.tables as Json[] | undefined;
  if (!Array.isArray(tables) || tables.length !== 1)
    throw new Error(
      `${path}: expected one table in 'tables', found ${Array.isArray(tables) ? tables.length : 'none'}`,
    );
  const table = tables[0];
  const columns = table.columns as Json[] | undefined;
  if (!Array.isArray(columns)) throw new Error(`${path}: the table has no 'columns' list`);
  const fileName = (c: Json) => String(c.source ?? c.name).replace(/^"|"$/g, '');
  const byFile = new Map(columns.map((c) => [fileName(c).toLowerCase(), c]));
  for (const [file, edit] of Object.entries(recipe.columns)) {
    const c = byFile.get(file.toLowerCase());
    if (!c) throw new Error(`${path}: the draft has no column read from '${file}'`);
    if (edit.name && edit.name !== c.name) {
      c.source = fileName(c);
      c.name = edit.name;
    }
    c.description = edit.description;
    c.ucd = edit.ucd;
    if (edit.unit === null) delete c.unit;
    else if (edit.unit !== undefined) c.unit = edit.unit;
    byFile.delete(file.toLowerCase());
  }
  if (byFile.size)
    throw new Error(`${path}: the recipe does not describe column(s) ${[...byFile.keys()].join(', ')}`);

  const out: Json = { ...draft, validation: 'strict' };
  delete out.schemas;
  out.schema = recipe.schema;
  const edited: Json = {
    ...table,
    name: recipe.table,
    title: recipe.title,
    description: recipe.description,
    primaryKey: [...recipe.primaryKey],
    position: { ...((table.position as Json | undefined) ?? {}), ...recipe.position },
    registry: recipe.registry,
  };
  delete edited.schema;
  if (recipe.rights) edited.rights = recipe.rights;
  else delete edited.rights;
  out.tables = [edited];
  return out;
}

async function main(argv: string[]): Promise<void> {
  const [name, draftPath, outPath] = argv;
  const recipe = RECIPES[name];
  if (!recipe || !draftPath || !outPath)
    throw new Error(`usage: edit.ts ${Object.keys(RECIPES).join('|')} DRAFT.yaml OUT.yaml`);
  const draft = parseYaml(await readFile(draftPath, 'utf8')) as Json;
  if (!draft || typeof draft !== 'object') throw new Error(`${draftPath}: not a YAML mapping`);
  const edited = apply(recipe, draft, draftPath);
  await writeFile(
    outPath,
    `# ${recipe.schema.name}.${recipe.table}: the draft of vonode describe, edited (conformance/publish/edit.ts)\n${stringify(edited, { lineWidth: 0 })}`,
  );
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`edit: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
