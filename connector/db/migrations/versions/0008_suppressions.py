"""suppressions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Erasure as a lasting fact: one suppression per erased person, and the keys that identify
their records (platform ids per store, keyed hashes of their e-mail and phone; never the
values), consulted by every write so no re-sync, reconcile, webhook or re-connect brings
them back.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.db.types

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "suppressions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("contact_id", BIG_ID, nullable=True),
        sa.Column("created_at", connector.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_suppressions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_suppressions_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
    )
    op.create_index(op.f("ix_suppressions_account_id"), "suppressions", ["account_id"], unique=False)
    op.create_table(
        "suppression_keys",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("suppression_id", BIG_ID, nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["suppression_id"],
            ["suppressions.id"],
            name=op.f("fk_suppression_keys_suppression_id_suppressions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression_keys")),
        sa.UniqueConstraint("scope", "kind", "value", name=op.f("uq_suppression_keys_scope_kind_value")),
    )
    op.create_index(
        op.f("ix_suppression_keys_suppression_id"), "suppression_keys", ["suppression_id"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_suppression_keys_suppression_id"), table_name="suppression_keys")
    op.drop_table("suppression_keys")
    op.drop_index(op.f("ix_suppressions_account_id"), table_name="suppressions")
    op.drop_table("suppressions")
