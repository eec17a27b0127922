-- Durable Agent Sessions: initial schema.
-- Shipped migrations are never edited: add a new numbered file instead.

CREATE TABLE executions (
  id               TEXT PRIMARY KEY,
  kind             TEXT NOT NULL,
  version          INTEGER NOT NULL,
  title            TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL CHECK (status IN ('running','suspended','completed','failed','cancelled','aborted')),
  attempt          INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  finished_at      INTEGER,
  step_count       INTEGER NOT NULL DEFAULT 0,
  journal_bytes    INTEGER NOT NULL DEFAULT 0,
  status_detail    TEXT,
  lease_owner      TEXT,
  lease_expires_at INTEGER
) STRICT;

CREATE INDEX executions_status ON executions(status, updated_at);

CREATE TABLE journal (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  attempt      INTEGER NOT NULL CHECK (attempt >= 1),
  step_id      INTEGER CHECK (step_id IS NULL OR (step_id >= 0 AND step_id <= 4294967295)),
  kind         TEXT NOT NULL CHECK (kind IN (
                 'execution_started','step_result','step_failed','promise_resolved','checkpoint','execution_finished',
                 'step_intent','ambiguity_resolved','promise_created','timer_armed','timer_fired')),
  step_name    TEXT,
  effect       TEXT CHECK (effect IS NULL OR effect IN ('idempotent','at_least_once','exactly_once')),
  idem_key     BLOB CHECK (idem_key IS NULL OR length(idem_key) = 32),
  body         BLOB NOT NULL,
  mac          BLOB,
  size         INTEGER NOT NULL CHECK (size >= 0),
  created_at   INTEGER NOT NULL,
  -- Control entries carry a MAC and no sealed payload; payload entries the reverse.
  CHECK ((kind IN ('step_intent','ambiguity_resolved','promise_created','timer_armed','timer_fired')) = (mac IS NOT NULL))
) STRICT;

-- Segment reads: one execution attempt in sequence order.
CREATE INDEX journal_segment ON journal(execution_id, attempt, seq);
-- At most one committed result per step of an attempt, enforced by the database.
CREATE UNIQUE INDEX journal_one_result ON journal(execution_id, attempt, step_id) WHERE kind = 'step_result';
-- Idempotency-key point lookups (a committed effect is found even after a divergence restart).
CREATE INDEX journal_idem_key ON journal(idem_key, kind) WHERE idem_key IS NOT NULL;

-- Audit records of ambiguous windows: a projection of 'ambiguity_resolved' entries, written in the same transaction.
CREATE TABLE audit (
  seq          INTEGER PRIMARY KEY REFERENCES journal(seq) ON DELETE CASCADE,
  execution_id TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  step_id      INTEGER NOT NULL,
  step_name    TEXT,
  effect       TEXT NOT NULL,
  idem_key     BLOB NOT NULL,
  policy       TEXT NOT NULL,
  decision     TEXT NOT NULL,
  decided_by   TEXT NOT NULL,
  decided_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_execution ON audit(execution_id, step_id);

CREATE TABLE promises (
  id            TEXT PRIMARY KEY,
  execution_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  step_id       INTEGER NOT NULL,
  name          TEXT NOT NULL,
  token_hash    BLOB NOT NULL CHECK (length(token_hash) = 32),
  status        TEXT NOT NULL CHECK (status IN ('pending','resolved','rejected')),
  created_at    INTEGER NOT NULL,
  resolved_at   INTEGER,
  value         BLOB
) STRICT;
CREATE INDEX promises_execution ON promises(execution_id, status);

CREATE TABLE timers (
  id            TEXT PRIMARY KEY,
  execution_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  step_id       INTEGER NOT NULL,
  due_at        INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('armed','fired','cancelled')),
  fired_at      INTEGER
) STRICT;
CREATE INDEX timers_due ON timers(status, due_at);
