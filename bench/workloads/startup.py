"""Workload 1: start-up cost, in fresh interpreters (one per measurement).

Each child runs `python -c CODE` from an empty folder (so the installed wheel is imported) and is timed
from spawn to exit (`process wall time`, which includes closing the task at exit: the store's
SQLAlchemy import and its writes happen on a background thread, but the process waits for them before it
ends). The child also reports how long the caller's own lines took (`until init returns`), which is
what the user's script waits before its first line of training. Variants alternate in ABBA order;
the home already exists (a second run), except in the `new home` case.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from ..harness import alternate, clock, log, row, single
from .common import parse, write_rows

TIMED = "import time; _t = time.perf_counter()\n{body}\nprint('BENCH', time.perf_counter() - _t)"
INIT = "import autolog; autolog.init('bench', 'startup', output_uri={out!r})"


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    work = ctx.fresh("startup")
    home = work / "home"
    store = str(work / "store")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOLOG_", "PYTHONPATH"))}
    env.update(AUTOLOG_HOME=str(home))
    homes = iter(range(10**6))

    def child(body: str, fresh_home: bool = False) -> dict:
        run_env = dict(env)
        if fresh_home:
            run_env["AUTOLOG_HOME"] = str(work / f"home-{next(homes)}")
        t = clock()
        proc = subprocess.run(
            [sys.executable, "-c", TIMED.format(body=body)], cwd=work, env=run_env, capture_output=True, text=True
        )
        wall = clock() - t
        if proc.returncode != 0 or "BENCH" not in proc.stdout:
            raise RuntimeError(f"child failed ({proc.returncode}): {body}\n{proc.stderr[-2000:]}")
        inside = float(re.search(r"BENCH (\S+)", proc.stdout).group(1))
        return {"wall": wall, "inside": inside}

    init = INIT.format(out=store)
    child(init)  # creates the home and its database once
    modes = [
        ("bare", lambda: child("pass")),
        ("import", lambda: child("import autolog")),
        ("init", lambda: child(init)),
        ("init_new_home", lambda: child(init, fresh_home=True)),
    ]
    reps = 5 if ctx.quick else 10
    log(f"startup: {len(modes)} variants × {reps} fresh interpreters")
    res = alternate(modes, reps=reps, warmup=1)
    bare = ("python -c pass", res["bare"]["wall"])
    rows = [
        row("startup", "import autolog", "process wall time", "s", bare, ("import autolog", res["import"]["wall"])),
        single(
            "startup",
            "import autolog; autolog.init(...)",
            "until init returns (target ≤ 0.25 s)",
            "s",
            "the two lines, timed inside the child",
            res["init"]["inside"],
            target=0.25,
        ),
        row(
            "startup",
            "import autolog; autolog.init(...)",
            "process wall time (target: +0.25 s)",
            "s",
            bare,
            ("import + init", res["init"]["wall"]),
        ),
        row(
            "startup",
            "import autolog; autolog.init(...), new home",
            "process wall time",
            "s",
            bare,
            ("import + init, new home", res["init_new_home"]["wall"]),
        ),
    ]
    rows[2]["target_added"] = 0.25
    rows[2]["met"] = rows[2]["added"] <= 0.25
    if not ctx.quick:
        log("startup: with torch imported first")
        torch_res = alternate(
            [("torch", lambda: child("import torch")), ("torch_init", lambda: child(f"import torch\n{init}"))],
            reps=3,
            warmup=1,
        )
        rows.append(
            row(
                "startup",
                "import torch; autolog.init(...) (torch hook patched)",
                "process wall time",
                "s",
                ("import torch", torch_res["torch"]["wall"]),
                ("import torch + autolog init", torch_res["torch_init"]["wall"]),
            )
        )
    profile = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", init], cwd=work, env=env, capture_output=True, text=True
    ).stderr
    write_rows(out, rows)
    data = json.loads(out.read_text())
    data["importtime_top"] = _top_imports(profile)
    out.write_text(json.dumps(data, indent=1))


def _top_imports(text: str, n: int = 15) -> list[str]:
    """The slowest top-level imports on the caller's thread (cumulative microseconds), from -X importtime."""
    entries = []
    for line in text.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(3)) <= 2:
            entries.append((int(m.group(2)), m.group(4)))
    return [f"{name}: {us / 1000:.1f} ms" for us, name in sorted(entries, reverse=True)[:n]]
