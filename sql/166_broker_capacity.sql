-- ExecutionBroker capacity, fair driving and retention (issue 21 items 2 and 6).
--
-- checked: when a driver last looked at the session's work. The driver polls the sessions
-- checked longest ago first, so every live session is looked at in turn however many there
-- are (before, it took the 200 oldest by `updated`, which polling never changed: newer
-- sessions waited behind them).
ALTER TABLE broker.sessions ADD COLUMN IF NOT EXISTS checked timestamptz;

-- The ledger of what is granted on a backend (capacity.ts) reads the sessions that hold or
-- reserve resources: live ones and unexpired offers.
CREATE INDEX IF NOT EXISTS sessions_ledger_idx ON broker.sessions (backend, site)
  WHERE phase IN ('OFFERED', 'ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING', 'RELEASING');

-- Retention (retention.ts) removes finished sessions after VONODE_BROKER_RETENTION_SECONDS.
CREATE INDEX IF NOT EXISTS sessions_finished_idx ON broker.sessions (updated)
  WHERE phase IN ('REJECTED', 'EXPIRED', 'COMPLETED', 'FAILED', 'CANCELLED');
CREATE INDEX IF NOT EXISTS offersets_created_idx ON broker.offersets (created);
