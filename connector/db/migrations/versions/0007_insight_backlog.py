"""insight backlog

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Contacts whose insights a sync step owes: noted in each chunk's transaction, refreshed
once when the step ends, or by cron if the step died first.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.db.types

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "insight_backlog",
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("queued_at", connector.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_insight_backlog_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", name=op.f("pk_insight_backlog")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("insight_backlog")
