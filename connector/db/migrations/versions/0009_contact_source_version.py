"""contact source version

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

The version (source_updated_at) of the record a contact's fields were last taken from:
a contact field changes only from a record at least that new, as records' own rows do.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.db.types

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(
            sa.Column("source_updated_at", connector.db.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("source_updated_at")
