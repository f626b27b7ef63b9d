"""`python -m bench`: run every workload, each in a fresh process, print the table, write the results.

    python -m bench                 # everything, about 8-10 minutes on a 2-core machine
    python -m bench --quick         # CI smoke: smaller files, fewer rounds, no 1 GB case, no incumbents
    python -m bench --only save,load

Results: `bench/results/latest.json` (every value measured) and `bench/results/latest.md` (the table,
ready for the README). See bench/README.md for what each workload measures and how "off" is made.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import ROOT
from .workloads import NAMES

RESULTS = ROOT / "bench" / "results"
QUICK_SKIPS = {"incumbents", "stacks", "dcp", "formats"}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": _loadavg(),
    }


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def versions(python: str) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\nout = {}\n"
        "for d in ('autolog', 'torch', 'blake3', 'fsspec', 's3fs', 'sqlalchemy', 'scikit-learn', 'joblib',"
        " 'clearml', 'mlflow-skinny', 'mlflow'):\n"
        "    try: out[d] = m.version(d)\n    except m.PackageNotFoundError: pass\nprint(json.dumps(out))"
    )
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


def preflight() -> str | None:
    """The benchmarks measure the installed wheel (with `autolog.hooks`): say how to install it if missing."""
    proc = subprocess.run(
        [sys.executable, "-c", "import autolog.hooks, autolog; print(autolog.__file__)"],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    if proc.returncode != 0:
        return (
            "autolog is not installed in this interpreter (the benchmarks measure the installed wheel): "
            f"run `{Path(sys.executable).name} -m pip install {ROOT}` (or `uv pip install --reinstall {ROOT}`)"
        )
    return None


def run_workload(name: str, workdir: Path, quick: bool, big: bool, timeout: float) -> dict[str, Any]:
    out = workdir / f"{name}.json"
    cmd = [sys.executable, "-m", "bench.workloads", name, "--workdir", str(workdir / name), "--out", str(out)]
    cmd += ["--quick"] if quick else []
    cmd += ["--big"] if big else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLOG_")}
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, timeout=timeout, stdout=sys.stderr)
        failed = proc.returncode != 0 or not out.exists()
        why = f"exit status {proc.returncode}" if failed else ""
    except subprocess.TimeoutExpired:
        failed, why = True, f"timed out after {timeout:.0f} s"
    seconds = time.monotonic() - start
    if failed:
        return {"rows": [], "skipped": [f"{name}: FAILED ({why}); see the output above"], "seconds": seconds}
    data = json.loads(out.read_text())
    data["seconds"] = seconds
    return data


# -- formatting ---------------------------------------------------------------------------------------
def fmt_value(value: float, unit: str) -> str:
    if unit == "MB/s":
        return f"{value:,.0f} MB/s"
    if unit == "MB":
        return f"{value:,.2f} MB"
    if abs(value) >= 1:
        return f"{value:.2f} s"
    if abs(value) >= 0.001:
        return f"{value * 1000:.1f} ms"
    return f"{value * 1000:.2f} ms"


def fmt_stat(stat: dict[str, Any] | None, unit: str) -> str:
    if stat is None:
        return ""
    lo, hi = fmt_value(stat["min"], unit), fmt_value(stat["max"], unit)
    return f"{fmt_value(stat['median'], unit)} ({lo.split()[0]}–{hi})"


def fmt_ratio(r: dict[str, Any]) -> str:
    if r["ratio"] is None:
        return ""
    text = f"{r['ratio']:.2f}"
    if r["unit"] == "s":
        added = r["added"]
        text += f" ({'+' if added >= 0 else '−'}{fmt_value(abs(added), 's')})"
    if r.get("ratio_of_mins") is not None:
        text += f"; of mins {r['ratio_of_mins']:.2f}"
    return text


def fmt_target(r: dict[str, Any]) -> str:
    if r.get("target_added") is not None:
        goal = f"≤ +{fmt_value(r['target_added'], 's')}"
    elif r["target"] is None:
        return ""
    elif r["ratio"] is None:
        goal = f"{'≥' if r['higher_is_better'] else '≤'} {fmt_value(r['target'], r['unit'])}"
    else:
        goal = f"{'≥' if r['higher_is_better'] else '≤'} {r['target']:g}×"
    return f"{goal}: {'met' if r['met'] else '**missed**'}"


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| workload | case | metric | baseline: median (min–max) | measured: median (min–max) | ratio | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        base = f"{r['baseline_label']}: {fmt_stat(r['baseline'], r['unit'])}" if r["baseline"] else ""
        meas = f"{r['measured_label']}: {fmt_stat(r['measured'], r['unit'])}"
        n = f" ×{r['measured']['n']}"
        lines.append(
            f"| {r['workload']} | {r['case']} | {r['metric']} | {base} | {meas}{n} | {fmt_ratio(r)} | {fmt_target(r)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run (< 2 minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated workloads among {', '.join(NAMES)}")
    parser.add_argument("--no-big", action="store_true", help="skip the 1 GB checkpoint case")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary folder, deleted)")
    parser.add_argument(
        "--incumbents-python",
        help="interpreter with clearml / mlflow installed (default: this one, or $BENCH_INCUMBENTS_PYTHON)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where latest.json / latest.md go")
    args = parser.parse_args(argv)
    if args.incumbents_python:
        os.environ["BENCH_INCUMBENTS_PYTHON"] = args.incumbents_python
    problem = preflight()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    names = [n for n in (args.only.split(",") if args.only else NAMES) if n]
    unknown = sorted(set(names) - set(NAMES))
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    if args.quick and not args.only:
        names = [n for n in names if n not in QUICK_SKIPS]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="autolog-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    free_disk = shutil.disk_usage(workdir).free
    big = not (args.quick or args.no_big) and free_disk > 12e9 and _available_memory() > 8e9
    started = time.time()
    info = machine()
    info.update(workdir_free_gb=round(free_disk / 1e9, 1))
    rows, skipped, seconds = [], [], {}
    extra: dict[str, Any] = {}
    try:
        for name in names:
            print(f"[{name}]", file=sys.stderr, flush=True)
            data = run_workload(name, workdir, args.quick, big, timeout=240 if args.quick else 420)
            rows += data["rows"]
            skipped += data.get("skipped", [])
            seconds[name] = round(data["seconds"], 1)
            extra.update({k: v for k, v in data.items() if k not in ("rows", "skipped", "seconds")})
            print(f"[{name}] {data['seconds']:.0f} s", file=sys.stderr, flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    info["load_average_at_end"] = _loadavg()
    command = "python -m bench" + (
        " " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    result = {
        "command": command,
        "quick": args.quick,
        "started": dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 1),
        "machine": info,
        "versions": versions(sys.executable),
        "workload_seconds": seconds,
        "rows": rows,
        "skipped": skipped,
        **extra,
    }
    table = markdown(rows)
    notes = [f"- {s}" for s in skipped]
    md = (
        f"`{command}` — {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Python {info['python']}, "
        f"torch {result['versions'].get('torch', '-')}; load average {info['load_average_at_start']} at start; "
        f"{result['duration_s']:.0f} s in all.\n\n{table}\n" + ("\n" + "\n".join(notes) + "\n" if notes else "")
    )
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "latest.json").write_text(json.dumps(result, indent=1))
    (args.results / "latest.md").write_text(md)
    print(md)
    print(f"written: {args.results / 'latest.json'}, {args.results / 'latest.md'}", file=sys.stderr)
    return 0
