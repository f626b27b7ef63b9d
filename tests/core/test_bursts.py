"""Background work holds while the user's saves arrive back to back (`autolog.system.bursts`): the store's
fire-and-forget writes wait for the quiet after a burst, a read ends the hold at once, and a burst that
never ends holds nothing back after MAX_DEFER_S. The store is read over a connection of the test's own
(SQLite or PostgreSQL), so checking never ends a hold the way a read through autolog would."""

from __future__ import annotations

import time

import pytest

import autolog
from autolog.system import bursts as bursts_module


def _fingerprint(path: str) -> dict:
    return {"path": path, "size": 1, "mtime_ns": 1, "inode": 1, "hash": "ab" * 32, "updated": time.time()}


def _stored(session, path: str) -> bool:
    from autolog.store.sql import SqlStore

    direct = SqlStore(session.settings.tracking_uri)
    try:
        return direct.get_fingerprint(path) is not None
    finally:
        direct.close()


def _landed_within(session, path: str, seconds: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if _stored(session, path):
            return time.monotonic() - start
        time.sleep(0.01)
    return None


@pytest.fixture
def session():
    task = autolog.init("bursts", "t")
    task.session.store.barrier()
    return task.session


def test_a_write_waits_for_the_quiet_after_a_burst_of_saves(session) -> None:
    session.bursts.save_started()  # a save is running
    session.store.queue_fingerprint(_fingerprint("/a"))
    time.sleep(0.3)
    assert not _stored(session, "/a")  # held while the save runs
    session.bursts.save_ended()
    waited = _landed_within(session, "/a", 5)
    assert waited is not None and waited >= bursts_module.QUIET_S * 0.8


def test_a_read_ends_the_hold_at_once(session) -> None:
    session.bursts.save_started()
    session.store.queue_fingerprint(_fingerprint("/b"))
    start = time.monotonic()
    assert session.store.get_fingerprint("/b")["path"] == "/b"  # FIFO: the read sees the held write
    assert time.monotonic() - start < 1.0


def test_a_burst_that_never_ends_holds_writes_back_only_so_long(session, monkeypatch) -> None:
    monkeypatch.setattr(bursts_module, "MAX_DEFER_S", 0.3)
    session.bursts.save_started()
    for _ in range(10):  # saves keep arriving
        session.bursts.save_ended()
        session.bursts.save_started()
    session.store.queue_fingerprint(_fingerprint("/c"))
    deadline = time.monotonic() + 5
    while not _stored(session, "/c") and time.monotonic() < deadline:
        session.bursts.save_ended()
        session.bursts.save_started()
        time.sleep(0.01)
    assert _stored(session, "/c")


def test_a_flush_ends_the_hold(session) -> None:
    session.bursts.save_started()
    session.store.queue_fingerprint(_fingerprint("/d"))
    start = time.monotonic()
    assert session.flush(timeout=10)
    assert _stored(session, "/d") and time.monotonic() - start < 1.0


def test_a_write_the_user_waits_for_is_not_held(session) -> None:
    """A write whose answer the caller needs (here an update from the user's thread) ends the hold: it runs,
    after the held fire-and-forget writes before it, without waiting for the saves to stop."""
    task = autolog.current_task()
    session.bursts.save_started()
    session.store.queue_fingerprint(_fingerprint("/e"))
    start = time.monotonic()
    assert session.store.update("tasks", task.id, {"heartbeat": time.time()}) == 1
    assert time.monotonic() - start < 1.0 and _stored(session, "/e")


def test_autolog_threads_reading_do_not_end_the_hold(session) -> None:
    """autolog's own threads (the recovery pass after `init`, the recorder's lookups) read through the same
    queue; their reads wait behind the held writes instead of ending the hold for everyone."""
    import threading

    session.bursts.save_started()
    session.store.queue_fingerprint(_fingerprint("/f"))
    answers: list = []
    reader = threading.Thread(
        target=lambda: answers.append(session.store.get_fingerprint("/f")), name="autolog-test-reader"
    )
    reader.start()
    reader.join(0.3)
    assert reader.is_alive() and not answers and not _stored(session, "/f")  # still held
    session.bursts.save_ended()
    reader.join(5)
    assert answers and answers[0]["path"] == "/f"
