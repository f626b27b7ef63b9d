"""Workloads, each run in its own process: `python -m bench.workloads NAME --workdir DIR --out FILE`."""

# workload name -> module in this package
MODULES = {
    "startup": "startup",
    "save": "save",
    "load": "load",
    "joblib": "forest",
    "hashing": "hashing",
    "upload": "upload",
    "storage": "storage",
    "retention": "retention",
    "incumbents": "incumbents",
    "stacks": "stacks",
    "dcp": "dcp",
    "formats": "formats",
}
NAMES = tuple(MODULES)
