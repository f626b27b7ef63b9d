import importlib
import sys

from . import NAMES

if len(sys.argv) < 2 or sys.argv[1] not in NAMES:
    raise SystemExit(f"usage: python -m bench.workloads {{{','.join(NAMES)}}} --workdir DIR --out FILE [--quick]")
importlib.import_module(f"bench.workloads.{sys.argv[1]}").main(sys.argv[2:])
