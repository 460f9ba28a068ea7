"""destinations

Revision ID: 0013_dest
Revises: 0012
Create Date: 2026-12-01

The CRMs an account pushes to (destinations/): each destination with its sealed
credentials, status and field-mapping overrides; the transactional outbox of marks
(a contact or order to push or erase, written with the change); what each destination
holds of each record (its id there, pushed or failed, when).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import connector.db.types

# revision identifiers, used by Alembic.
revision: str = "0013_dest"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "destinations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("credentials", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column(
            "mapping",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("optouts_checked_at", connector.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", connector.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_destinations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destinations")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_destinations_account_id"), ["account_id"], unique=False)

    op.create_table(
        "destination_marks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("destination_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("object", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("erase", sa.Boolean(), nullable=False),
        sa.Column("receipt_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", connector.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destinations.id"],
            name=op.f("fk_destination_marks_destination_id_destinations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destination_marks")),
    )
    with op.batch_alter_table("destination_marks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_destination_marks_destination_id_object_id"),
            ["destination_id", "object", "id"],
            unique=False,
        )

    op.create_table(
        "destination_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("destination_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("object", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("pushed_at", connector.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["destinations.id"],
            name=op.f("fk_destination_records_destination_id_destinations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_destination_records")),
        sa.UniqueConstraint(
            "destination_id",
            "object",
            "record_id",
            name=op.f("uq_destination_records_destination_id_object_record_id"),
        ),
    )
    with op.batch_alter_table("destination_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_destination_records_destination_id_object_state"),
            ["destination_id", "object", "state"],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("destination_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_destination_records_destination_id_object_state"))

    op.drop_table("destination_records")
    with op.batch_alter_table("destination_marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_destination_marks_destination_id_object_id"))

    op.drop_table("destination_marks")
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_destinations_account_id"))

    op.drop_table("destinations")
