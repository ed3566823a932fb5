-- Rucio-managed products (src/rucio, docs/rucio.md): which ivoa.obscore rows are DIDs of
-- Rucio, by scope and name, so DataLink answers ID=scope:name as SRCNet's DataLink does and
-- resolves their replicas through the Data Management API, and so a sync finds the DIDs that
-- left Rucio. The row goes with its product (ON DELETE CASCADE: vonode retract removes both).
-- No rights of its own: every reader first finds the product through ivoa.obscore's
-- row-level security (src/datalink/product.ts), and an ID the caller may not see answers as
-- one that names nothing.
CREATE SCHEMA IF NOT EXISTS rucio;

CREATE TABLE IF NOT EXISTS rucio.products (
  obs_publisher_did text PRIMARY KEY REFERENCES ivoa.obscore (obs_publisher_did) ON DELETE CASCADE,
  scope             text NOT NULL,
  name              text NOT NULL,
  -- SHA-256 of the metadata last written: an unchanged DID is not rewritten by the next sync.
  metadata_sha256   text NOT NULL,
  synced_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (scope, name)
);

GRANT USAGE ON SCHEMA rucio TO vonode_reader;
GRANT SELECT ON rucio.products TO vonode_reader;
