-- IVOA ExecutionBroker (src/broker): offer sets and execution sessions. Each offer *is* a
-- session in phase OFFERED (EB-05); accepting it keeps its UUID. Everything the driver
-- needs to resume after a restart is here (EB-77): phase, the resolved command, the
-- backend's handle on the work, and the work folder.
CREATE SCHEMA IF NOT EXISTS broker;

CREATE TABLE broker.offersets (
  uuid uuid PRIMARY KEY,
  owner text NOT NULL,
  name text,
  created timestamptz NOT NULL DEFAULT now(),
  result text NOT NULL CHECK (result IN ('YES', 'NO')),
  messages jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- Offers from peer brokers (EB-08), as their documents, labelled with their site.
  remote_offers jsonb NOT NULL DEFAULT '[]'::jsonb
);

CREATE TABLE broker.sessions (
  uuid uuid PRIMARY KEY,
  offerset uuid REFERENCES broker.offersets (uuid) ON DELETE CASCADE,
  -- Position of the offer in its offer set (the broker's order of preference).
  rank integer NOT NULL DEFAULT 0,
  owner text NOT NULL,
  owner_groups text[] NOT NULL DEFAULT '{}',
  site text NOT NULL,
  phase text NOT NULL CHECK (phase IN ('OFFERED', 'ACCEPTED', 'REJECTED', 'EXPIRED', 'WAITING',
    'PREPARING', 'AVAILABLE', 'RUNNING', 'RELEASING', 'COMPLETED', 'FAILED', 'CANCELLED')),
  created timestamptz NOT NULL DEFAULT now(),
  updated timestamptz NOT NULL DEFAULT now(),
  expires timestamptz,
  request jsonb NOT NULL,
  allocation jsonb NOT NULL,
  data jsonb NOT NULL DEFAULT '[]'::jsonb,
  cores integer NOT NULL,
  backend text NOT NULL,
  backend_ref text,
  work_dir text NOT NULL,
  started timestamptz,
  finished timestamptz,
  exit_code integer,
  -- Set by a client's cancel; the driver that owns the work acts on it.
  cancel_requested boolean NOT NULL DEFAULT false,
  messages jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- SRCNet compute API facade: submitted job parameters (EB-103).
  srcnet jsonb
);

CREATE INDEX sessions_owner_idx ON broker.sessions (owner, created DESC);
CREATE INDEX sessions_offerset_idx ON broker.sessions (offerset);
-- The driver walks only sessions that are not final.
CREATE INDEX sessions_live_idx ON broker.sessions (phase)
  WHERE phase IN ('OFFERED', 'ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING', 'RELEASING');
-- Cancelled work whose backend has not confirmed the kill yet.
CREATE INDEX sessions_cancel_idx ON broker.sessions (backend) WHERE cancel_requested AND backend_ref IS NOT NULL;
