"""The store's typed operations (`autolog.store.ops`) match what the worker runs (`SqlStore`'s methods)."""

from __future__ import annotations

import inspect
from typing import get_args

import pytest

from autolog.store.client import Store
from autolog.store.ops import Operation, StoreOperations


def test_every_operation_is_a_sqlstore_method() -> None:
    from autolog.store.sql import WRITES, SqlStore

    names = set(get_args(Operation))
    assert {name for name in names if not callable(getattr(SqlStore, name, None))} == set()
    assert WRITES <= names  # every write the worker parks and journals is a typed operation


@pytest.mark.parametrize("name", [n for n in get_args(Operation) if n not in ("put_fingerprint", "heartbeat")])
def test_each_typed_method_takes_the_sqlstore_parameters(name: str) -> None:
    from autolog.store.sql import SqlStore

    ours = [p for p in inspect.signature(getattr(StoreOperations, name)).parameters if p != "self"]
    theirs = [p for p in inspect.signature(getattr(SqlStore, name)).parameters if p != "self"]
    assert ours == theirs[: len(ours)], (name, ours, theirs)  # same names, same order (trailing defaults may go)


def test_the_string_dispatch_is_gone() -> None:
    assert not hasattr(Store, "call") and not hasattr(Store, "write")


def test_typed_reads_and_writes_round_trip(home) -> None:
    import autolog
    from autolog.lifecycle import get_session

    task = autolog.init("ops", "typed")
    store = get_session().store
    assert store.ping()
    assert store.get("tasks", task.id)["name"] == "typed"
    assert store.update("tasks", task.id, {"git_dirty": True}) == 1
    store.queue_update("tasks", task.id, {"git_dirty": False}).result(10)
    assert [r["id"] for r in store.select("tasks", {"project": "ops"})] == [task.id]
    assert [r["id"] for r in store.query_tasks("ops", "typed", None, None)] == [task.id]
    assert store.get("tasks", task.id)["git_dirty"] is False
    task.close()
