"""`Worker.stop()` stops: the job running finishes, queued jobs never start, later ones are refused, and a
retry's backoff (`sleep`) ends at once. Exit relies on it: once it stops waiting, no autolog thread starts new
I/O during interpreter shutdown (the rows stay pending for `autolog sync`)."""

from __future__ import annotations

import threading
import time

from autolog.system.worker import Worker


def test_stop_drops_queued_jobs_instead_of_running_them() -> None:
    worker = Worker("test")
    started, release, ran = threading.Event(), threading.Event(), []

    def first() -> None:
        started.set()
        release.wait(10)
        ran.append("first")

    worker.submit(first)
    for n in range(3):
        worker.submit(ran.append, n)
    assert started.wait(10)
    worker.stop()
    worker.submit(ran.append, "after stop")
    release.set()
    assert worker.wait(10)
    worker._thread.join(10)
    assert ran == ["first"] and worker.pending == 0 and not worker._thread.is_alive()


def test_a_backoff_ends_when_the_worker_stops() -> None:
    worker = Worker("test")
    threading.Timer(0.2, worker.stop).start()
    began = time.monotonic()
    assert worker.sleep(30) is True
    assert time.monotonic() - began < 5
    assert Worker("other").sleep(0.01) is False
