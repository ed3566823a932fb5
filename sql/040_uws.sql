-- UWS 1.1 job store shared by TAP async, SODA async and the ExecutionBroker (src/uws).
-- Every table name is written schema-qualified as `uws.` so that tests can apply the same
-- text to a private schema.
CREATE SCHEMA IF NOT EXISTS uws;

CREATE TABLE uws.jobs (
  -- 128 random bits, base64url: unguessable, and a legal URI path segment (UWS-1).
  id text PRIMARY KEY,
  kind text NOT NULL,
  owner text,
  run_id text,
  phase text NOT NULL CHECK (phase IN ('PENDING', 'QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR',
    'ABORTED', 'UNKNOWN', 'HELD', 'SUSPENDED', 'ARCHIVED')),
  -- Ordered list of {"id", "value", "byReference"?}; order is the client's.
  parameters jsonb NOT NULL DEFAULT '[]'::jsonb,
  quote timestamptz,
  execution_duration integer NOT NULL CHECK (execution_duration >= 0),
  destruction timestamptz,
  -- Milliseconds, as shown in the XML, so that AFTER=<a creationTime seen> excludes that job (UWS-33).
  creation_time timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  queued_time timestamptz,
  start_time timestamptz,
  end_time timestamptz,
  error_type text CHECK (error_type IN ('transient', 'fatal')),
  error_message text,
  error_has_detail boolean NOT NULL DEFAULT false,
  error_detail text,
  error_detail_mime text,
  -- The worker that holds the job while EXECUTING, and its last sign of life.
  claimed_by text,
  heartbeat timestamptz,
  attempts integer NOT NULL DEFAULT 0
);

-- The job list: one owner's jobs of one kind, newest first (UWS-34, UWS-36).
CREATE INDEX jobs_owner_creation_idx ON uws.jobs (kind, owner, creation_time DESC, id DESC);
-- Filtering by phase (job lists with PHASE, HELD counts per owner).
CREATE INDEX jobs_phase_idx ON uws.jobs (phase, kind);
-- The queue: workers claim the oldest QUEUED job by walking this small partial index, so
-- a claim costs the same whatever the backlog.
CREATE INDEX jobs_queue_idx ON uws.jobs (queued_time, id) WHERE phase = 'QUEUED';
-- Running jobs: per-owner concurrency counts and crash recovery scan only these.
CREATE INDEX jobs_executing_owner_idx ON uws.jobs (owner) WHERE phase = 'EXECUTING';
-- The sweeper finds jobs past their destruction instant.
CREATE INDEX jobs_destruction_idx ON uws.jobs (destruction) WHERE destruction IS NOT NULL;

CREATE TABLE uws.results (
  job_id text NOT NULL REFERENCES uws.jobs (id) ON DELETE CASCADE,
  id text NOT NULL,
  -- NULL: the result lives in the result store and is served at {job}/results/{id}.
  href text,
  mime_type text,
  size bigint,
  position integer NOT NULL,
  PRIMARY KEY (job_id, id)
);
