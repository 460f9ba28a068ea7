"""ids never reused

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

Some ids are known outside the database: a store's (Redis jobs and keys, erasure
suppressions), a subscription's (signed unsubscribe links), an outbox message's (its file
in the instance folder), a dead letter's (retry links and commands). SQLite gave a removed
newest row's id to the next row. On SQLite these tables are rebuilt with AUTOINCREMENT
(their rows, indexes and every foreign key to them kept: env.py turns foreign keys off for
the rebuild and checks them before commit). PostgreSQL's sequences never hand out a number
twice already.

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("stores", "product_subscriptions", "notification_outbox", "dead_letters")


def upgrade() -> None:
    """Upgrade schema."""
    _rebuild(autoincrement=True)


def downgrade() -> None:
    """Downgrade schema."""
    _rebuild(autoincrement=False)


def _rebuild(*, autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
