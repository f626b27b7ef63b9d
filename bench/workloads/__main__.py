import importlib
import sys

from . import MODULES

if len(sys.argv) < 2 or sys.argv[1] not in MODULES:
    raise SystemExit(f"usage: python -m bench.workloads {{{','.join(MODULES)}}} --workdir DIR --out FILE [--quick]")
importlib.import_module(f"bench.workloads.{MODULES[sys.argv[1]]}").main(sys.argv[2:])
