-- Durable Agent Sessions: what the model calls of a session cost, counted once.
-- Shipped migrations are never edited: add a new numbered file instead.

-- In millionths of the currency the price table is in (integers: no rounding drift).
-- Each model call's cost is journaled with its reply; a replayed call adds nothing.
ALTER TABLE session_threads ADD COLUMN cost_micros INTEGER NOT NULL DEFAULT 0;
-- Calls of a model the price table does not name: their cost is unknown, not zero.
ALTER TABLE session_threads ADD COLUMN unpriced_calls INTEGER NOT NULL DEFAULT 0;
-- Calls made again after an interruption (each with its audit record): the first try
-- may have been charged by the provider too; this is what the second one cost.
ALTER TABLE session_threads ADD COLUMN rerun_calls INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_threads ADD COLUMN rerun_cost_micros INTEGER NOT NULL DEFAULT 0;
ALTER TABLE session_turns ADD COLUMN cost_micros INTEGER NOT NULL DEFAULT 0;
