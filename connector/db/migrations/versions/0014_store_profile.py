"""store profile

Revision ID: 0014
Revises: 0013_dest
Create Date: 2026-12-02

What a store says of itself, read when it is added or checked: its name (the e-mails name
the store by it), its locale (prices in the e-mails) and its IANA time zone (its times on
the dashboard). Each empty until read; the domain, en_US and CONNECTOR_TIME_ZONE stand in.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013_dest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.add_column(sa.Column("name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("locale", sa.String(35), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stores") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("locale")
        batch.drop_column("name")
