"""Workloads, each run in its own process: `python -m bench.workloads NAME --workdir DIR --out FILE`."""

NAMES = ("startup", "save", "load", "joblib", "hashing", "upload", "incumbents")
