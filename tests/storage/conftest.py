"""Helpers of the storage tests: what an output store holds, read straight from the bucket or folder."""

from __future__ import annotations

import pytest


@pytest.fixture
def stored_objects():
    """`stored_objects(output_uri)` -> {object path: size} under its `.autolog/objects/` (temporary names left out)."""

    def listing(root: str) -> dict[str, int]:
        import fsspec

        fs, path = fsspec.core.url_to_fs(root.rstrip("/") + "/.autolog/objects")
        fs.invalidate_cache()
        try:
            found = fs.find(path, detail=True)
        except FileNotFoundError:
            return {}
        return {p: int(info["size"]) for p, info in found.items() if "/tmp/" not in p and ".part-" not in p}

    return listing
