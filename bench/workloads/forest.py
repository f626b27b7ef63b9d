"""Workload 4: `joblib.dump` / `joblib.load` of a fitted scikit-learn random forest, autolog off and on.

The dump is a new snapshot each round (same path, as a script re-run would do); the load reads the file
just dumped, which autolog knows (fast path) in the on rounds.
"""

from __future__ import annotations

import os

from ..harness import alternate, clock, log, row, settle
from .common import Switch, parse, write_rows


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    work = ctx.fresh("joblib")
    switch = Switch(ctx, "bench-joblib", str(ctx.fresh("joblib-store")))
    x, y = make_classification(n_samples=4000, n_features=20, random_state=0)
    forest = RandomForestClassifier(n_estimators=50 if ctx.quick else 100, random_state=0, n_jobs=1).fit(x, y)
    path = work / "forest.joblib"
    joblib.dump(forest, path)
    size = os.path.getsize(path)
    log(f"joblib: forest of {len(forest.estimators_)} trees, {size / 1e6:.1f} MB")

    def round_(on: bool) -> dict:
        if on:
            switch.on()
        else:
            switch.off(lambda: joblib.dump, lambda: joblib.load)
        t = clock()
        joblib.dump(forest, path)
        dump = clock() - t
        if on:
            switch.task.flush()
        dump_recorded = clock() - t
        t = clock()
        joblib.load(path)
        load = clock() - t
        if on:
            switch.task.flush()
        return {"dump": dump, "dump_recorded": dump_recorded, "load": load, "load_recorded": clock() - t}

    def cleanup() -> None:
        switch.clear_uploads()
        settle()

    res = alternate(
        [("bare", lambda: round_(False)), ("autolog", lambda: round_(True))],
        reps=4 if ctx.quick else 8,
        warmup=1,
        between=cleanup,
    )
    case = f"RandomForest ({len(forest.estimators_)} trees, {size / 1e6:.0f} MB)"
    b, a = res["bare"], res["autolog"]
    rows = [
        row("joblib", case, "dump per-call latency", "s", ("bare", b["dump"]), ("autolog", a["dump"])),
        row("joblib", case, "dump until durable", "s", ("bare", b["dump"]), ("autolog + flush", a["dump_recorded"])),
        row("joblib", case, "load per-call latency (known file)", "s", ("bare", b["load"]), ("autolog", a["load"])),
        row(
            "joblib",
            case,
            "load until lineage recorded",
            "s",
            ("bare", b["load"]),
            ("autolog + flush", a["load_recorded"]),
        ),
    ]
    write_rows(out, rows)
