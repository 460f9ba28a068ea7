"""dashboard session generation

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

A per-user session generation, moved on at sign-out: a session cookie carries the
generation it was issued under, so one captured before a sign-out no longer works.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("dashboard_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("dashboard_users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
