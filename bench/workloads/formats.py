"""Workload `formats`: a representative save and load per shipping format, autolog off and on, same process.

Cases (each skipped when its framework is not installed): LightGBM `Booster.save_model` / `Booster(model_file=)`;
CatBoost `save_model` / `load_model`; TorchScript `torch.jit.save` / `torch.jit.load`; torch.export
`torch.export.save` / `torch.export.load`; ONNX `onnx.save_model` / `onnxruntime.InferenceSession` with the
weights inline and with external data, and `onnx.load_model`; skops `dump` / `load`. Each round saves to the
same path (a script re-run) and then loads that file; in the "on" rounds the task is flushed after each call,
outside the timing, so each call is timed with the previous snapshot's background work done. The rows
"autolog code on the caller's thread" add up autolog's own work inside each wrapper (`InlineTimer`, plus the
onnx hook's external-data lookup): the figure a busy machine's noise does not move.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..harness import alternate, clock, log, row, settle, single
from .common import InlineTimer, Switch, parse, write_rows

Case = tuple[str, str, Callable[[], Any], Callable[[], Any], list[Callable[[], Any]]]


def _installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _size(*paths: Path) -> str:
    total = sum(p.stat().st_size for p in paths if p.exists())
    return f"{total / 1e6:.0f} MB" if total >= 1e6 else f"{total / 1e3:.0f} kB"


def _trees_data():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 20))
    return x, (x[:, 0] + x[:, 1] * x[:, 2] - x[:, 5] > 0).astype(int)


def _lightgbm(work: Path, quick: bool) -> Case:
    import lightgbm as lgb

    x, y = _trees_data()
    params = {"objective": "binary", "num_leaves": 63, "verbose": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(x, y), num_boost_round=100 if quick else 300)
    path = work / "model.txt"
    booster.save_model(path)
    return (
        "lightgbm",
        f"Booster, {booster.num_trees()} trees ({_size(path)} text)",
        lambda: booster.save_model(path),
        lambda: lgb.Booster(model_file=path),
        [lambda: lgb.Booster.save_model, lambda: lgb.Booster.__init__],
    )


def _catboost(work: Path, quick: bool) -> Case:
    import catboost as cb

    x, y = _trees_data()
    model = cb.CatBoostClassifier(
        iterations=200 if quick else 500, depth=6, verbose=False, thread_count=1, allow_writing_files=False
    )
    model.fit(x, y)
    path = work / "model.cbm"
    model.save_model(str(path))
    return (
        "catboost",
        f"CatBoostClassifier, {model.tree_count_} trees ({_size(path)} cbm)",
        lambda: model.save_model(str(path)),
        lambda: cb.CatBoostClassifier().load_model(str(path)),
        [lambda: cb.CatBoost.save_model, lambda: cb.CatBoost.load_model],
    )


def _mlp(width: int):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(width, width), torch.nn.ReLU(), torch.nn.Linear(width, 16)).eval()


def _torchscript(work: Path, quick: bool) -> Case:
    import warnings

    import torch

    warnings.simplefilter("ignore", DeprecationWarning)
    scripted = torch.jit.script(_mlp(2048 if quick else 4096))
    path = work / "scripted.pt"
    torch.jit.save(scripted, str(path))
    return (
        "torchscript",
        f"scripted MLP ({_size(path)})",
        lambda: torch.jit.save(scripted, str(path)),
        lambda: torch.jit.load(str(path)),
        [lambda: torch.jit.save, lambda: torch.jit.load],
    )


def _torch_export(work: Path, quick: bool) -> Case:
    import torch

    net = _mlp(2048 if quick else 4096)
    program = torch.export.export(net, (torch.randn(2, net[0].in_features),))
    path = work / "model.pt2"
    torch.export.save(program, path)
    return (
        "torch.export",
        f"ExportedProgram of an MLP ({_size(path)} .pt2)",
        lambda: torch.export.save(program, path),
        lambda: torch.export.load(path),
        [lambda: torch.export.save, lambda: torch.export.load],
    )


def _onnx_cases(work: Path, quick: bool) -> list[Case]:
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    width = 2048 if quick else 4096
    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.standard_normal((width, width)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, width])],
        [weights],
    )
    proto = helper.make_model(graph)
    inline, external = work / "inline.onnx", work / "external.onnx"
    onnx.save_model(proto, inline)

    def save_external() -> None:
        fresh = onnx.ModelProto()
        fresh.CopyFrom(proto)  # a save with external data moves the weights out of the proto it is given
        onnx.save_model(fresh, external, save_as_external_data=True, location="external.onnx.data")

    def remove_external() -> None:
        for path in (external, work / "external.onnx.data"):
            path.unlink(missing_ok=True)

    def save_external_fresh() -> None:
        remove_external()  # onnx appends external data to an existing data file
        save_external()

    save_external_fresh()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    bare = [lambda: onnx.save_model, lambda: onnx.load_model, lambda: ort.InferenceSession.__init__]
    return [
        (
            "onnx",
            f"MatMul model, weights inline ({_size(inline)}): onnx.save_model / InferenceSession",
            lambda: onnx.save_model(proto, inline),
            lambda: ort.InferenceSession(str(inline), options),
            bare,
        ),
        (
            "onnx",
            f"same, external data ({_size(external, work / 'external.onnx.data')} in 2 files): "
            "onnx.save_model / InferenceSession",
            save_external_fresh,
            lambda: ort.InferenceSession(str(external), options),
            bare,
        ),
        (
            "onnx",
            f"same, weights inline ({_size(inline)}): onnx.save_model / onnx.load_model",
            lambda: onnx.save_model(proto, inline),
            lambda: onnx.load_model(inline),
            bare,
        ),
    ]


def _skops(work: Path, quick: bool) -> Case:
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    x, y = _trees_data()
    forest = RandomForestClassifier(n_estimators=20 if quick else 50, max_depth=10, random_state=0, n_jobs=1)
    forest.fit(x[:5000], y[:5000])
    path = work / "forest.skops"
    sio.dump(forest, path)
    trusted = sio.get_untrusted_types(file=path)
    return (
        "skops",
        f"RandomForest, {len(forest.estimators_)} trees ({_size(path)})",
        lambda: sio.dump(forest, path),
        lambda: sio.load(path, trusted=trusted),
        [lambda: sio.dump, lambda: sio.load],
    )


BUILDERS: list[tuple[tuple[str, ...], Callable[[Path, bool], Any]]] = [
    (("lightgbm",), _lightgbm),
    (("catboost",), _catboost),
    (("torch",), _torchscript),
    (("torch",), _torch_export),
    (("onnx", "onnxruntime"), _onnx_cases),
    (("skops", "sklearn"), _skops),
]


def main(argv: list[str]) -> None:
    ctx, out = parse(argv)
    work = ctx.fresh("formats")
    switch = Switch(ctx, "bench-formats", str(ctx.fresh("formats-store")))
    inline = InlineTimer()
    timed_hooks: set[str] = set()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for modules, build in BUILDERS:
        if not _installed(*modules):
            skipped.append(f"formats: {build.__name__.strip('_')} skipped, {' / '.join(modules)} not installed")
            continue
        switch.off()
        built = build(work, ctx.quick)
        onnx_hook = sys.modules.get("autolog.hooks.onnx")
        if onnx_hook is not None and "onnx" not in timed_hooks:
            inline.include(onnx_hook, "external_files")  # the onnx hook's own lookup, before and after a call
            timed_hooks.add("onnx")
        for framework, case, save, load, bare in built if isinstance(built, list) else [built]:
            log(f"formats: {framework}: {case}")

            def round_(on: bool) -> dict[str, float]:
                if on:
                    switch.on()
                else:
                    switch.off(*bare)
                inline.take()
                t = clock()
                save()
                saved = clock() - t
                save_inline = inline.take()
                if on:
                    switch.task.flush()
                inline.take()
                t = clock()
                load()
                loaded = clock() - t
                load_inline = inline.take()
                if on:
                    switch.task.flush()
                return {"save": saved, "load": loaded, "save_inline": save_inline, "load_inline": load_inline}

            def cleanup() -> None:
                switch.clear_uploads()
                settle()

            res = alternate(
                [("bare", lambda: round_(False)), ("autolog", lambda: round_(True))],
                reps=3 if ctx.quick else 6,
                warmup=1,
                between=cleanup,
            )
            b, a = res["bare"], res["autolog"]
            for op in ("save", "load"):
                rows.append(
                    row(
                        framework, case, f"{op} per-call latency", "s", ("bare", b[op]), ("autolog", a[op]), target=1.05
                    )
                )
                rows.append(
                    single(
                        framework,
                        case,
                        f"autolog code on the caller's thread, per {op}",
                        "s",
                        "autolog",
                        a[f"{op}_inline"],
                    )
                )
    recorded = {m.framework for m in switch.task.models["output"]}
    expected = {r["workload"] for r in rows}
    if expected - recorded:
        raise RuntimeError(f"the on rounds recorded no snapshot for {sorted(expected - recorded)}")
    os.environ.pop("AUTOLOG_HOME", None)
    write_rows(out, rows, skipped)
