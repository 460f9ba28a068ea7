"""The neutral row shapes (platforms/rows.py) and the entity table (platforms/entities.py)
agree with the CRM store's columns, so the checks a mapper's rows get cannot drift from
what the database keeps; and mypy refuses a mapper's misspelled column."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from mypy import api as mypy
from sqlalchemy import JSON, BigInteger, Boolean, Integer, String

from connector.db.models import RECORDS, Base, PlatformRecord
from connector.db.types import Money, UTCDateTime
from platforms.entities import CHILDREN, ENTITIES, PARENTS
from platforms.rows import Attribution, ContactFields, CustomerRow, Kind, OrderRow, Utm
from platforms.storable import kinds_of

ROOT = Path(__file__).resolve().parents[2]
# columns the write path fills (the store, the matched contact, the bookkeeping), never a mapper
WRITE_PATH = {"id", "store_id", "contact_id", "first_seen_at", "deleted_at", "content_hash"}
# a column type's kind, most specific first (BigInteger is an Integer)
SQL_KINDS: tuple[tuple[type, str], ...] = (
    (Money, "amount"),
    (BigInteger, "id"),
    (Integer, "count"),
    (Boolean, "flag"),
    (UTCDateTime, "time"),
    (JSON, "json"),
)


def kind_of_column(column_type: Any) -> Kind:
    for type_, name in SQL_KINDS:
        if isinstance(column_type, type_):
            return Kind(name)
    assert isinstance(column_type, String), column_type
    return Kind("text", column_type.length or sys.maxsize)


def test_every_entity_has_its_table_and_every_record_table_is_an_entity() -> None:
    # given the models of synced records; then they are exactly the entities, keyed alike
    models = {m.class_ for m in Base.registry.mappers if issubclass(m.class_, PlatformRecord)}
    assert set(RECORDS.values()) == models
    for entity in ENTITIES:
        model = RECORDS[entity.name]
        assert model.upsert_key == ("store_id", *entity.key), entity.name
        named = {*entity.key, entity.cursor, *([entity.parent_key] if entity.parent_key else [])}
        assert named <= set(kinds_of(entity.row)), entity.name  # the row shape carries them
        assert entity.cursor in model.__table__.c, entity.name  # type: ignore[attr-defined]


@pytest.mark.parametrize("entity", ENTITIES, ids=lambda e: e.name)
def test_a_row_shape_names_each_column_a_mapper_fills_with_that_columns_kind(entity: Any) -> None:
    # given an entity's table and its declared row shape
    columns = {c.name: kind_of_column(c.type) for c in RECORDS[entity.name].__table__.columns}  # type: ignore[attr-defined]
    declared = kinds_of(entity.row)
    # then the shape names every column but the write path's, each with the column's kind
    assert set(declared) == set(columns) - WRITE_PATH
    assert {name: columns[name] for name in declared} == declared


def test_children_name_a_parent_by_a_column_they_have() -> None:
    for child, (parent, column) in CHILDREN.items():
        assert parent in PARENTS
        assert column in RECORDS[child].__table__.c  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("part", "row"),
    [(ContactFields, CustomerRow), (Utm, OrderRow), (Attribution, OrderRow)],
    ids=lambda shape: shape.__name__,
)
def test_a_row_part_declares_each_field_as_its_row_does(part: type, row: type) -> None:
    # given a part a mapper spreads into a row (contact fields, UTM tags, an order's attribution)
    declared = kinds_of(part)
    # then the row has each of its fields, of the same kind (the row's is what storable checks)
    assert declared == {name: kinds_of(row)[name] for name in declared}


def typecheck(tmp_path: Path, body: str) -> tuple[str, int]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from datetime import UTC, datetime\n"
        "from decimal import Decimal\n"
        "from platforms.base import Batch\n"
        "from platforms.rows import OrderRow\n"
        "now = datetime.now(UTC)\n"
        "batch = Batch()\n" + textwrap.dedent(body).lstrip("\n")
    )
    out, err, status = mypy.run(
        ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )
    return out + err, status


@pytest.mark.slow
def test_mypy_refuses_a_misspelled_column_a_wrong_type_and_a_row_of_another_table(tmp_path: Path) -> None:
    # given rows as a mapper writes them, spelled right; then mypy accepts them
    right = """
        batch.add("customers", {"platform_id": 1, "source_updated_at": now, "email": "a@b.example"})
        row: OrderRow = {"platform_id": 2, "source_updated_at": now, "total_price": Decimal("1")}
        batch.add("orders", row)
    """
    report, status = typecheck(tmp_path, right)
    assert status == 0, report
    # when a column is misspelled, a value has the wrong type, or a row goes to another table
    wrong = """
        batch.add("customers", {"platform_id": 1, "source_updated_at": now, "emial": "a@b.example"})
        row: OrderRow = {"platform_id": 2, "source_updated_at": now, "total_prize": Decimal("1")}
        late: OrderRow = {"platform_id": 3, "source_updated_at": now, "total_price": "1.00"}
        batch.add("refunds", row)
    """
    report, status = typecheck(tmp_path, wrong)
    # then each is an error
    assert status == 1
    assert 'snippet.py:7: error: No overload variant of "add"' in report
    assert 'snippet.py:8: error: Extra key "total_prize" for TypedDict "OrderRow"' in report
    assert "snippet.py:9: error: Incompatible types (expression has type" in report
    assert 'snippet.py:10: error: No overload variant of "add"' in report
