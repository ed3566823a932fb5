-- Data brought to the job (issue 21, item 3): products named by DataLink ID, ObsCore DID or
-- URL that are not on this node are copied into the session's scratch while it is PREPARING.

-- One row per session whose data is staged. `bearer` is the caller's own
-- Authorization header, kept only between the accept and the end of staging, and only to be
-- sent to origins the site trusts (its peers and VONODE_BROKER_STAGING_TRUSTED); it is set to
-- NULL as soon as staging ends, and never written into a document.
CREATE TABLE broker.staging (
  session uuid PRIMARY KEY REFERENCES broker.sessions (uuid) ON DELETE CASCADE,
  state text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'running', 'done', 'claimed', 'failed')),
  bearer text,
  -- The copy that is current: only it may write progress (a stalled one is taken over).
  attempt uuid,
  updated timestamptz NOT NULL DEFAULT now()
);

-- Transfer rates observed per origin (scheme://host:port), so offers estimate how long
-- staging will take from what the last transfers achieved (EB-45, EB-92).
CREATE TABLE broker.staging_rates (
  origin text PRIMARY KEY,
  bytes_per_second double precision NOT NULL CHECK (bytes_per_second > 0),
  samples integer NOT NULL DEFAULT 1,
  updated timestamptz NOT NULL DEFAULT now()
);
