-- Durable Agent Sessions: crash-safe counters, the journal's completeness mark, the key check.
-- Shipped migrations are never edited: add a new numbered file instead.

-- Counters kept by the database in the same statement as each inserted row, so a crash
-- can never leave them behind the journal. row_count is what completeness checks compare with.
ALTER TABLE executions ADD COLUMN row_count INTEGER NOT NULL DEFAULT 0;
-- The last completeness mark: a keyed MAC over (execution, marked_count, marked_seq, digest of
-- every row's header and authentication tag up to marked_seq), written when a run stops.
ALTER TABLE executions ADD COLUMN marked_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN marked_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN mark BLOB;

UPDATE executions SET
  row_count = (SELECT count(*) FROM journal WHERE execution_id = executions.id),
  journal_bytes = (SELECT coalesce(sum(length(body)), 0) FROM journal WHERE execution_id = executions.id),
  step_count = (SELECT coalesce(max(step_id) + 1, 0) FROM journal
                WHERE execution_id = executions.id AND attempt = executions.attempt AND step_id IS NOT NULL);

CREATE TRIGGER journal_counters AFTER INSERT ON journal BEGIN
  UPDATE executions SET
    row_count = row_count + 1,
    journal_bytes = journal_bytes + length(NEW.body),
    step_count = CASE WHEN NEW.step_id IS NOT NULL AND NEW.attempt = attempt AND NEW.step_id >= step_count
                      THEN NEW.step_id + 1 ELSE step_count END,
    updated_at = max(updated_at, NEW.created_at)
  WHERE id = NEW.execution_id;
END;

-- Completeness checks read one execution's rows in sequence order across attempts.
CREATE INDEX journal_execution_seq ON journal(execution_id, seq);

-- Facts about the file itself: the key check value (which master key seals this journal).
CREATE TABLE durable_meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;
