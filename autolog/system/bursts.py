"""When the user's saves run, so that autolog's background work stays out of their way.

A training loop that saves back to back (a checkpoint every few milliseconds, or several at the end of an
epoch) should not share the cores, the disk and Python's GIL with autolog's background threads: hashing
and copying a snapshot, or a SQL insert, during the next save slows that save. So the recorder and the
store worker hold their work while a save is running or one ended less than QUIET_S ago, and start it in
the quiet that follows. Someone waiting for that work (`flush`, `task.models`, a query, the exit) ends the
hold at once, and a burst that goes on for MAX_DEFER_S no longer holds anything back (the backlog stays
bounded). `bench --only storage` (10 MB x 20 saves back to back) measures what holding the store's inserts
too saves per save (docs/performance.md, "Design measurements").
"""

from __future__ import annotations

import threading
import time

QUIET_S = 0.05
MAX_DEFER_S = 2.0


class SaveBursts:
    """The timing of this process's captured saves, and whether someone waits for background work."""

    def __init__(self) -> None:
        self.last_started = 0.0  # monotonic time at which the latest captured save began
        self.last_ended = 0.0  # ... and at which the latest one returned
        self.last_wait = 0.0  # ... and at which someone last asked for the background work (`wake`)
        self._woken = threading.Event()  # wakes holding threads early

    def save_started(self) -> None:
        self.last_started = time.monotonic()
        self._woken.clear()

    def save_ended(self) -> None:
        self.last_ended = time.monotonic()
        self._woken.clear()

    def wake(self) -> None:
        """Someone waits for the background work (`flush`, a read, the exit): stop holding it now."""
        self.last_wait = time.monotonic()
        self._woken.set()

    def wake_for_the_user(self) -> None:
        """`wake`, when called on a thread of the user's: autolog's own threads (`autolog-*`: the recovery
        pass after `init`, the recorder's lookups) queue reads too, and those wait like the rest."""
        if not threading.current_thread().name.startswith("autolog-"):
            self.wake()

    def someone_waits(self) -> bool:
        """True when someone asked for the background work since the latest save began or ended (a
        `register_model` counts as a save that ends): then nothing holds, and hashing may take every core."""
        return self.last_wait >= max(self.last_started, self.last_ended)

    def waiter(self) -> QuietWaiter:
        """A hold for one background thread (each keeps its own count of how long it has held)."""
        return QuietWaiter(self)


class QuietWaiter:
    """Holds one background thread's next piece of work until the saves are quiet (see the module)."""

    def __init__(self, bursts: SaveBursts) -> None:
        self.bursts = bursts
        self._busy_since: float | None = None

    def wait_for_quiet(self) -> None:
        bursts = self.bursts
        while not bursts.someone_waits():
            now = time.monotonic()
            running = bursts.last_started > bursts.last_ended and now - bursts.last_started < MAX_DEFER_S
            quiet_for = now - max(bursts.last_ended, bursts.last_started)
            if not running and quiet_for >= QUIET_S:
                self._busy_since = None
                return
            if self._busy_since is None:
                self._busy_since = now
            if now - self._busy_since >= MAX_DEFER_S:
                return  # a long burst: stop holding back until the next quiet moment
            bursts._woken.wait(max(0.005, QUIET_S - quiet_for))
        self._busy_since = None
