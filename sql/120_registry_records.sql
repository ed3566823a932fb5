-- The catalogue records the publishing registry has served (src/oai/ledger.ts). OAI-PMH
-- harvesters learn that a record is gone only from a deleted header (REG-32), so a record
-- whose catalogue was unpublished is kept here with the time it went (Identify says
-- deletedRecord persistent); publishing the catalogue again brings it back.
CREATE TABLE IF NOT EXISTS vonode.registry_records (
  identifier text PRIMARY KEY,
  -- The published table the record describes ('schema.table' as in vonode.published_tables).
  table_name text NOT NULL,
  deleted_at timestamptz
);
