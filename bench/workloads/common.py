"""What every workload process shares: its options, a fresh autolog home, and the on/off switch.

"Off" is `autolog.uninstrument()`: the framework's original functions are put back exactly (checked),
so an off round runs the same code as a program that never imported autolog. "On" is
`autolog.instrument()` with a current task whose `output_uri` is a local folder. Switching happens
between rounds, never inside a timed region. Each workload runs in its own process (see `bench.run`),
so background threads, memory and the page cache state of one never leak into the next.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Context:
    workdir: Path
    quick: bool
    big: bool  # run the 1 GB cases

    def fresh(self, name: str) -> Path:
        path = self.workdir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


def parse(argv: list[str] | None = None) -> tuple[Context, Path]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--big", action="store_true")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    return Context(args.workdir, args.quick, args.big), args.out


def write_rows(out: Path, rows: list[dict[str, Any]], skipped: list[str] | None = None) -> None:
    out.write_text(json.dumps({"rows": rows, "skipped": skipped or []}, indent=1))


class Switch:
    """One autolog task for the whole workload; rounds turn its patches on and off."""

    def __init__(self, ctx: Context, project: str, output_uri: str | None) -> None:
        os.environ["AUTOLOG_HOME"] = str(ctx.fresh("autolog-home"))
        os.environ.pop("AUTOLOG_DISABLE", None)
        os.environ.pop("AUTOLOG_STRICT", None)
        import autolog

        self.autolog = autolog
        self.output_uri = output_uri
        self.task = autolog.init(project, "bench", output_uri=output_uri)
        self.task.flush()

    def on(self) -> None:
        self.autolog.instrument()

    def off(self, *bare: Callable[[], Any]) -> None:
        """Remove the patches; each `bare()` returns a function that must now be the original again."""
        self.autolog.uninstrument()
        for get in bare:
            fn = get()
            if type(fn).__module__.startswith("wrapt") or "Wrapper" in type(fn).__name__:
                raise RuntimeError(f"uninstrument() left {fn!r} wrapped: the 'off' rounds would not be bare")

    def new_task(self, name: str) -> None:
        """Close the current task and start another (a consumer of the first one's snapshots)."""
        self.task = self.autolog.init(self.task.project, name, output_uri=self.output_uri)
        self.task.flush()

    def clear_uploads(self) -> None:
        """Delete uploaded copies (after a flush) so the disk does not fill over the repetitions."""
        if self.output_uri and os.path.isdir(self.output_uri):
            for child in Path(self.output_uri).iterdir():
                shutil.rmtree(child, ignore_errors=True)


class InlineTimer:
    """Times autolog's own work on the caller's thread, free of the machine's noise.

    The wrappers call `autolog.capture.recording.<function>` through the module attribute at every call, so
    wrapping those functions here (the bench's instrumentation, not a change to autolog) measures exactly
    the work a save or load does before and after the framework's call: path resolution, protecting a
    staged inode, the stat, the hard link into staging and the queueing of the background job.
    `take()` returns the time accumulated since the last `take()`.
    """

    FUNCTIONS = ("resolve_target", "protect_previous", "record_save", "record_load")

    def __init__(self) -> None:
        from autolog.capture import recording

        self._spent = 0.0
        for name in self.FUNCTIONS:
            self.include(recording, name)

    def include(self, module: Any, name: str) -> None:
        """Time `module.name` too (a hook's own helper that its wrappers look up at each call)."""
        original = getattr(module, name)

        def timed(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                self._spent += time.perf_counter() - start

        setattr(module, name, timed)

    def take(self) -> float:
        spent, self._spent = self._spent, 0.0
        return spent
