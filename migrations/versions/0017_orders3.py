"""The job queue's change notification says "new work" only: a finished job wakes no worker.

pgqueuer's trigger (0006, as `pgq sql install` prints it for 1.6.0) is statement-level, so its
`OLD IS DISTINCT FROM NEW` test never holds and UPDATEs (picks, heartbeats, retries) already send
nothing: workers find a retried or deferred job by its `execute_after` (pgqueuer's own eta probe).
INSERT and DELETE sent one each. The DELETE is pgqueuer logging a finished job: it woke every
worker for one dequeue and three queue probes that could find nothing new (no entrypoint here has
a concurrency limit, and a worker waiting on its own capacity already re-polls while eligible work
is queued). Two wake-ups per job became one: about six statements fewer per order (two e-mails).
INSERT and TRUNCATE still notify, with the same payload.

Revision ID: 0017_orders3
Revises: 0016_dayflow
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017_orders3"
down_revision: str | None = "0016_dayflow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION fn_pgqueuer_changed() RETURNS TRIGGER AS $$
DECLARE
    to_emit BOOLEAN := false;  -- Flag to decide whether to emit a notification
BEGIN
    -- Check operation type and set the emit flag accordingly
    IF TG_OP = 'UPDATE' AND OLD IS DISTINCT FROM NEW THEN
        to_emit := true;
    ELSIF TG_OP = 'DELETE' THEN
        to_emit := {delete};
    ELSIF TG_OP = 'INSERT' THEN
        to_emit := true;
    ELSIF TG_OP = 'TRUNCATE' THEN
        to_emit := true;
    END IF;

    -- Perform notification if the emit flag is set
    IF to_emit THEN
        PERFORM pg_notify(
            'ch_pgqueuer',
            json_build_object(
                'channel', 'ch_pgqueuer',
                'operation', lower(TG_OP),
                'sent_at', NOW(),
                'table', TG_TABLE_NAME,
                'type', 'table_changed_event'
            )::text
        );
    END IF;

    -- Return appropriate value based on the operation
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        RETURN OLD;
    ELSE
        RETURN NULL; -- For TRUNCATE and other non-row-specific contexts
    END IF;

END;
$$ LANGUAGE plpgsql;
"""


def upgrade() -> None:
    op.execute(_FUNCTION.replace("{delete}", "false"))


def downgrade() -> None:
    op.execute(_FUNCTION.replace("{delete}", "true"))  # 0006's, as pgqueuer installs it
