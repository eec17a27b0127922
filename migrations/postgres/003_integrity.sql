-- Durable Agent Sessions on PostgreSQL: crash-safe counters, the completeness mark, the key check
-- (as migrations/sqlite/003). Shipped migrations are never edited: add a new numbered file instead.

ALTER TABLE executions ADD COLUMN row_count bigint NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN marked_count bigint NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN marked_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN mark bytea;

-- The counters follow every insert in the same statement, so a crash never leaves them behind.
-- One update per execution per statement (a transition table), not one per row: a group commit
-- of hundreds of rows touches each execution's row once.
CREATE FUNCTION journal_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE executions e SET
    row_count = e.row_count + n.added,
    journal_bytes = e.journal_bytes + n.bytes,
    step_count = greatest(e.step_count, coalesce(
      (SELECT max(r.step_id) + 1 FROM new_rows r WHERE r.execution_id = e.id AND r.attempt = e.attempt AND r.step_id IS NOT NULL), 0)),
    updated_at = greatest(e.updated_at, n.latest)
  FROM (SELECT execution_id, count(*) AS added, sum(length(body)) AS bytes, max(created_at) AS latest FROM new_rows GROUP BY execution_id) n
  WHERE e.id = n.execution_id;
  RETURN NULL;
END;
$$;

CREATE TRIGGER journal_counters AFTER INSERT ON journal REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION journal_counters();

CREATE INDEX journal_execution_seq ON journal(execution_id, seq);

CREATE TABLE durable_meta (
  name  text PRIMARY KEY,
  value bytea NOT NULL
);
