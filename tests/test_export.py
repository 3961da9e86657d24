"""``sarle export`` and :class:`sarle.export.ExportedShard` (no Dask here).

Shards are generated with ``benchmarks/corpus.py`` (portrait, landscape,
square, a 1x1 image, an image without annotations, every image with an
empty and a full mask). Every exported mask, label map and column is
compared with what the :class:`sarle.sa1b.ImageRecord` gives for the same
size; the export's atomicity is checked by interrupting ``_write`` at
several points; the command is run in process and as a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest

import sarle
from sarle import cli, export, sa1b
from sarle.export import ExportedShard, export_path, export_shard, long_side_shape, read_meta, shard_name
from shards import jpeg_bytes, make_dicts, members_for, write_tar  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: (seed, (h, w), n_masks, image_id). n_masks >= 2 includes one empty and one full mask.
IMAGES = [
    (31, (90, 60), 12, 1),  # portrait
    (32, (50, 120), 10, 2),  # landscape
    (33, (64, 64), 8, 3),  # square
    (34, (37, 101), 0, 4),  # no annotations
    (35, (1, 1), 2, 5),  # one pixel: an empty and a full mask
    (36, (33, 20), 2, 6),  # only an empty and a full mask
    (37, (7, 200), 6, 7),  # very wide: a short side of a few pixels after resampling
]

#: Long sides the export is checked at (1: every image becomes 1 px on its long side).
LONG_SIDES = [1, 16, 100, 256, 1024]

# --------------------------------------------------------------------------- helpers












def records_of(path: Any) -> Dict[str, sa1b.ImageRecord]:
    return {s.key: s.record for s in sa1b.iter_shard(path, images=False)}


def leftovers(out: Path) -> List[str]:
    """Entries of ``out`` that are not finished exports (temporary directories, stray files)."""
    if not out.exists():
        return []
    return sorted(n for n in os.listdir(out) if not (n.endswith(".sarle") and read_meta(str(out / n))))


def snapshot(path: str) -> Dict[str, Tuple[int, int, int]]:
    """name -> (inode, mtime_ns, size) for an export directory and every file in it."""
    out = {".": (os.stat(path).st_ino, os.stat(path).st_mtime_ns, 0)}
    for name in sorted(os.listdir(path)):
        st = os.stat(os.path.join(path, name))
        out[name] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return out


def file_bytes(path: str) -> Dict[str, bytes]:
    out = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as handle:
            out[name] = handle.read()
    return out


def check_export(path: str, shard: Any, long_side: int, label_map: bool) -> None:
    """Every image of ``shard`` against its export at ``path``."""
    records = records_of(shard)
    exported = ExportedShard(path)
    assert list(exported) == list(records)  # shard order
    assert len(exported) == len(records)
    assert exported.long_side == long_side
    meta = exported.meta
    assert meta["format"] == export.FORMAT
    assert meta["long_side"] == long_side and meta["label_map"] is label_map
    assert meta["shard"] == shard_name(str(shard))
    assert meta["source"] == os.path.abspath(shard)
    assert meta["images"] == len(records)
    assert meta["masks"] == sum(len(r) for r in records.values())
    assert meta["skipped"] == []
    assert meta["sarle"] == sarle.__version__
    for key, record in records.items():
        assert key in exported
        size = long_side_shape(record.height, record.width, long_side)
        assert exported.shape(key) == size
        got = exported[key]
        want = record.masks(size=size)
        assert got.dtype == np.bool_ and got.shape == (len(record), *size), key
        assert np.array_equal(got, want), key
        assert np.array_equal(exported.masks(key), want), key
        info = exported.info(key)
        assert info["key"] == key
        assert info["size"] == size
        assert info["original_size"] == (record.height, record.width)
        for stem, attribute in export.MASK_COLUMNS.items():
            column = getattr(record, attribute)
            assert info[stem].dtype == column.dtype, (key, stem)
            assert info[stem].shape == column.shape, (key, stem)
            assert np.array_equal(info[stem], column), (key, stem)
        if label_map:
            labels = exported.label_map(key)
            want_labels = record.label_map(size=size, paint="area", dtype=np.uint16)
            assert labels.dtype == np.uint16 and labels.shape == size
            assert np.array_equal(labels, want_labels), key
        else:
            with pytest.raises(ValueError, match="without label maps"):
                exported.label_map(key)
    assert "sa_999999" not in exported
    with pytest.raises(KeyError, match="sa_999999"):
        exported["sa_999999"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dicts() -> List[Dict[str, Any]]:
    return make_dicts(IMAGES)


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory: pytest.TempPathFactory, dicts: List[Dict[str, Any]]) -> Path:
    """``all.tar`` (every image), ``sa_000000.tar`` and ``sa_000001.tar`` (a split of them)."""
    folder = tmp_path_factory.mktemp("shards")
    write_tar(folder / "all.tar", members_for(dicts))
    write_tar(folder / "sa_000000.tar", members_for(dicts[:3]))
    write_tar(folder / "sa_000001.tar", members_for(dicts[3:]))
    return folder


@pytest.fixture(scope="module")
def shard(shard_dir: Path) -> Path:
    return shard_dir / "all.tar"


@pytest.fixture(scope="module")
def two_shards(shard_dir: Path) -> List[Path]:
    return [shard_dir / "sa_000000.tar", shard_dir / "sa_000001.tar"]


@pytest.fixture(scope="module")
def bad_shard(tmp_path_factory: pytest.TempPathFactory, dicts: List[Dict[str, Any]]) -> Dict[str, Any]:
    """A shard with a good image, an unparseable JSON member, a JSON without its JPEG
    and a record whose counts string does not decode (it passes ``check``)."""
    good, undecodable = json.loads(json.dumps(dicts[0])), json.loads(json.dumps(dicts[2]))
    h, w = undecodable["image"]["height"], undecodable["image"]["width"]
    short = np.zeros((h, w - 1), dtype=bool)
    short[2:9, 3:20] = True
    undecodable["annotations"][1]["segmentation"]["counts"] = sarle.encode(short)["counts"]
    members = members_for([good, undecodable])
    members += [("sa_90.jpg", jpeg_bytes(8, 8)), ("sa_90.json", b"{not json"),
                ("sa_91.json", json.dumps(dicts[1]).encode())]
    folder = tmp_path_factory.mktemp("bad")
    path = write_tar(folder / "bad.tar", members)
    good_shard = write_tar(folder / "good.tar", members_for([good]))
    return {"path": path, "good": ["sa_1"], "members": ["sa_3.json", "sa_90.json", "sa_91.json"],
            "good_shard": good_shard}


# --------------------------------------------------------------------------- long_side_shape


def sam_resize_longest_side(h: int, w: int, long_side: int) -> Tuple[int, int]:
    """segment_anything.utils.transforms.ResizeLongestSide.get_preprocess_shape."""
    scale = long_side * 1.0 / max(h, w)
    newh, neww = h * scale, w * scale
    return int(newh + 0.5), int(neww + 0.5)


def test_long_side_shape_is_sams_rule() -> None:
    rng = np.random.default_rng(0)
    sizes = [(1500, 2250), (2250, 1500), (1500, 2000), (2000, 1500), (1500, 1500), (1, 1), (1, 5000),
             (5000, 1), (3, 4), (683, 1024), (1024, 683), (767, 1024), (1365, 2048)]
    sizes += [tuple(int(v) for v in rng.integers(1, 6000, 2)) for _ in range(3000)]
    sides = [1, 2, 7, 64, 256, 512, 1024, 1333, 2048, 4096]
    for h, w in sizes:
        for side in sides:
            got = long_side_shape(h, w, side)
            assert got == sam_resize_longest_side(h, w, side), (h, w, side)
            assert all(isinstance(v, int) for v in got)
            assert max(got) == side, (h, w, side)  # the long side is exact
    assert long_side_shape(1500, 2250, 1024) == (683, 1024)
    assert long_side_shape(1500, 2250, 256) == (171, 256)
    assert long_side_shape(2250, 1500, 1024) == (1024, 683)


@pytest.mark.parametrize("side", [0, -1, -1024])
def test_long_side_shape_rejects_a_non_positive_side(side: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        long_side_shape(100, 200, side)


def test_shard_name_and_export_path(tmp_path: Path) -> None:
    assert shard_name("/data/sa_000020.tar") == "sa_000020"
    assert shard_name("/data/sa_000020.tar.gz") == "sa_000020"
    assert shard_name("/data/sa_000020.tgz") == "sa_000020"
    assert shard_name("/data/sa_000020/") == "sa_000020"
    assert export_path(str(tmp_path), "/x/sa_7.tar") == str(tmp_path / "sa_7.sarle")


def test_exported_shard_is_reachable_from_sa1b() -> None:
    assert sa1b.ExportedShard is ExportedShard


# --------------------------------------------------------------------------- contents


@pytest.mark.parametrize("long_side", LONG_SIDES)
def test_export_equals_the_records(tmp_path: Path, shard: Path, long_side: int) -> None:
    result = export_shard(str(shard), str(tmp_path), long_side=long_side, label_map=True)
    records = records_of(shard)
    assert result.path == str(tmp_path / "all.sarle")
    assert not result.already_done and result.skipped == []
    assert result.images == len(records) == len(IMAGES)
    assert result.masks == sum(n for _, _, n, _ in IMAGES)
    assert result.seconds > 0
    check_export(result.path, shard, long_side, label_map=True)
    assert leftovers(tmp_path) == []


def test_export_without_label_maps(tmp_path: Path, shard: Path) -> None:
    result = export_shard(str(shard), str(tmp_path), long_side=64)
    check_export(result.path, shard, 64, label_map=False)
    assert os.path.getsize(os.path.join(result.path, "labels.bin")) == 0
    assert (ExportedShard(result.path).table[:, 7] == -1).all()


def test_the_layout_is_the_documented_one(tmp_path: Path, shard: Path) -> None:
    """masks.bin is np.packbits of each C-order mask, back to back; image_table says where."""
    path = export_shard(str(shard), str(tmp_path), long_side=48, label_map=True).path
    names = sorted(os.listdir(path))
    assert names == sorted(["meta.json", "keys.npy", "image_table.npy", "masks.bin", "labels.bin"]
                           + [f"{stem}.npy" for stem in export.MASK_COLUMNS])
    table = np.load(os.path.join(path, "image_table.npy"))
    keys = np.load(os.path.join(path, "keys.npy")).tolist()
    bits = np.fromfile(os.path.join(path, "masks.bin"), dtype=np.uint8)
    labels = np.fromfile(os.path.join(path, "labels.bin"), dtype=np.uint8)
    records = records_of(shard)
    assert keys == list(records)
    assert table.dtype == np.int64 and table.shape == (len(records), 8)
    offset = labels_offset = first = 0
    for row, (key, record) in zip(table, records.items()):
        h2, w2 = long_side_shape(record.height, record.width, 48)
        n = len(record)
        assert row.tolist() == [h2, w2, record.height, record.width, first, n, offset, labels_offset]
        packed = np.packbits(record.masks(size=(h2, w2)).reshape(n, h2 * w2), axis=1)
        assert bits[offset : offset + packed.size].tobytes() == packed.tobytes(), key
        label_bytes = record.label_map(size=(h2, w2), paint="area", dtype=np.uint16).tobytes()
        assert labels[labels_offset : labels_offset + len(label_bytes)].tobytes() == label_bytes, key
        offset += packed.size
        labels_offset += len(label_bytes)
        first += n
    assert offset == bits.size and labels_offset == labels.size
    ids = np.load(os.path.join(path, "ids.npy"))
    assert ids.tolist() == [int(a["id"]) for r in records.values() for a in r.annotations]


def test_masks_with_indices(tmp_path: Path, shard: Path) -> None:
    exported = ExportedShard(export_shard(str(shard), str(tmp_path), long_side=80).path)
    records = records_of(shard)
    record = records["sa_1"]
    size = exported.shape("sa_1")
    full = record.masks(size=size)
    n = len(record)
    for indices in ([0], [n - 1], [3, 1, 3], [-1, 0], list(range(n)), np.array([2, 5], dtype=np.int32),
                    np.arange(n) % 2 == 0):
        got = exported.masks("sa_1", indices)
        want = full[np.asarray(indices)]
        assert got.shape == want.shape and np.array_equal(got, want), indices
        assert np.array_equal(got, record.masks(size=size, indices=indices)), indices
    with pytest.raises(IndexError):
        exported.masks("sa_1", [n])
    # an image without masks
    assert exported["sa_4"].shape == (0, *exported.shape("sa_4"))
    assert exported.masks("sa_4", np.zeros(0, dtype=np.int64)).shape == (0, *exported.shape("sa_4"))


def test_masks_with_an_empty_index_list(tmp_path: Path, shard: Path) -> None:
    """``masks(key, [])`` is the ``(0, h, w)`` of ``record.masks(indices=[])``.

    BUG (sarle/export.py, ExportedShard.masks: ``packed[np.asarray(indices)]``):
    ``np.asarray([])`` is float64, so an empty list raises ``IndexError: arrays
    used as indices must be of integer (or boolean) type``, where
    ``ImageRecord.masks(indices=[])`` returns an empty ``(0, h, w)`` array.
    """
    exported = ExportedShard(export_shard(str(shard), str(tmp_path), long_side=80).path)
    size = exported.shape("sa_1")
    want = records_of(shard)["sa_1"].masks(size=size, indices=[])
    assert want.shape == (0, *size)
    got = exported.masks("sa_1", [])
    assert got.shape == want.shape


def test_arrays_are_memory_mapped(tmp_path: Path, shard: Path) -> None:
    path = export_shard(str(shard), str(tmp_path), long_side=64, label_map=True).path
    exported = ExportedShard(path)
    for stem, column in exported.columns.items():
        assert isinstance(column, np.memmap), stem
        assert not column.flags.writeable, stem
    labels = exported.label_map("sa_1")
    assert isinstance(labels, np.memmap)  # a view of labels.bin, no copy
    assert not labels.flags.writeable
    assert isinstance(exported._bits, np.memmap) and not exported._bits.flags.writeable
    maps = Path("/proc/self/maps")
    if maps.exists():  # the OS agrees: the files are mapped into this process
        mapped = maps.read_text()
        for name in ("masks.bin", "labels.bin", "ids.npy", "point_coords.npy"):
            assert os.path.join(os.path.realpath(path), name) in mapped, name


def test_an_empty_shard(tmp_path: Path) -> None:
    shard = write_tar(tmp_path / "in" / "sa_empty.tar", [])
    result = export_shard(str(shard), str(tmp_path / "out"), long_side=64, label_map=True)
    assert (result.images, result.masks, result.skipped) == (0, 0, [])
    exported = ExportedShard(result.path)
    assert len(exported) == 0 and list(exported) == []
    assert exported.table.shape == (0, 8)
    assert exported.columns["bboxes"].shape == (0, 4)
    assert exported.columns["point_coords"].shape == (0, 2)


def test_a_directory_of_extracted_files(tmp_path: Path, dicts: List[Dict[str, Any]], shard: Path) -> None:
    folder = tmp_path / "sa_000042"
    folder.mkdir()
    for name, data in members_for(dicts):
        (folder / name).write_bytes(data)
    result = export_shard(str(folder) + os.sep, str(tmp_path / "out"), long_side=64, label_map=True)
    assert result.path == str(tmp_path / "out" / "sa_000042.sarle")
    check_export(result.path, folder, 64, label_map=True)


# --------------------------------------------------------------------------- atomicity


class Interrupted(KeyboardInterrupt):
    pass


def _interrupt_at(where: str, monkeypatch: pytest.MonkeyPatch, error: BaseException,
                  seen: Dict[str, Any]) -> None:
    """Make the export fail at ``where``; ``seen`` records the out dir at that moment."""

    def fail() -> None:
        out = seen["out"]
        seen["entries"] = sorted(os.listdir(out))
        partial = [n for n in seen["entries"] if n.endswith(".partial")]
        seen["partial_files"] = sorted(os.listdir(os.path.join(out, partial[0]))) if partial else []
        raise error

    if where == "decoding":  # the second image's masks, with the first one's already written
        original = sa1b.ImageRecord.masks
        calls = [0]

        def masks(self: sa1b.ImageRecord, *args: Any, **kwargs: Any) -> np.ndarray:
            calls[0] += 1
            if calls[0] == 2:
                fail()
            return original(self, *args, **kwargs)

        monkeypatch.setattr(sa1b.ImageRecord, "masks", masks)
    elif where == "index":  # the second .npy of the index
        original_save = np.save
        saves = [0]

        def save(*args: Any, **kwargs: Any) -> None:
            saves[0] += 1
            if saves[0] == 2:
                fail()
            original_save(*args, **kwargs)

        monkeypatch.setattr(export.np, "save", save)
    elif where == "meta":
        monkeypatch.setattr(export.json, "dump", lambda *a, **k: fail())
    elif where == "fsync":  # everything written, not yet renamed
        monkeypatch.setattr(export, "_fsync_dir", lambda path: fail())
    elif where == "rename":
        monkeypatch.setattr(export.os, "rename", lambda src, dst: fail())
    else:  # pragma: no cover
        raise AssertionError(where)


@pytest.mark.parametrize("error", [Interrupted(), OSError(28, "No space left on device")],
                         ids=["KeyboardInterrupt", "OSError"])
@pytest.mark.parametrize("where", ["decoding", "index", "meta", "fsync", "rename"])
def test_an_interrupted_export_leaves_nothing(tmp_path: Path, shard: Path, monkeypatch: pytest.MonkeyPatch,
                                             where: str, error: BaseException) -> None:
    reference = export_shard(str(shard), str(tmp_path / "reference"), long_side=64, label_map=True)
    out = tmp_path / "out"
    seen: Dict[str, Any] = {"out": str(out)}
    with monkeypatch.context() as patch:
        _interrupt_at(where, patch, error, seen)
        with pytest.raises(type(error)):
            export_shard(str(shard), str(out), long_side=64, label_map=True)
    # it was interrupted midway: a temporary directory existed, with files in it ...
    assert [n for n in seen["entries"] if n.endswith(".partial")], seen
    assert "masks.bin" in seen["partial_files"]
    assert not any(n.endswith(".sarle") for n in seen["entries"])
    # ... and is gone: no export, no temporary directory
    assert os.listdir(out) == []
    assert read_meta(str(out / "all.sarle")) is None
    # the rerun completes, and gives the same bytes as an uninterrupted export
    result = export_shard(str(shard), str(out), long_side=64, label_map=True)
    assert not result.already_done
    assert os.listdir(out) == ["all.sarle"]
    assert file_bytes(result.path) == file_bytes(reference.path)
    check_export(result.path, shard, 64, label_map=True)


def test_a_stale_temporary_directory_does_not_block_a_rerun(tmp_path: Path, shard: Path) -> None:
    """A job killed with SIGKILL cannot clean up; its ``.partial`` directory must not stop the rerun."""
    stale = tmp_path / ".all.killed.partial"
    stale.mkdir()
    (stale / "masks.bin").write_bytes(b"\0" * 10)
    result = export_shard(str(shard), str(tmp_path), long_side=32)
    check_export(result.path, shard, 32, label_map=False)


def test_a_rerun_after_success_rewrites_nothing(tmp_path: Path, shard: Path) -> None:
    first = export_shard(str(shard), str(tmp_path), long_side=64, label_map=True)
    before = snapshot(first.path)
    contents = file_bytes(first.path)
    again = export_shard(str(shard), str(tmp_path), long_side=64, label_map=True)
    assert again.already_done
    assert (again.path, again.images, again.masks, again.skipped) == (
        first.path, first.images, first.masks, first.skipped)
    assert snapshot(first.path) == before  # same inodes, same mtimes
    assert file_bytes(first.path) == contents
    assert sorted(os.listdir(tmp_path)) == ["all.sarle"]


@pytest.mark.parametrize("long_side, label_map", [(128, True), (64, False), (1024, False)])
def test_other_settings_are_an_error(tmp_path: Path, shard: Path, long_side: int, label_map: bool) -> None:
    first = export_shard(str(shard), str(tmp_path), long_side=64, label_map=True)
    before = snapshot(first.path)
    with pytest.raises(ValueError, match="exported with long side 64 and label_map True"):
        export_shard(str(shard), str(tmp_path), long_side=long_side, label_map=label_map)
    assert snapshot(first.path) == before
    assert sorted(os.listdir(tmp_path)) == ["all.sarle"]


def test_an_unfinished_target_is_an_error(tmp_path: Path, shard: Path) -> None:
    (tmp_path / "all.sarle").mkdir()
    (tmp_path / "all.sarle" / "masks.bin").write_bytes(b"\1\2")
    with pytest.raises(ValueError, match="not a finished export"):
        export_shard(str(shard), str(tmp_path), long_side=64)
    assert (tmp_path / "all.sarle" / "masks.bin").read_bytes() == b"\1\2"


# --------------------------------------------------------------------------- corrupt exports


def _truncate(path: str, keep: float = 0.5) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(int(size * keep))


CORRUPTIONS = {
    "no meta.json": lambda p: os.remove(os.path.join(p, "meta.json")),
    "meta.json not JSON": lambda p: Path(p, "meta.json").write_text("{\"format\": "),
    "another format": lambda p: Path(p, "meta.json").write_text(
        json.dumps({**json.loads(Path(p, "meta.json").read_text()), "format": "sarle-export/99"})),
    "no masks.bin": lambda p: os.remove(os.path.join(p, "masks.bin")),
    "no labels.bin": lambda p: os.remove(os.path.join(p, "labels.bin")),
    "no keys.npy": lambda p: os.remove(os.path.join(p, "keys.npy")),
    "truncated keys.npy": lambda p: _truncate(os.path.join(p, "keys.npy")),
    "no image_table.npy": lambda p: os.remove(os.path.join(p, "image_table.npy")),
    "truncated image_table.npy": lambda p: _truncate(os.path.join(p, "image_table.npy"), 0.9),
    "image_table.npy one row short": lambda p: np.save(
        os.path.join(p, "image_table.npy"), np.load(os.path.join(p, "image_table.npy"))[:-1]),
    "truncated ids.npy": lambda p: _truncate(os.path.join(p, "ids.npy"), 0.9),
    "no point_coords.npy": lambda p: os.remove(os.path.join(p, "point_coords.npy")),
    "truncated masks.bin": lambda p: _truncate(os.path.join(p, "masks.bin")),
    "masks.bin one byte short": lambda p: _truncate(
        os.path.join(p, "masks.bin"), 1 - 1 / os.path.getsize(os.path.join(p, "masks.bin"))),
    "truncated labels.bin": lambda p: _truncate(os.path.join(p, "labels.bin")),
}

#: Truncated data files are not detected when the export is opened (see the test's docstring).
_OPEN_DOES_NOT_CHECK_SIZES = {"truncated masks.bin", "masks.bin one byte short", "truncated labels.bin"}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupt_export_is_a_value_error_on_open(tmp_path: Path, shard: Path, corruption: str) -> None:
    """Opening a damaged export raises ValueError naming it.

    BUG for the truncated ``masks.bin`` / ``labels.bin`` cases
    (sarle/export.py, ExportedShard.__init__ and ``_map``: only existence is
    checked, never that the files are as long as ``image_table`` says): the
    export opens, the first images read fine, and only a later ``shard[key]``
    fails, with numpy's ``cannot reshape array of size ... into shape ...``
    (or ``label_map`` likewise), no path in the message. Expected: ValueError
    from ``ExportedShard(path)``, as for every other damaged file.
    """
    path = export_shard(str(shard), str(tmp_path), long_side=64, label_map=True).path
    CORRUPTIONS[corruption](path)
    with pytest.raises(ValueError, match=r"sarle|meta\.json|index|missing|inconsistent|short|size|trunc"):
        ExportedShard(path)


@pytest.mark.parametrize("corruption", sorted(_OPEN_DOES_NOT_CHECK_SIZES))
def test_a_truncated_data_file_never_reads_as_masks(tmp_path: Path, shard: Path, corruption: str) -> None:
    """What the current code does give: reading an image cut short raises, never returns wrong bits."""
    path = export_shard(str(shard), str(tmp_path), long_side=64, label_map=True).path
    CORRUPTIONS[corruption](path)
    try:
        exported = ExportedShard(path)
    except ValueError:
        return
    records = records_of(shard)
    failures = 0
    for key, record in records.items():
        size = exported.shape(key)
        try:
            masks, labels = exported[key], exported.label_map(key)
        except ValueError:
            failures += 1
            continue
        assert np.array_equal(masks, record.masks(size=size)), key
        assert np.array_equal(labels, record.label_map(size=size, paint="area", dtype=np.uint16)), key
    assert failures >= 1


# --------------------------------------------------------------------------- on_error


def test_on_error_skip_lists_what_was_left_out(tmp_path: Path, bad_shard: Dict[str, Any]) -> None:
    path = bad_shard["path"]
    result = export_shard(str(path), str(tmp_path), long_side=64, on_error="skip")
    assert not result.already_done
    assert result.images == 1
    assert len(result.skipped) == 3
    for member in bad_shard["members"]:
        assert sum(member in line for line in result.skipped) == 1, (member, result.skipped)
    assert all(line.startswith(f"{path}: ") for line in result.skipped)
    meta = read_meta(result.path)
    assert meta is not None and meta["skipped"] == result.skipped
    exported = ExportedShard(result.path)
    assert list(exported) == bad_shard["good"]
    record = records_of(bad_shard["good_shard"])["sa_1"]
    assert np.array_equal(exported["sa_1"], record.masks(size=exported.shape("sa_1")))
    # a rerun reports the same skipped samples
    again = export_shard(str(path), str(tmp_path), long_side=64, on_error="skip")
    assert again.already_done and again.skipped == result.skipped
    assert leftovers(tmp_path) == []


def test_on_error_skip_names_the_shard_once(tmp_path: Path, bad_shard: Dict[str, Any]) -> None:
    """A record that fails to decode is reported as ``<shard>: <member>: annotation i ...``.

    BUG (sarle/export.py, _write: ``f"{reader.name}: {error}"`` in both the
    skip and the raise branch): the record's errors already start with
    ``<shard>: <member>``, so the shard path is written twice, e.g.
    ``/x/bad.tar: /x/bad.tar: sa_3.json: annotation 1 (id ...): counts: run
    lengths sum to ...``. The other skipped lines name it once.
    """
    path = str(bad_shard["path"])
    result = export_shard(path, str(tmp_path), long_side=64, on_error="skip")
    line = next(line for line in result.skipped if "sa_3.json" in line)
    assert line.startswith(f"{path}: sa_3.json: annotation 1 "), line
    assert line.count(path) == 1, line
    with pytest.raises(ValueError) as raised:
        export_shard(path, str(tmp_path / "raise"), long_side=64)
    assert str(raised.value).count(path) == 1, str(raised.value)


def test_on_error_raise_names_the_member_and_writes_nothing(tmp_path: Path, bad_shard: Dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"sa_3\.json: annotation 1 .*run lengths sum"):
        export_shard(str(bad_shard["path"]), str(tmp_path), long_side=64)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- the command, in process


def run_main(capsys: pytest.CaptureFixture, *args: Any) -> Tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_export_json(tmp_path: Path, two_shards: List[Path], capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run_main(capsys, "export", *two_shards, "--out", out, "--size", 256, "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    paths = [str(out / "sa_000000.sarle"), str(out / "sa_000001.sarle")]
    assert summary["exported"] == paths
    assert summary["already_done"] == [] and summary["failed"] == {} and summary["skipped_samples"] == []
    assert (summary["out"], summary["long_side"], summary["label_map"]) == (str(out), 256, False)
    records = [records_of(s) for s in two_shards]
    assert summary["images"] == sum(len(r) for r in records)
    assert summary["masks"] == sum(len(rec) for r in records for rec in r.values())
    assert summary["where"] == "in process"
    for path, shard in zip(paths, two_shards):
        check_export(path, shard, 256, label_map=False)
    # the rerun skips both
    before = [snapshot(p) for p in paths]
    code, stdout, stderr = run_main(capsys, "export", *two_shards, "--out", out, "--size", 256, "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["exported"] == [] and summary["already_done"] == paths and summary["failed"] == {}
    assert (summary["images"], summary["masks"]) == (0, 0)
    assert [snapshot(p) for p in paths] == before


def test_cli_export_label_map_text(tmp_path: Path, two_shards: List[Path], capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run_main(capsys, "export", *two_shards, "--out", out, "--size", 100, "--label-map")
    assert code == 0, stderr
    images = sum(len(records_of(s)) for s in two_shards)
    masks = sum(n for _, _, n, _ in IMAGES)
    assert stdout.startswith(f"exported 2 shard(s) ({images} images, {masks} masks) to {out} at long side 100 in ")
    assert stdout.splitlines()[0].endswith("(in process)")
    for shard in two_shards:
        check_export(str(out / f"{shard_name(str(shard))}.sarle"), shard, 100, label_map=True)
    code, stdout, stderr = run_main(capsys, "export", *two_shards, "--out", out, "--size", 100, "--label-map")
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith(f"exported 0 shard(s) (0 images, 0 masks) to {out}")
    assert lines[1] == "already done, skipped: 2 shard(s) (sa_000000.sarle, sa_000001.sarle)"
    # other settings for the same out dir: both shards fail, by name, and nothing changes
    code, stdout, stderr = run_main(capsys, "export", *two_shards, "--out", out, "--size", 64, "--json")
    assert code == 1
    failed = json.loads(stdout)["failed"]
    assert sorted(failed) == sorted(str(s) for s in two_shards)
    assert all("exported with long side 100" in error for error in failed.values())


def test_cli_export_a_failing_shard(tmp_path: Path, two_shards: List[Path], capsys: pytest.CaptureFixture) -> None:
    """A shard that cannot be read is retried, then reported by name; the others are exported."""
    broken = tmp_path / "in" / "sa_000002.tar"
    broken.parent.mkdir()
    broken.write_bytes(b"this is not a tar file" * 50)
    out = tmp_path / "out"
    code, stdout, stderr = run_main(capsys, "export", two_shards[0], broken, two_shards[1],
                                    "--out", out, "--size", 64, "--json", "--retries", 1)
    assert code == 1
    summary = json.loads(stdout)
    assert list(summary["failed"]) == [str(broken)]
    assert str(broken) in summary["failed"][str(broken)]
    assert "cannot read the tar" in summary["failed"][str(broken)]
    assert summary["exported"] == [str(out / "sa_000000.sarle"), str(out / "sa_000001.sarle")]
    assert sorted(os.listdir(out)) == ["sa_000000.sarle", "sa_000001.sarle"]  # nothing half-written
    # text: the failure is on stderr, with the shard's name
    code, stdout, stderr = run_main(capsys, "export", two_shards[0], broken, two_shards[1],
                                    "--out", out, "--size", 64)
    assert code == 1
    assert "already done, skipped: 2 shard(s)" in stdout
    assert stderr.splitlines()[0] == "failed: 1 shard(s):"
    assert stderr.splitlines()[1].startswith(f"  {broken}: ")


def test_cli_export_on_error_skip(tmp_path: Path, bad_shard: Dict[str, Any], capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = run_main(capsys, "export", bad_shard["path"], "--out", out, "--size", 64,
                                    "--on-error", "skip", "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["exported"] == [str(out / "bad.sarle")]
    assert len(summary["skipped_samples"]) == 3
    assert summary["skipped_samples"] == read_meta(str(out / "bad.sarle"))["skipped"]
    code, stdout, stderr = run_main(capsys, "export", bad_shard["path"], "--out", tmp_path / "raise",
                                    "--size", 64, "--retries", 0, "--json")
    assert code == 1
    assert "sa_3.json" in json.loads(stdout)["failed"][str(bad_shard["path"])]
    assert leftovers(tmp_path / "raise") == []


def test_cli_export_same_basename_is_an_error(tmp_path: Path, dicts: List[Dict[str, Any]],
                                              capsys: pytest.CaptureFixture) -> None:
    a = write_tar(tmp_path / "a" / "sa_000001.tar", members_for(dicts[:1]))
    b = write_tar(tmp_path / "b" / "sa_000001.tar", members_for(dicts[1:2]))
    c = write_tar(tmp_path / "c" / "sa_000001.tar.gz", members_for(dicts[2:3]))
    for pair in ((a, b), (a, c)):
        code, stdout, stderr = run_main(capsys, "export", *pair, "--out", tmp_path / "out")
        assert code == 1 and stdout == ""
        assert stderr.strip() == ("sarle export: error: shards with the same name would share an export:"
                                  " sa_000001")
        assert not (tmp_path / "out").exists()


def test_cli_export_a_missing_shard(tmp_path: Path, two_shards: List[Path], capsys: pytest.CaptureFixture) -> None:
    """A path that does not exist is refused before anything runs (like the other commands)."""
    missing = tmp_path / "nope" / "sa_000009.tar"
    code, stdout, stderr = run_main(capsys, "export", two_shards[0], missing, "--out", tmp_path / "out")
    assert code == 1 and stdout == ""
    assert stderr.strip() == f"sarle export: error: {missing}: no such file or directory"
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the command, as a subprocess


def run_sarle(*args: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sarle", *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=120)


def test_subprocess_export(tmp_path: Path, two_shards: List[Path]) -> None:
    garbage = tmp_path / "in" / "sa_000004.tar"
    garbage.parent.mkdir()
    garbage.write_bytes(b"garbage" * 100)
    out = tmp_path / "out"
    result = run_sarle("export", *two_shards, garbage, "--out", out, "--size", 32, "--json", "--retries", 0)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["exported"] == [str(out / "sa_000000.sarle"), str(out / "sa_000001.sarle")]
    assert list(summary["failed"]) == [str(garbage)]
    for shard in two_shards:
        check_export(str(out / f"{shard_name(str(shard))}.sarle"), shard, 32, label_map=False)
    # text summary of a rerun: done before, the failure again
    result = run_sarle("export", *two_shards, garbage, "--out", out, "--size", 32, "--retries", 0)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"exported 0 shard(s) (0 images, 0 masks) to {out} at long side 32")
    assert lines[1] == "already done, skipped: 2 shard(s) (sa_000000.sarle, sa_000001.sarle)"
    assert result.stderr.splitlines()[0] == "failed: 1 shard(s):"
    assert result.stderr.splitlines()[1].startswith(f"  {garbage}: ")
    # and a missing path: one line, exit status 1
    result = run_sarle("export", tmp_path / "missing.tar", "--out", out)
    assert result.returncode == 1
    assert result.stderr.strip() == f"sarle export: error: {tmp_path / 'missing.tar'}: no such file or directory"
    assert sorted(os.listdir(out)) == ["sa_000000.sarle", "sa_000001.sarle"]


def test_subprocess_export_help_lists_the_options() -> None:
    result = run_sarle("export", "--help")
    assert result.returncode == 0
    for option in ("--out", "--size", "--label-map", "--on-error", "--json", "--scheduler", "--workers",
                   "--retries"):
        assert option in result.stdout, option


# --------------------------------------------------------------------------- a DataLoader


class MaskDataset:
    """The training use: open the export in each worker, read an image's masks by index."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.keys = list(ExportedShard(path))
        self.shard: Optional[ExportedShard] = None

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> Tuple[str, np.ndarray, np.ndarray, int]:
        import torch.utils.data

        if self.shard is None:
            self.shard = ExportedShard(self.path)
        key = self.keys[index]
        worker = torch.utils.data.get_worker_info()
        labels = np.array(self.shard.label_map(key))  # a copy: torch wants writable arrays
        return key, self.shard[key], labels, -1 if worker is None else worker.id


# Python >= 3.12 warns when a process with threads forks (DataLoader workers fork on Linux).
@pytest.mark.filterwarnings(r"ignore:This process \(pid=\d+\) is multi-threaded, use of fork\(\):DeprecationWarning")
def test_a_dataloader_reads_the_same_masks(tmp_path: Path, shard: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, Dataset

    class TorchMasks(MaskDataset, Dataset):
        pass

    path = export_shard(str(shard), str(tmp_path), long_side=128, label_map=True).path
    records = records_of(shard)
    dataset = TorchMasks(path)
    loader = DataLoader(dataset, batch_size=None, shuffle=False, num_workers=2)
    seen = {}
    workers = set()
    for key, masks, labels, worker in loader:
        assert isinstance(masks, torch.Tensor) and masks.dtype == torch.bool
        seen[key] = (masks.numpy(), labels.numpy())
        workers.add(int(worker))
    assert workers <= {0, 1} and workers  # read in the worker processes
    assert list(seen) == list(records)
    for key, record in records.items():
        size = long_side_shape(record.height, record.width, 128)
        masks, labels = seen[key]
        assert np.array_equal(masks, record.masks(size=size)), key
        assert np.array_equal(labels, record.label_map(size=size, paint="area", dtype=np.uint16)), key


def test_a_rerun_removes_what_killed_writers_left_behind(shard: Path, tmp_path: Path) -> None:
    """A ``.partial`` directory of a dead writer on this host goes; a live writer's stays."""
    import socket

    name = shard_name(str(shard))
    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    abandoned = tmp_path / f".{name}.{host}.{dead}.x1y2.partial"
    alive = tmp_path / f".{name}.{host}.{os.getpid()}.x1y2.partial"
    elsewhere = tmp_path / f".{name}.another-host.{dead}.x1y2.partial"
    for directory in (abandoned, alive, elsewhere):
        directory.mkdir()
        (directory / "masks.bin").write_bytes(b"half")
    done = export_shard(str(shard), str(tmp_path), long_side=16)
    assert not abandoned.exists()
    assert alive.exists() and elsewhere.exists()
    check_export(done.path, shard, 16, False)
