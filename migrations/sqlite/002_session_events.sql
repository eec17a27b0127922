-- Durable Agent Sessions: the session event log and its projections.
-- Events are append-only; every projection is rebuilt from them by replay.
-- Shipped migrations are never edited: add a new numbered file instead.

CREATE TABLE session_events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  thread_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  -- Deterministic per emitting point of the session workflow: a replayed emit is a no-op.
  event_key  TEXT NOT NULL,
  type       TEXT NOT NULL CHECK (type IN (
               'thread_created','turn_started','message_appended','tool_called','tool_result',
               'approval_requested','approval_decided','checkpoint_created','session_finished')),
  at         INTEGER NOT NULL,
  body       BLOB NOT NULL,   -- sealed JSON of the event; its `type` tag equals the column
  UNIQUE (thread_id, event_key)
) STRICT;

CREATE INDEX session_events_thread ON session_events(thread_id, seq);

CREATE TABLE session_threads (
  thread_id          TEXT PRIMARY KEY REFERENCES executions(id) ON DELETE CASCADE,
  title              TEXT NOT NULL,
  model              TEXT NOT NULL,
  outcome            TEXT,          -- NULL while the session has not finished
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  turn_count         INTEGER NOT NULL DEFAULT 0,
  message_count      INTEGER NOT NULL DEFAULT 0,
  tool_calls         INTEGER NOT NULL DEFAULT 0,
  tokens_in          INTEGER NOT NULL DEFAULT 0,
  tokens_out         INTEGER NOT NULL DEFAULT 0,
  pending_approvals  INTEGER NOT NULL DEFAULT 0,
  last_seq           INTEGER NOT NULL
) STRICT;

CREATE TABLE session_turns (
  thread_id   TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  turn        INTEGER NOT NULL,
  started_seq INTEGER NOT NULL,
  started_at  INTEGER NOT NULL,
  tokens_in   INTEGER NOT NULL DEFAULT 0,
  tokens_out  INTEGER NOT NULL DEFAULT 0,
  tool_calls  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (thread_id, turn)
) STRICT;

CREATE TABLE session_messages (
  thread_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  turn       INTEGER NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('user','assistant','tool','approval','error','status')),
  -- Tool calls and approvals change state in place: running/done/failed, pending/approved/denied.
  state      TEXT,
  ref        TEXT,                 -- tool call id or promise id this row tracks
  seq        INTEGER NOT NULL,     -- last event that changed the row
  at         INTEGER NOT NULL,
  body       BLOB NOT NULL,        -- sealed JSON: text and details
  PRIMARY KEY (thread_id, idx)
) STRICT;

CREATE INDEX session_messages_ref ON session_messages(thread_id, ref);

CREATE TABLE session_checkpoints (
  thread_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
  idx        INTEGER NOT NULL,
  turn       INTEGER NOT NULL,
  seq        INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  label      TEXT NOT NULL,
  PRIMARY KEY (thread_id, idx)
) STRICT;
