"""Training-ready exports: SA-1B masks decoded once, at training resolution.

``export_shard`` reads an SA-1B shard and writes, next to the other shards'
exports, one directory ``<shard>.sarle/`` holding every image's masks
resampled so that the image's long side is ``long_side`` pixels (SAM's
``ResizeLongestSide`` rule, :func:`long_side_shape`), bit-packed, plus an
index. Every file is a raw ``.npy`` or a flat byte file, so
:class:`ExportedShard` memory-maps them and a DataLoader worker reads one
image's masks with ``np.unpackbits`` of a slice: no JSON, no RLE decode.

Layout of ``<shard>.sarle/``:

=====================  ==========================================================
``meta.json``          format, shard, long side, label map or not, counts, what
                       was skipped and why, sarle version
``keys.npy``           ``(images,)`` unicode: the sample keys (``sa_N``)
``image_table.npy``    ``(images, 8)`` int64: height, width (exported), original
                       height, width, first mask, mask count, byte offset of the
                       masks in ``masks.bin``, byte offset of the label map in
                       ``labels.bin`` (-1 without ``--label-map``)
``masks.bin``          per image, ``count`` masks of ``ceil(h * w / 8)`` bytes:
                       ``np.packbits`` of each C-order ``(h, w)`` mask
``labels.bin``         with ``label_map=True``: per image a C-order ``(h, w)``
                       uint16 label map (0 background, ``i + 1`` mask ``i``,
                       smaller masks on top)
``ids.npy`` ...        per mask, in image order: ``ids``, ``areas`` (original
                       pixels), ``bboxes`` (stored, SA-1B convention),
                       ``predicted_iou``, ``stability_score``, ``point_coords``,
                       ``crop_boxes``
=====================  ==========================================================

Writes are atomic: everything goes to a temporary directory beside the
target (``.<shard>.<host>.<pid>.*.partial``), which is renamed into place
only when complete, so an interrupted job leaves no half-written export and
a rerun skips finished shards (and removes temporary directories that
killed writers on this host left behind).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from . import __version__, sa1b

FORMAT = "sarle-export/1"
SUFFIX = ".sarle"

#: Per-mask columns of an export: file stem -> ImageRecord attribute.
MASK_COLUMNS = {
    "ids": "ids",
    "areas": "areas",
    "bboxes": "bboxes",
    "predicted_iou": "predicted_iou",
    "stability_score": "stability_score",
    "point_coords": "point_coords",
    "crop_boxes": "crop_boxes",
}

# image_table columns
_H, _W, _OH, _OW, _FIRST, _COUNT, _OFFSET, _LABELS = range(8)


def long_side_shape(height: int, width: int, long_side: int) -> Tuple[int, int]:
    """``(h2, w2)`` with the long side ``long_side``: SAM's ``ResizeLongestSide`` rule.

    ``scale = long_side / max(h, w)``, then ``int(h * scale + 0.5)`` and
    ``int(w * scale + 0.5)``.

    >>> long_side_shape(1500, 2250, 1024)
    (683, 1024)
    """
    if long_side <= 0:
        raise ValueError(f"the long side must be positive, got {long_side}")
    scale = long_side * 1.0 / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def shard_name(path: str) -> str:
    """``sa_000020`` for ``.../sa_000020.tar`` (or ``.tar.gz``, or a directory)."""
    base = os.path.basename(os.path.normpath(path))
    for suffix in (".tar.gz", ".tgz", ".tar"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def export_path(out_dir: str, shard: str) -> str:
    """Where :func:`export_shard` puts the export of ``shard``."""
    return os.path.join(out_dir, shard_name(shard) + SUFFIX)


@dataclass
class ExportResult:
    """What :func:`export_shard` did for one shard."""

    shard: str
    path: str
    images: int = 0
    masks: int = 0
    seconds: float = 0.0
    already_done: bool = False
    skipped: List[str] = field(default_factory=list)


def _settings(long_side: int, label_map: bool) -> Dict[str, Any]:
    return {"format": FORMAT, "long_side": int(long_side), "label_map": bool(label_map)}


def read_meta(path: str) -> Optional[Dict[str, Any]]:
    """The ``meta.json`` of a finished export, or None if there is none."""
    try:
        with open(os.path.join(path, "meta.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def export_shard(
    shard: str,
    out_dir: str,
    *,
    long_side: int = 1024,
    label_map: bool = False,
    on_error: str = "raise",
    threads: Optional[int] = 1,
    progress: Any = None,
) -> ExportResult:
    """Export one shard to ``out_dir/<shard>.sarle/`` (see the module docstring).

    A finished export with the same settings is left alone
    (``already_done=True``); one with other settings is an error. With
    ``on_error="skip"``, samples that cannot be read are left out and
    listed in ``meta.json`` and in the result, never dropped silently.
    """
    start = time.perf_counter()
    name = shard_name(shard)
    final = export_path(out_dir, shard)
    settings = _settings(long_side, label_map)
    meta = read_meta(final)
    if meta is not None:
        if {k: meta.get(k) for k in settings} != settings:
            raise ValueError(
                f"{final} was exported with long side {meta.get('long_side')} and label_map"
                f" {meta.get('label_map')} ({meta.get('format')}); remove it or export elsewhere"
            )
        return ExportResult(shard, final, meta["images"], meta["masks"], 0.0, True, meta["skipped"])
    if os.path.exists(final):
        raise ValueError(f"{final} exists but is not a finished export; remove it")
    os.makedirs(out_dir, exist_ok=True)
    _remove_abandoned(out_dir, name)
    temporary = tempfile.mkdtemp(prefix=_partial_prefix(name), suffix=".partial", dir=out_dir)
    try:
        result = _write(shard, temporary, long_side, label_map, on_error, threads, progress)
        result.path = final
        meta = {
            **settings,
            "shard": name,
            "source": os.path.abspath(shard),
            "images": result.images,
            "masks": result.masks,
            "skipped": result.skipped,
            "sarle": __version__,
        }
        with open(os.path.join(temporary, "meta.json"), "w", encoding="utf-8") as handle:
            json.dump(meta, handle, indent=1)
        _fsync_dir(temporary)
        os.rename(temporary, final)
        _fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    result.seconds = time.perf_counter() - start
    return result


def _partial_prefix(name: str) -> str:
    """``.<shard>.<host>.<pid>.``: whose temporary directory this is."""
    return f".{name}.{socket.gethostname()}.{os.getpid()}."


def _remove_abandoned(out_dir: str, name: str) -> None:
    """Remove this host's temporary directories for ``name`` whose writer is dead.

    A writer killed outright (SIGKILL, power loss) leaves its ``.partial``
    directory behind; a rerun removes it. Directories of live processes and
    of other hosts are left alone.
    """
    prefix = f".{name}.{socket.gethostname()}."
    try:
        entries = os.listdir(out_dir)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".partial")):
            continue
        pid_text = entry[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        shutil.rmtree(os.path.join(out_dir, entry), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process
        return True
    return True


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write(
    shard: str,
    directory: str,
    long_side: int,
    label_map: bool,
    on_error: str,
    threads: Optional[int],
    progress: Any,
) -> ExportResult:
    keys: List[str] = []
    table: List[List[int]] = []
    columns: Dict[str, List[np.ndarray]] = {stem: [] for stem in MASK_COLUMNS}
    result = ExportResult(shard, directory)
    reader = sa1b.iter_shard(shard, images=False, on_error=on_error)
    reader.warn = False  # what is skipped goes to meta.json and the result
    masks_path = os.path.join(directory, "masks.bin")
    labels_path = os.path.join(directory, "labels.bin")
    with open(masks_path, "wb") as masks_file, open(labels_path, "wb") as labels_file:
        for sample in reader:
            record = sample.record
            h, w = record.height, record.width
            h2, w2 = long_side_shape(h, w, long_side)
            n = len(record)
            offset = masks_file.tell()
            if n:
                try:
                    masks = record.masks(size=(h2, w2), threads=threads)
                except ValueError as error:
                    if on_error == "raise":
                        raise
                    result.skipped.append(str(error))
                    continue
                masks_file.write(np.packbits(masks.reshape(n, h2 * w2), axis=1).tobytes())
            labels_offset = -1
            if label_map:
                labels_offset = labels_file.tell()
                if n >= 65535:
                    raise ValueError(f"{reader.name}: {sample.key}: {n} masks do not fit uint16 labels")
                labels = record.label_map(size=(h2, w2), paint="area", dtype=np.uint16)
                labels_file.write(np.ascontiguousarray(labels).tobytes())
            first = result.masks
            table.append([h2, w2, h, w, first, n, offset, labels_offset])
            keys.append(sample.key)
            for stem, attribute in MASK_COLUMNS.items():
                columns[stem].append(np.asarray(getattr(record, attribute)))
            result.images += 1
            result.masks += n
            if progress is not None:
                progress.update(images=1, masks=n)
        result.skipped.extend(str(s) for s in reader.skipped)
        masks_file.flush()
        os.fsync(masks_file.fileno())
        labels_file.flush()
        os.fsync(labels_file.fileno())
    np.save(os.path.join(directory, "keys.npy"), np.array(keys, dtype=str) if keys else np.zeros(0, "U1"))
    np.save(os.path.join(directory, "image_table.npy"), np.array(table, dtype=np.int64).reshape(-1, 8))
    empty = sa1b.ImageRecord({"image_id": 0, "width": 1, "height": 1, "file_name": ""}, [])
    for stem, attribute in MASK_COLUMNS.items():
        parts = columns[stem] or [np.asarray(getattr(empty, attribute))]
        np.save(os.path.join(directory, f"{stem}.npy"), np.concatenate(parts))
    return result


class ExportedShard(Mapping[str, np.ndarray]):
    """A finished export, memory-mapped: ``shard[key]`` is that image's masks.

    A read-only mapping from sample key (``"sa_1"``) to the ``(n, h, w)``
    bool masks at the exported resolution, unpacked from the memory-mapped
    bits (no RLE decoding). Safe to open in every DataLoader worker; pages
    are shared through the OS cache.

    >>> import tempfile
    >>> from sarle import sa1b
    >>> out = tempfile.mkdtemp()
    >>> done = export_shard(sa1b.sample_path(), out, long_side=256)
    >>> shard = ExportedShard(done.path)
    >>> masks = shard["sa_1"]
    >>> masks.shape[1:], masks.dtype, len(shard)
    ((192, 256), dtype('bool'), 4)
    """

    def __init__(self, path: str) -> None:
        meta = read_meta(path)
        if meta is None:
            raise ValueError(f"{path}: not a finished sarle export (no readable meta.json)")
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: export format {meta.get('format')!r}, this sarle reads {FORMAT!r}")
        self.path = path
        self.meta = meta
        self.long_side = int(meta["long_side"])
        try:
            self.keys_array = np.load(os.path.join(path, "keys.npy"), allow_pickle=False)
            self.table = np.load(os.path.join(path, "image_table.npy"), allow_pickle=False)
            self.columns = {
                stem: np.load(os.path.join(path, f"{stem}.npy"), mmap_mode="r", allow_pickle=False)
                for stem in MASK_COLUMNS
            }
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: cannot read the index: {error}") from None
        self._bits = _map(os.path.join(path, "masks.bin"))
        self._labels = _map(os.path.join(path, "labels.bin"))
        self._index = {str(key): i for i, key in enumerate(self.keys_array.tolist())}
        if len(self._index) != len(self.keys_array) or self.table.shape != (len(self._index), 8):
            raise ValueError(f"{path}: the index is inconsistent")
        self._check_sizes()

    def _check_sizes(self) -> None:
        """The data files hold exactly what the index says (a cut file is an error now)."""
        t = self.table
        mask_bytes = t[:, _COUNT] * ((t[:, _H] * t[:, _W] + 7) // 8)
        label_bytes = np.where(t[:, _LABELS] >= 0, 2 * t[:, _H] * t[:, _W], 0)
        for name, data, offsets, sizes in (
            ("masks.bin", self._bits, t[:, _OFFSET], mask_bytes),
            ("labels.bin", self._labels, t[:, _LABELS], label_bytes),
        ):
            used = sizes > 0
            expected = int(sizes.sum())
            contiguous = np.array_equal(offsets[used], np.cumsum(sizes[used]) - sizes[used])
            if len(data) != expected or not contiguous:
                raise ValueError(
                    f"{self.path}: {name} holds {len(data)} bytes, the index says {expected}"
                    f" (a cut or damaged export: remove it and export again)"
                )
        total = int(t[:, _COUNT].sum())
        for stem, column in self.columns.items():
            if len(column) != total:
                raise ValueError(f"{self.path}: {stem}.npy has {len(column)} rows for {total} masks")

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __getitem__(self, key: str) -> np.ndarray:
        return self.masks(key)

    def __repr__(self) -> str:
        return f"<ExportedShard {self.path!r}: {len(self)} images, long side {self.long_side}>"

    def _row(self, key: str) -> np.ndarray:
        try:
            return self.table[self._index[key]]
        except KeyError:
            raise KeyError(f"{self.path}: no image {key!r}") from None

    def shape(self, key: str) -> Tuple[int, int]:
        """``(h, w)`` of this image's exported masks."""
        row = self._row(key)
        return int(row[_H]), int(row[_W])

    def masks(self, key: str, indices: Any = None) -> np.ndarray:
        """``(n, h, w)`` bool masks of image ``key`` (``indices``: some of them)."""
        row = self._row(key)
        h, w, n, offset = int(row[_H]), int(row[_W]), int(row[_COUNT]), int(row[_OFFSET])
        per_mask = (h * w + 7) // 8
        packed = self._bits[offset : offset + n * per_mask].reshape(n, per_mask)
        if indices is not None:
            picked = np.asarray(indices)
            packed = packed[picked if picked.dtype == np.bool_ else picked.astype(np.intp)]
        bits = np.unpackbits(packed, axis=1, count=h * w)
        return bits.reshape(len(packed), h, w).view(np.bool_)

    def label_map(self, key: str) -> np.ndarray:
        """``(h, w)`` uint16 label map of image ``key`` (exports made with ``label_map=True``)."""
        row = self._row(key)
        if int(row[_LABELS]) < 0:
            raise ValueError(f"{self.path}: exported without label maps")
        h, w, offset = int(row[_H]), int(row[_W]), int(row[_LABELS])
        return self._labels[offset : offset + 2 * h * w].view(np.uint16).reshape(h, w)

    def info(self, key: str) -> Dict[str, Any]:
        """The image's original size and its masks' stored fields (ids, scores, boxes, ...)."""
        row = self._row(key)
        first, n = int(row[_FIRST]), int(row[_COUNT])
        out: Dict[str, Any] = {
            "key": key,
            "size": (int(row[_H]), int(row[_W])),
            "original_size": (int(row[_OH]), int(row[_OW])),
        }
        for stem, column in self.columns.items():
            out[stem] = np.asarray(column[first : first + n])
        return out


def _map(path: str) -> np.ndarray:
    if not os.path.exists(path):
        raise ValueError(f"{path}: missing")
    if os.path.getsize(path) == 0:
        return np.zeros(0, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r")
