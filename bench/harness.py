"""Measuring: alternating rounds, summaries, result rows. Standard library only.

Every workload compares a *baseline* (the bare framework call, or a plain copy/read) with a *measured*
variant (the same call with autolog on, or an incumbent) in the same process, alternating the two in
ABBA order (A B, B A, A B, ...) so that slow drift (page cache, writeback, thermal) hits both equally.
Warm-up rounds run first and are thrown away.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

Values = dict[str, list[float]]
Mode = tuple[str, Callable[[], dict[str, Any]]]


def log(message: str) -> None:
    """Progress on stderr (the orchestrator passes it through); stdout stays clean."""
    print(f"  {message}", file=sys.stderr, flush=True)


def clock() -> float:
    return time.perf_counter()


def alternate(
    modes: Sequence[Mode], reps: int, warmup: int = 1, between: Callable[[], None] | None = None
) -> dict[str, Values]:
    """Run each mode's round `warmup + reps` times, alternating in ABBA order.

    A round returns {metric: value or list of values}; values of warm-up rounds are dropped.
    `between` runs after every round, outside any timing (cleanup, `os.sync()`).
    """
    results: dict[str, Values] = {name: defaultdict(list) for name, _ in modes}
    for i in range(warmup + reps):
        order = list(modes) if i % 2 == 0 else list(reversed(modes))
        for name, round_fn in order:
            gc.collect()
            measured = round_fn()
            if between is not None:
                between()
            if i < warmup:
                continue
            for metric, value in measured.items():
                if isinstance(value, (list, tuple)):
                    results[name][metric].extend(value)
                else:
                    results[name][metric].append(value)
    return {name: dict(values) for name, values in results.items()}


def summary(values: Sequence[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def row(
    workload: str,
    case: str,
    metric: str,
    unit: str,
    baseline: tuple[str, Sequence[float]],
    measured: tuple[str, Sequence[float]],
    *,
    target: float | None = None,
    higher_is_better: bool = False,
    note: str = "",
) -> dict[str, Any]:
    """One line of the results table.

    `unit` is `s` (lower is better; shown in ms or s) or `MB/s` (higher is better). `ratio` is
    measured / baseline of the medians; a target is met when the ratio is <= target (>= for throughput).
    `ratio_of_mins` (the best round of each) is the less noisy figure on a busy machine.
    """
    base, meas = summary(baseline[1]), summary(measured[1])
    ratio = meas["median"] / base["median"] if base["median"] else None
    ratio_of_mins = meas["min"] / base["min"] if base["min"] else None
    met = None
    if target is not None and ratio is not None:
        met = ratio >= target if higher_is_better else ratio <= target
    return {
        "workload": workload,
        "case": case,
        "metric": metric,
        "unit": unit,
        "baseline_label": baseline[0],
        "baseline": base,
        "measured_label": measured[0],
        "measured": meas,
        "ratio": ratio,
        "ratio_of_mins": ratio_of_mins,
        "added": meas["median"] - base["median"],
        "target": target,
        "higher_is_better": higher_is_better,
        "met": met,
        "note": note,
    }


def single(
    workload: str,
    case: str,
    metric: str,
    unit: str,
    label: str,
    values: Sequence[float],
    *,
    target: float | None = None,
    higher_is_better: bool = False,
    note: str = "",
) -> dict[str, Any]:
    """A row with an absolute target (e.g. hash throughput >= 1000 MB/s) and no baseline."""
    meas = summary(values)
    met = None
    if target is not None:
        met = meas["median"] >= target if higher_is_better else meas["median"] <= target
    return {
        "workload": workload,
        "case": case,
        "metric": metric,
        "unit": unit,
        "baseline_label": None,
        "baseline": None,
        "measured_label": label,
        "measured": meas,
        "ratio": None,
        "added": None,
        "target": target,
        "higher_is_better": higher_is_better,
        "met": met,
        "note": note,
    }


def settle() -> None:
    """Between rounds that wrote a lot: push dirty pages to disk so one round's writeback never lands in
    the next round's timing."""
    os.sync()
    gc.collect()


def mb(nbytes: float) -> float:
    return nbytes / 1e6
