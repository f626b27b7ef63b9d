"""Large downloads from a real S3 server come in parallel ranged parts (`autolog.storage.transfer`), and a download
that fails or sees the object change part way leaves no file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.s3


def test_a_large_model_is_fetched_in_ranged_parts_and_arrives_intact(run_py, tmp_path: Path, s3_uri: str) -> None:
    """A user's second program fetches a 70 MiB snapshot with a clean cache: three ranged parts (32 + 32 + 6
    MiB, the last one short), written at their offsets, give back the bytes saved."""
    weights = tmp_path / "weights.bin"
    model_id = (
        run_py(f"""
        import os, autolog
        open({str(weights)!r}, "wb").write(os.urandom(70 * 2**20))
        task = autolog.init("s3", "train", output_uri={s3_uri!r})
        print(task.register_model({str(weights)!r}, framework="custom").id)
    """)
        .stdout.strip()
        .splitlines()[-1]
    )
    expected = weights.read_bytes()
    weights.unlink()
    out = run_py(
        f"""
        import s3fs, autolog
        ranges = []
        original = s3fs.S3FileSystem._cat_file
        async def spy(self, path, *args, start=None, end=None, **kwargs):
            ranges.append((start, end))
            return await original(self, path, *args, start=start, end=end, **kwargs)
        s3fs.S3FileSystem._cat_file = spy
        path = autolog.Model.get({model_id!r}).get_local_copy()
        print(sorted(ranges))
        print(path)
    """,
        env={"AUTOLOG_CACHE_DIR": str(tmp_path / "clean-cache")},
    )
    ranges_line, path = out.stdout.strip().splitlines()[-2:]
    mib = 2**20
    assert ranges_line == str([(0, 32 * mib), (32 * mib, 64 * mib), (64 * mib, 70 * mib)])
    assert Path(path).read_bytes() == expected


@pytest.fixture
def s3_object(s3_uri: str) -> tuple[object, str, bytes]:
    """(Storage, uri, bytes) of a 5 MiB object, with parts of 1 MiB so that it takes the ranged path."""
    from autolog.storage.access import Storage

    data = os.urandom(5 * 2**20 + 1000)
    storage = Storage(s3_uri)
    uri = f"{s3_uri}/obj.bin"
    storage.fs.pipe(storage._path(uri), data)
    return storage, uri, data


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    from autolog.storage import transfer

    monkeypatch.setattr(transfer, "PART_SIZE", 2**20)
    monkeypatch.setattr(transfer, "MIN_RANGED_SIZE", 2 * 2**20)


def test_ranged_download_round_trips(small_parts, s3_object, tmp_path: Path) -> None:
    storage, uri, data = s3_object
    target = tmp_path / "copy.bin"
    storage.get(uri, str(target), False)
    assert target.read_bytes() == data


def test_a_part_that_fails_removes_the_half_written_file(
    small_parts, s3_object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops on one part (fault injected on the third range): an error naming the object, the
    bytes and the cause reaches the caller, and no half-written file is left where it expects a whole one."""
    storage, uri, _data = s3_object
    original = type(storage.fs)._cat_file

    async def flaky(self, path, *args, start=None, end=None, **kwargs):
        if start == 2 * 2**20:
            raise ConnectionResetError("connection reset by peer (injected)")
        return await original(self, path, *args, start=start, end=end, **kwargs)

    monkeypatch.setattr(type(storage.fs), "_cat_file", flaky)
    target = tmp_path / "copy.bin"
    with pytest.raises(
        OSError,
        match=r"obj\.bin: downloading bytes 2097152-3145728 failed: "
        r"ConnectionResetError: connection reset",
    ):
        storage.get(uri, str(target), False)
    assert not target.exists()


def test_an_object_replaced_during_the_download_is_an_error(
    small_parts, s3_object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer replaces the object by a shorter one between the size query and the parts: the
    short part is an error naming the object, never a file of mixed or missing bytes."""
    storage, uri, data = s3_object
    original_size = storage.fs.size

    def size_then_replace(path):
        size = original_size(path)
        storage.fs.pipe(storage._path(uri), data[: 3 * 2**20 + 10])  # the other writer, right after
        return size

    monkeypatch.setattr(storage.fs, "size", size_then_replace)
    target = tmp_path / "copy.bin"
    with pytest.raises(OSError, match="obj.bin"):
        storage.get(uri, str(target), False)
    assert not target.exists()
