"""The typed rows of `autolog.store.rows` match the tables of `autolog.store.schema`, column for column."""

from __future__ import annotations

import typing

import pytest

pytest.importorskip("sqlalchemy")


def test_each_row_type_has_exactly_its_tables_columns() -> None:
    from autolog.store import rows, schema

    for table, row_type in rows.ROW_TYPES.items():
        columns = {column.name for column in schema.metadata.tables[table].columns}
        assert set(typing.get_type_hints(row_type)) == columns, table


def test_input_rows_and_table_names_match_the_schema() -> None:
    from autolog.store import rows, schema

    for table, key in (("model_inputs", "model_id"), ("artifact_inputs", "artifact_id")):
        columns = {column.name for column in schema.metadata.tables[table].columns}
        assert set(typing.get_type_hints(rows.InputRow)) | {key} == columns
    assert set(rows.ROW_TYPES) | {"model_inputs", "artifact_inputs"} == set(typing.get_args(rows.TableName))
    assert set(typing.get_args(rows.TableName)) <= set(schema.metadata.tables)


def test_writes_are_operations_the_sql_store_has() -> None:
    from autolog.store import ops, rows, sql

    assert rows.WRITES <= set(typing.get_args(ops.Operation))
    assert all(callable(getattr(sql.SqlStore, name)) for name in rows.WRITES)
