-- Durable Agent Sessions on PostgreSQL: what the model calls of a session cost, counted once
-- (as migrations/sqlite/005). Shipped migrations are never edited.

-- Millionths of the price table's currency; unpriced calls are counted apart (cost unknown);
-- reruns after an interruption are counted with what they cost.
ALTER TABLE session_threads
  ADD COLUMN cost_micros bigint NOT NULL DEFAULT 0,
  ADD COLUMN unpriced_calls bigint NOT NULL DEFAULT 0,
  ADD COLUMN rerun_calls bigint NOT NULL DEFAULT 0,
  ADD COLUMN rerun_cost_micros bigint NOT NULL DEFAULT 0;
ALTER TABLE session_turns ADD COLUMN cost_micros bigint NOT NULL DEFAULT 0;
