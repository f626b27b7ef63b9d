"""ONNX: exports and saves of `.onnx` files register output snapshots; loads and inference sessions link them.

Recorded saves (framework `onnx`):
- `torch.onnx.export(model, args, "model.onnx")` with either exporter: the default `dynamo=True` one (through
  `torch.export`, onnxscript and onnx-ir) and the TorchScript-based `dynamo=False` one; and
  `ONNXProgram.save("model.onnx")` on the program `torch.onnx.export(model, args)` returns (the PyTorch
  tutorials' pattern). Inside an export, the `ONNXProgram.save` / `onnx.save` call counts once.
- `onnx.save_model` (= `onnx.save`) to a path or into an open file that has a path.
Recorded loads: `onnx.load_model` (= `onnx.load`) of a path or an open file with a path, and
`onnxruntime.InferenceSession(path)` (serving), which reads the file in C++ without `onnx`.

External data: a model whose tensors live in other files (`model.onnx.data`, what the dynamo exporter writes
with `external_data=True`; `onnx.save_model(..., save_as_external_data=True, location=...)`) is ONE snapshot
holding the `.onnx` file and every data file it references, named after the `.onnx` file; a load of it links
that snapshot by the same files' content. `model.get_local_copy()` of such a snapshot is a folder holding
them: load `os.path.join(folder, model.name)`. The referenced files are found by reading the `location` entries
of the model's external-data records straight from the protobuf bytes (memory-mapped, no parse, no `onnx`
import: the graph's initializers are walked by their tags and lengths, the weights skipped): a file named there
that exists next to the model is a member. Data files in a subfolder are stored by their file
name, so a fetched copy of such a model needs them moved back into that subfolder.
Not recorded: `onnx.load_model_from_string`, `InferenceSession(bytes)`, `torch.onnx.export` without a file
(the returned program is recorded when it is saved), an export into `BytesIO`. CatBoost's
`save_model(format="onnx")` writes the file in C++: it is the catboost hook's snapshot, never one here.
"""

from __future__ import annotations

import importlib
import mmap
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from autolog.capture.api import Args, Hook, Kwargs, Target, arg, load_wrapper, save_wrapper

FRAMEWORK = "onnx"

# A StringStringEntryProto {key: "location", value: ...} as protobuf writes it: field 1 (key) = the 8 bytes
# "location", then field 2 (value) as a length-prefixed string. Every external-data tensor carries one.
_LOCATION = b"\n\x08location\x12"
# Field numbers (onnx.proto): ModelProto.graph, GraphProto.initializer, TensorProto.external_data.
_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_EXTERNAL_DATA = 7, 5, 13


def _varint(data: Any, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise ValueError("not a protobuf varint")


def _fields(data: Any, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, start, end) of each length-delimited field of the message in data[start:end]; scalar
    fields are stepped over. Reads only the tags and lengths: a tensor's bytes are skipped, never read."""
    at = start
    while at < end:
        tag, at = _varint(data, at)
        wire = tag & 7
        if wire == 0:
            _, at = _varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > end:
                raise ValueError("a field runs past its message")
            yield tag >> 3, at, at + length
            at += length
        else:
            raise ValueError(f"wire type {wire} is not in ONNX protobuf")


def _scan(data: Any, start: int, end: int, names: dict[str, None]) -> None:
    """Every `location` value in data[start:end], found by its bytes (for the parts that are not walked)."""
    at = data.find(_LOCATION, start, end)
    while at != -1:
        at += len(_LOCATION)
        try:
            length, at = _varint(data, at)
        except (IndexError, ValueError):  # these bytes were not a record: look further
            length = 0
        if 0 < length < 4096 and at + length <= end:
            names[os.fsdecode(data[at : at + length])] = None
        at = data.find(_LOCATION, at, end)


def _locations(data: Any) -> dict[str, None]:
    """The external-data locations of the model in `data`: graph initializers are walked field by field (their
    weights skipped by length, so a model with its weights inline costs a few reads, not a pass over them);
    the rest of the model (nodes, subgraphs, functions: small) is searched by bytes."""
    names: dict[str, None] = {}
    for field, start, end in _fields(data, 0, len(data)):
        if field != _MODEL_GRAPH:
            _scan(data, start, end, names)
            continue
        for graph_field, g_start, g_end in _fields(data, start, end):
            if graph_field != _GRAPH_INITIALIZER:
                _scan(data, g_start, g_end, names)
                continue
            for tensor_field, t_start, t_end in _fields(data, g_start, g_end):
                if tensor_field == _TENSOR_EXTERNAL_DATA:
                    entry = {key: (s, e) for key, s, e in _fields(data, t_start, t_end)}
                    if data[slice(*entry.get(1, (0, 0)))] == b"location" and 2 in entry:
                        names[os.fsdecode(data[slice(*entry[2])])] = None
    return names


def external_files(path: str) -> tuple[str, ...]:
    """The existing files the ONNX model at `path` names as external data, in first-seen order. A file that is
    not binary protobuf (a text-format model, a truncated file) is searched by bytes as a whole."""
    base = os.path.dirname(path)
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size == 0:
            return ()
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            try:
                names = _locations(data)
            except (IndexError, ValueError):
                names = {}
                _scan(data, 0, len(data), names)
    found: dict[str, None] = {}
    for name in names:
        member = os.path.normpath(os.path.join(base, name))
        if member != path and os.path.isfile(member):
            found[member] = None
    return tuple(found)


def _local(obj: Any) -> str | None:
    if isinstance(obj, (str, os.PathLike)):
        text = os.fspath(obj)
        return os.path.abspath(text) if text and "://" not in text else None
    return None


def model_target(obj: Any) -> Any:
    """What a save wrote or a load reads: the model file with its external data files as one Target, or the
    given object unchanged (a single-file model, an open file, or something that is not a file: None)."""
    path = _local(obj)
    if path is None:
        return None if isinstance(obj, (bytes, bytearray, memoryview)) else obj
    if not os.path.isfile(path):
        return path
    members = external_files(path)
    # onnx refuses external data with a second hard link: autolog must never add one (`Target.single_link`)
    return Target(path, files=(path, *members), single_link=True) if members else path


def _before_save(find: Any) -> Any:
    """Before a save: the earlier model at that path with its data files, so that a snapshot of them still
    waiting for its upload is kept intact. Only a hard-linked file can be one (staging freezes by hard link)."""

    def target(instance: Any, args: Args, kwargs: Kwargs) -> Any:
        obj = find(instance, args, kwargs)
        path = _local(obj)
        if path is not None and os.path.isfile(path) and os.stat(path).st_nlink > 1:
            return model_target(path)
        return obj

    return target


def _after_save(find: Any) -> Any:
    return lambda result, instance, args, kwargs: model_target(find(instance, args, kwargs))


def _save(hook: Hook, find: Any) -> Any:
    return save_wrapper(hook, target=_before_save(find), framework=FRAMEWORK, from_result=_after_save(find))


def _load(hook: Hook, find: Any) -> Any:
    return load_wrapper(
        hook, target=lambda instance, args, kwargs: model_target(find(instance, args, kwargs)), framework=FRAMEWORK
    )


class OnnxHook(Hook):
    name = "onnx"
    watches = ("onnx", "onnxruntime", "torch.onnx")
    distribution = ("onnx", "onnxruntime", "torch")
    min_version = (1, 0)
    max_version = (3,)

    def patch(self, module: ModuleType) -> None:
        if module.__name__ == "onnx":
            # onnx.save_model(proto, f, ...): writes the `.onnx` file and, with save_as_external_data, its data
            # files; `onnx.save` is a second binding of the same function.
            save = _save(self, arg(1, "f"))
            # onnx.load_model(f, ...): reads the file and its external data; `onnx.load` is the same function.
            load = _load(self, arg(0, "f"))
            for attr in ("save_model", "save"):
                self.wrap(module, attr, save)
            for attr in ("load_model", "load"):
                self.wrap(module, attr, load)
        elif module.__name__ == "onnxruntime":
            # InferenceSession.__init__(path_or_bytes, ...): how a model is served; ORT reads the file (and its
            # external data) in C++, so no Python-level read exists to wrap instead.
            session = importlib.import_module("onnxruntime.capi.onnxruntime_inference_collection")
            self.wrap(session.InferenceSession, "__init__", _load(self, arg(0, "path_or_bytes")))
        else:
            # torch.onnx.export(model, args, f, ...): the public entry point of both exporters; the file is
            # written deep inside either one, with the external data files next to it.
            self.wrap(module, "export", _save(self, arg(2, "f")))
            program = importlib.import_module("torch.onnx._internal.exporter._onnx_program")
            # ONNXProgram.save(destination, ...): saving the program `torch.onnx.export(model, args)` returned.
            self.wrap(program.ONNXProgram, "save", _save(self, arg(0, "destination")))


HOOK = OnnxHook
