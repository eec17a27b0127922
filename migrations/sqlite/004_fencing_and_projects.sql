-- Durable Agent Sessions: fencing epochs for leases, and the project an execution belongs to.
-- Shipped migrations are never edited: add a new numbered file instead.

-- Grows by one each time the lease passes to a different owner. Every write of a run carries
-- the epoch it was granted; the store refuses it once the epoch moved on (a fenced-out owner).
ALTER TABLE executions ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
-- Which project (workspace) an execution belongs to: one shared database serves many.
-- A per-workspace durable.db holds one project, '' unless configured.
ALTER TABLE executions ADD COLUMN project TEXT NOT NULL DEFAULT '';
CREATE INDEX executions_project ON executions(project, status, updated_at);
