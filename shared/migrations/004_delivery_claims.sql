-- Email and webhook sends are claimed before they are made (services/messenger/sending.py):
-- a pending row whose claim is still running belongs to the sender that claimed it, so the
-- sweeper never sends it a second time while a slow receiver is still answering the first.
ALTER TABLE deliveries ADD COLUMN claimed_until timestamptz;

-- Pending sends are found per workspace, oldest first.
DROP INDEX deliveries_pending;
CREATE INDEX deliveries_pending ON deliveries (workspace_id, created_at) WHERE status = 'pending';

-- An undo (or a later decision) may cancel a send that was not made yet.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'suppressed', 'cancelled'));
