"""skops: `skops.io.dump` registers an output snapshot, `skops.io.load` links an input model.

scikit-learn's recommended secure format (a zip of JSON and arrays, no pickle). Framework `skops` (the
format: the estimator inside is usually scikit-learn's, but the file is only readable with skops).
Recorded: `skops.io.dump(obj, path)` to a path (str / Path) or into an open file that has a path, and
`skops.io.load(path_or_file, trusted=...)`. Not recorded: `dumps` / `loads` (bytes, not a file),
`get_untrusted_types(file=...)` (it audits the file's types, it loads no model).

Aliases (skops 0.16): `skops.io.dump is skops.io._persist.dump` and the same for `load`; both bindings are
wrapped around the same original.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from autolog.capture.api import Hook, arg, load_wrapper, save_wrapper

FRAMEWORK = "skops"


class SkopsHook(Hook):
    name = "skops"
    watches = ("skops.io",)
    distribution = "skops"
    min_version = (0, 10)
    max_version = (1,)

    def patch(self, module: ModuleType) -> None:
        persist = importlib.import_module("skops.io._persist")
        # skops.io.dump(obj, file, ...): builds the zip in memory, then writes it to `file` in one go.
        save = save_wrapper(self, target=arg(1, "file"), framework=FRAMEWORK)
        # skops.io.load(file, trusted=None): opens `file` as a zip and rebuilds the object.
        load = load_wrapper(self, target=arg(0, "file"), framework=FRAMEWORK)
        for owner in (persist, module):
            self.wrap(owner, "dump", save)
            self.wrap(owner, "load", load)


HOOK = SkopsHook
