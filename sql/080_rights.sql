-- Data rights of the published tables, enforced by PostgreSQL for every query path
-- (DESIGN.md "Access control in the database"): proprietary rows are readable by
-- vonode_reader only for members of their owner group until their release date.
SELECT auth.protect_table('demo.sources'::regclass, 'owner_group', 'release_date');
SELECT auth.protect_table('ivoa.obscore'::regclass, 'owner_group', 'obs_release_date', 'obs_collection');

-- Metadata tables and the SQL helper functions of the ADQL translation are public.
GRANT USAGE ON SCHEMA tap_schema TO vonode_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA tap_schema TO vonode_reader;
GRANT USAGE ON SCHEMA sky TO vonode_reader;
GRANT USAGE ON SCHEMA adql TO vonode_reader;
