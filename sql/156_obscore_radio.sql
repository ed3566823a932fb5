-- ivoa.obscore_radio: the IVOA ObsCore Extension for Radio Data (ivoa-std/
-- ObsCoreExtensionForRadioData, section "The ivoa.obscore_radio table"). The name is fixed
-- by the standard; the table shares exactly one column with ivoa.obscore, obs_publisher_did,
-- so `ivoa.obscore NATURAL JOIN ivoa.obscore_radio` gives one row per dataset. Every column
-- of the standard's three tables is here (general, interferometry, instrumental), NULL where
-- a product has no value. Units as the standard lists them: arcsec for s_resolution_* and
-- s_largest_angular_scale*, deg for s_fov_*, kHz for f_resolution, m for distances.
CREATE TABLE ivoa.obscore_radio (
  obs_publisher_did            text PRIMARY KEY
    REFERENCES ivoa.obscore (obs_publisher_did) ON DELETE CASCADE ON UPDATE CASCADE,
  s_resolution_min             double precision,
  s_resolution_max             double precision,
  s_fov_min                    double precision,
  s_fov_max                    double precision,
  f_resolution                 double precision,
  s_largest_angular_scale      double precision,
  s_largest_angular_scale_min  double precision,
  s_largest_angular_scale_max  double precision,
  uv_distance_min              double precision,
  uv_distance_max              double precision,
  uv_distribution_ecc          double precision,
  uv_distribution_fill         double precision,
  instr_tel_number             integer,
  instr_tel_min_dist           double precision,
  instr_tel_max_dist           double precision,
  instr_tel_diameter           double precision,
  instr_feed                   integer,
  scan_mode                    text,
  tracking_type                text
);

-- SIA's SPATRES and FOV look rows up by range (src/sia/query.ts).
CREATE INDEX obscore_radio_resolution ON ivoa.obscore_radio (s_resolution_min, s_resolution_max);

-- Rights: a radio row is readable exactly when its ObsCore row is. The policy's subquery
-- reads ivoa.obscore as the caller, so the ObsCore policy (sql/147) decides for both tables
-- and the two can never disagree (a proprietary product's radio metadata is as invisible
-- to anonymous callers as its ObsCore row). Writes only in maintenance, as on ivoa.obscore;
-- retracting a product removes its radio row through the foreign key (ON DELETE CASCADE).
ALTER TABLE ivoa.obscore_radio ENABLE ROW LEVEL SECURITY;
ALTER TABLE ivoa.obscore_radio FORCE ROW LEVEL SECURITY;
CREATE POLICY vonode_may_read ON ivoa.obscore_radio AS PERMISSIVE FOR SELECT TO vonode_reader
  USING (EXISTS (SELECT 1 FROM ivoa.obscore o WHERE o.obs_publisher_did = obscore_radio.obs_publisher_did));
DO $$
BEGIN
  EXECUTE format(
    'CREATE POLICY vonode_maintenance ON ivoa.obscore_radio AS PERMISSIVE FOR ALL TO %I USING (auth.maintenance()) WITH CHECK (auth.maintenance())',
    (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'ivoa.obscore_radio'::regclass));
END
$$;
GRANT SELECT ON ivoa.obscore_radio TO vonode_reader;

-- Demo products ingested before this table existed have no radio rows: the demo writes and
-- registers its products again at the next start (src/ingest/demo-fits.ts).
DELETE FROM vonode.demo_state WHERE item = 'products';
