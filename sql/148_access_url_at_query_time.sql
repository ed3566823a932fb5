-- access_url is no longer frozen at ingest (issue 17): a product's row keeps the address of its
-- DataLink document relative to the node ('datalink/links?ID=...'), and the node's base URL
-- (VONODE_BASE_URL, which every node connection carries as the setting vonode.base_url, see
-- src/db/index.ts) is put in front when the row is read. A node moved to another host or port
-- serves right links with no re-ingest. Absolute URLs (a product whose access is elsewhere)
-- are served as they are.

-- The base URL of the reading connection before a relative reference; absolute ones, and
-- everything read by a connection that has no base URL (a maintenance script), unchanged.
CREATE OR REPLACE FUNCTION ivoa.node_url(ref text) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT CASE
      WHEN ref IS NULL OR ref ~ '^[A-Za-z][A-Za-z0-9+.-]*:' THEN ref
      ELSE coalesce(rtrim(nullif(current_setting('vonode.base_url', true), ''), '/') || '/' || ref, ref)
    END
  $$;
GRANT EXECUTE ON FUNCTION ivoa.node_url(text) TO vonode_reader;

-- What TAP and SIA read: ivoa.obscore with access_url made absolute. security_invoker, so the
-- table's row-level security applies to the caller exactly as on the table itself; the view
-- is inlined by the planner, so the table's indexes serve it.
CREATE OR REPLACE VIEW ivoa.obscore_published WITH (security_invoker = true) AS
SELECT o.dataproduct_type,
       o.dataproduct_subtype,
       o.calib_level,
       o.obs_collection,
       o.obs_id,
       o.obs_title,
       o.obs_publisher_did,
       o.obs_creator_did,
       o.obs_creation_date,
       ivoa.node_url(o.access_url) AS access_url,
       o.access_format,
       o.access_estsize,
       o.target_name,
       o.s_ra,
       o.s_dec,
       o.s_fov,
       o.s_region,
       o.s_resolution,
       o.s_xel1,
       o.s_xel2,
       o.s_pixel_scale,
       o.t_min,
       o.t_max,
       o.t_exptime,
       o.t_resolution,
       o.t_xel,
       o.em_min,
       o.em_max,
       o.em_res_power,
       o.em_xel,
       o.em_ucd,
       o.em_unit,
       o.o_ucd,
       o.o_unit,
       o.pol_states,
       o.pol_xel,
       o.facility_name,
       o.instrument_name,
       o.proposal_id,
       o.data_rights,
       o.obs_release_date,
       o.owner_group,
       o.file_path,
       o.file_size,
       o.file_sha256,
       o.healpix
  FROM ivoa.obscore o;
GRANT SELECT ON ivoa.obscore_published TO vonode_reader;

-- Existing rows: the node's own DataLink URLs become relative (whatever host or port they
-- were frozen with). Written as maintenance, the only way past the table's forced RLS.
SELECT set_config('vonode.maintenance', 'on', true);
UPDATE ivoa.obscore
   SET access_url = substring(access_url from '(datalink/links\?ID=.*)$')
 WHERE access_url ~ '^[A-Za-z][A-Za-z0-9+.-]*://[^?#]*/datalink/links\?ID=';
