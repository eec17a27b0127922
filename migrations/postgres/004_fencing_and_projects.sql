-- Durable Agent Sessions on PostgreSQL: fencing epochs for leases, and the project an execution
-- belongs to (as migrations/sqlite/004). Shipped migrations are never edited.

-- Grows by one each time the lease passes to a different owner; every write of a run is
-- checked against the epoch it was granted, in the writing transaction.
ALTER TABLE executions ADD COLUMN lease_epoch bigint NOT NULL DEFAULT 0;
-- One database serves many workspaces: each window sees its own project's executions.
ALTER TABLE executions ADD COLUMN project text NOT NULL DEFAULT '';
CREATE INDEX executions_project ON executions(project, status, updated_at);
