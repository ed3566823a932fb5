-- UWS resilience (issue 13): fenced runs, a record of every run, and per-client caps.
-- Written schema-qualified as `uws.` like 040_uws.sql, so tests can apply it to a private schema.

-- A fencing token: every claim of a job takes the next lease, and only the holder of the
-- current lease may list results or end the run. A worker taken for dead (its heartbeats
-- late) can then never overwrite the run that replaced it, even in the same process.
ALTER TABLE uws.jobs ADD COLUMN lease bigint NOT NULL DEFAULT 0;

-- The address a job was created from: anonymous callers are capped per address.
ALTER TABLE uws.jobs ADD COLUMN client_address text;

-- Counting a caller's unfinished jobs, by owner or, for anonymous jobs, by address.
CREATE INDEX jobs_unfinished_owner_idx ON uws.jobs (kind, owner)
  WHERE phase IN ('PENDING', 'QUEUED', 'HELD', 'EXECUTING', 'SUSPENDED');
CREATE INDEX jobs_unfinished_address_idx ON uws.jobs (kind, client_address)
  WHERE owner IS NULL AND phase IN ('PENDING', 'QUEUED', 'HELD', 'EXECUTING', 'SUSPENDED');

-- One row per run of a job (per lease): when it started and how it ended. A run cut short by
-- a dead process ends LOST when its job is recovered; shutdown hands jobs back as RELEASED.
-- Operators (and the crash tests) read from here how often each job really ran.
CREATE TABLE uws.runs (
  job_id text NOT NULL REFERENCES uws.jobs (id) ON DELETE CASCADE,
  lease bigint NOT NULL,
  worker text NOT NULL,
  start_time timestamptz NOT NULL DEFAULT clock_timestamp(),
  end_time timestamptz,
  outcome text CHECK (outcome IN ('COMPLETED', 'ERROR', 'ABORTED', 'RELEASED', 'LOST', 'GONE')),
  PRIMARY KEY (job_id, lease)
);
