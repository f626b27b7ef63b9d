"""autolog's benchmarks: `python -m bench` (see bench/README.md).

They measure the installed wheel, where `hooks/` is mapped to `autolog.hooks`: `python -m bench` puts
the checkout first on sys.path, which would shadow the wheel with a source tree that has no
`autolog.hooks`, so that entry is dropped here, before anything imports autolog. `bench` itself stays
importable because it is already in `sys.modules`.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
