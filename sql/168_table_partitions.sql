-- How big published tables are laid out (src/shards, docs/scaling.md): one row per
-- partition of a published version, on the coordinator itself (shard NULL) or on a shard
-- server through postgres_fdw. `vonode shards` reads it; queries never do (the planner
-- prunes by the partitions' own bounds). Rows of replaced versions go with them
-- (src/shards keeps only versions vonode.published_tables still names when it lists).
CREATE TABLE IF NOT EXISTS vonode.table_partitions (
  table_name    text    NOT NULL,
  version       integer NOT NULL,
  part          integer NOT NULL,
  healpix_order integer NOT NULL,
  first_cell    bigint  NOT NULL,
  last_cell     bigint  NOT NULL,
  -- Order-29 bounds [lo, hi); NULL = unbounded (MINVALUE, MAXVALUE).
  lo            bigint,
  hi            bigint,
  nrows         bigint  NOT NULL,
  margin_rows   bigint  NOT NULL DEFAULT 0,
  shard         integer,
  -- The shard's URL without its password.
  shard_url     text,
  PRIMARY KEY (table_name, version, part)
);
