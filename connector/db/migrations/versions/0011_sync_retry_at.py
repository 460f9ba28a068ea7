"""sync retry time

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

When a sync step could not reach its store, the state keeps when the scheduler tries
again (backing off) and how many tries in a row failed, shown by `stores list` and the
dashboard.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.db.types

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("retry_at", connector.db.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retries", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("retries")
        batch.drop_column("retry_at")
