-- Durable Agent Sessions on PostgreSQL: crash-safe counters, the completeness mark, the key check
-- (as migrations/sqlite/003). Shipped migrations are never edited: add a new numbered file instead.

ALTER TABLE executions ADD COLUMN row_count bigint NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN marked_count bigint NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN marked_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN mark bytea;

-- The counters follow every inserted row in the same statement, so a crash never leaves them behind.
CREATE FUNCTION journal_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE executions SET
    row_count = row_count + 1,
    journal_bytes = journal_bytes + length(NEW.body),
    step_count = CASE WHEN NEW.step_id IS NOT NULL AND NEW.attempt = attempt AND NEW.step_id >= step_count
                      THEN NEW.step_id + 1 ELSE step_count END,
    updated_at = greatest(updated_at, NEW.created_at)
  WHERE id = NEW.execution_id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER journal_counters AFTER INSERT ON journal FOR EACH ROW EXECUTE FUNCTION journal_counters();

CREATE INDEX journal_execution_seq ON journal(execution_id, seq);

CREATE TABLE durable_meta (
  name  text PRIMARY KEY,
  value bytea NOT NULL
);
