"""SA-1B: per-image records, tar shards, TFDS conversions.

SA-1B ships one JSON file per image::

    {"image": {"image_id", "width", "height", "file_name"},
     "annotations": [{"id", "segmentation": {"size": [h, w], "counts": str},
                      "bbox", "area", "predicted_iou", "point_coords",
                      "stability_score", "crop_box"}, ...]}

packed with the JPEGs into tar shards of ``sa_N.jpg`` + ``sa_N.json``
members. This module reads them without unpacking:

- :func:`load` reads one JSON into an :class:`ImageRecord`, which keeps the
  original dicts untouched and adds columnar numpy views (``areas``,
  ``bboxes``, ``predicted_iou``, ...) and the codec (``masks()``,
  ``label_map()``, ``filter()``); :func:`dump` writes it back unchanged.
- :func:`iter_shard` streams the samples of a shard (a tar file, a binary
  stream or an extracted directory), one at a time.
- :meth:`ImageRecord.to_tfds` / :func:`from_tfds` convert to and from what
  ``tfds.load("segment_anything")`` yields.
- ``TorchShards`` (needs torch) splits shards over DataLoader workers.

Two boxes: SA-1B's stored ``bbox`` is the mask's tight box with width and
height **one less** (SAM computed ``max - min``), so a one-pixel mask has
``bbox = [x, y, 0, 0]``. :meth:`ImageRecord.mask_bboxes` gives the true COCO
box (``pycocotools.mask.toBbox``). sarle never changes the stored numbers.

>>> from sarle import sa1b
>>> shard = sa1b.sample_path()
>>> for sample in sa1b.iter_shard(shard, images=False):
...     record = sample.record
...     break
>>> sample.key, record.file_name, len(record) > 0
('sa_1', 'sa_1.jpg', True)
>>> masks = record.masks(size=(64, 96))
>>> masks.shape[1:], masks.dtype
((64, 96), dtype('bool'))
>>> good = record.filter(min_predicted_iou=0.9, min_stability_score=0.95)
>>> bool((good.predicted_iou >= 0.9).all())
True
"""

from __future__ import annotations

import json
import os
import re
import struct
import tarfile
import warnings
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

from . import codec

__all__ = [
    "ImageRecord",
    "Sample",
    "ShardReader",
    "SkippedSamplesWarning",
    "dump",
    "from_tfds",
    "iter_shard",
    "load",
    "sample_path",
    "tfds_bbox",
    "xywh_from_tfds",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Annotation fields of SA-1B, in the order its files list them.
ANNOTATION_FIELDS = (
    "id",
    "segmentation",
    "bbox",
    "area",
    "predicted_iou",
    "point_coords",
    "stability_score",
    "crop_box",
)

SAMPLE_SHARD = "sa_sample.tar"


def sample_path() -> str:
    """Path of the small SA-1B-format tar shard shipped with sarle."""
    return str(resources.files("sarle").joinpath("data", SAMPLE_SHARD))


# --------------------------------------------------------------------------- JSON

try:  # optional: orjson parses SA-1B files several times faster than the stdlib
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None


#: 19 digits in a row: maybe an integer beyond 64 bits, which orjson would turn into a
#: float. Such text goes to the stdlib parser, which keeps every integer exact.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{19}")


def _parse_json(data: Union[bytes, str], where: str) -> Any:
    """Parse JSON text; errors become ``ValueError`` naming ``where``."""
    long_digits = _LONG_DIGITS_TEXT if isinstance(data, str) else _LONG_DIGITS
    if _orjson is not None and not long_digits.search(data):
        try:
            return _orjson.loads(data)
        except Exception:
            pass  # the stdlib gives the line and column (and takes NaN)
    try:
        return json.loads(data)
    except UnicodeDecodeError as error:
        raise ValueError(f"{where}: not UTF-8 text at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{where}: not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
            f" (character {error.pos})"
        ) from None
    except RecursionError:
        raise ValueError(f"{where}: not valid JSON: nested too deeply") from None


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


# --------------------------------------------------------------------------- records


class ImageRecord:
    """One SA-1B image: its metadata, its annotations and columnar views.

    Build one with :func:`load`, :func:`from_tfds` or from the two parts of
    an SA-1B file: ``ImageRecord(data["image"], data["annotations"])``.

    The original dicts are kept as they are (``image``, ``annotations``);
    the numpy columns (``ids``, ``areas``, ``bboxes``, ``predicted_iou``,
    ``stability_score``, ``point_coords``, ``crop_boxes``) are built from
    them on first use, once, and are read-only. They hold the stored
    numbers: ``bboxes`` is SA-1B's box (width and height one less than the
    mask's), :meth:`mask_bboxes` the true one.

    ``len(record)`` is the number of annotations; iterating gives the
    annotation dicts; ``record[i]`` is annotation ``i`` and ``record[a:b]``,
    ``record[[i, j]]`` or ``record[bool_array]`` a new record with those
    annotations.

    Parameters
    ----------
    image : dict
        ``{"image_id", "width", "height", "file_name", ...}``.
    annotations : list of dict
        SA-1B annotations; each needs a ``segmentation`` RLE of the image's
        size. Other fields are checked when their column is first used.
    extra : dict, optional
        Other top-level keys of the file, kept for :func:`dump`.
    source : str, optional
        Where the record came from, used in error messages.
    check : bool
        Check the whole record now (default; see :meth:`check`). ``False``
        defers every check to first use (``sarle verify`` reports problems
        itself).
    """

    def __init__(
        self,
        image: Dict[str, Any],
        annotations: List[Dict[str, Any]],
        *,
        extra: Optional[Dict[str, Any]] = None,
        source: Optional[str] = None,
        check: bool = True,
    ) -> None:
        self.source = source or "record"
        if not isinstance(image, dict):
            raise TypeError(f"{self.source}: 'image' must be a dict, got {type(image).__name__}")
        if not isinstance(annotations, list):
            raise TypeError(
                f"{self.source}: 'annotations' must be a list, got {type(annotations).__name__}"
            )
        self.image = image
        self.annotations = annotations
        self.extra = dict(extra) if extra else {}
        self._keys = ["image", "annotations"]
        if check:
            self.check()

    # ---------------------------------------------------------------- metadata

    def _image_field(self, key: str, kind: type) -> Any:
        try:
            value = self.image[key]
        except KeyError:
            raise ValueError(f"{self.source}: image has no '{key}' field") from None
        if kind is int:
            if not _is_int(value) or value < 0:
                raise ValueError(
                    f"{self.source}: image '{key}' must be a non-negative integer, got {value!r}"
                )
            return int(value)
        if not isinstance(value, str):
            raise ValueError(f"{self.source}: image '{key}' must be a string, got {value!r}")
        return value

    @property
    def image_id(self) -> int:
        """``image["image_id"]``."""
        return self._image_field("image_id", int)

    @property
    def width(self) -> int:
        """``image["width"]`` in pixels."""
        return self._image_field("width", int)

    @property
    def height(self) -> int:
        """``image["height"]`` in pixels."""
        return self._image_field("height", int)

    @property
    def file_name(self) -> str:
        """``image["file_name"]``, e.g. ``"sa_1.jpg"``."""
        return self._image_field("file_name", str)

    def where(self, index: int) -> str:
        """``"<source>: annotation i (id N)"``, for error messages."""
        annotation = self.annotations[index]
        ident = annotation.get("id") if isinstance(annotation, dict) else None
        suffix = f" (id {ident})" if ident is not None else ""
        return f"{self.source}: annotation {index}{suffix}"

    def check(self) -> None:
        """Check the whole record: image fields, every annotation and every field.

        Raises ``ValueError`` naming the annotation (index and id) when one
        is not a dict, has no ``segmentation`` with ``size`` and ``counts``,
        has a size other than the image's ``[height, width]``, or has a
        missing or mistyped field (``id``, ``area``, ``bbox``,
        ``predicted_iou``, ``point_coords``, ``stability_score``,
        ``crop_box``); this also builds the columns. Counts strings are
        checked by the codec when they are used (``sarle verify`` checks
        them all).
        """
        for message in self.problems(first_only=True):
            raise ValueError(message)

    #: Columns and the field each is built from, in SA-1B's field order.
    COLUMNS = (
        ("ids", "id"),
        ("bboxes", "bbox"),
        ("areas", "area"),
        ("predicted_iou", "predicted_iou"),
        ("point_coords", "point_coords"),
        ("stability_score", "stability_score"),
        ("crop_boxes", "crop_box"),
    )

    def problems(self, first_only: bool = False) -> Iterator[str]:
        """Every structural problem of the record, one message each (see :meth:`check`).

        ``sarle verify`` lists them all; :meth:`check` raises the first.
        """
        try:
            h, w = self.height, self.width
            self.image_id, self.file_name  # noqa: B018 - raise on a bad field
        except ValueError as error:
            yield str(error)
            return
        bad = set()
        for i, annotation in enumerate(self.annotations):
            message = self._annotation_problem(i, annotation, h, w)
            if message:
                bad.add(i)
                yield message
                if first_only:
                    return
        for column, key in self.COLUMNS:
            try:
                getattr(self, column)
                continue
            except ValueError as error:
                if first_only:
                    yield str(error)
                    return
            for i, annotation in enumerate(self.annotations):  # every bad one, not only the first
                if i not in bad:
                    message = (
                        self._field_problem(i, key, annotation[key])
                        if key in annotation
                        else f"{self.where(i)}: no '{key}' field"
                    )
                    if message:
                        yield message

    def _annotation_problem(self, i: int, annotation: Any, h: int, w: int) -> Optional[str]:
        if not isinstance(annotation, dict):
            return f"{self.source}: annotation {i} must be a dict, got {type(annotation).__name__}"
        rle = annotation.get("segmentation")
        if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
            return (
                f"{self.where(i)}: 'segmentation' must be an RLE dict with 'size' and"
                f" 'counts', got {_short(rle)}"
            )
        size = rle["size"]
        if (
            not isinstance(size, (list, tuple, np.ndarray))
            or len(size) != 2
            or not all(_is_int(v) for v in size)
        ):
            return f"{self.where(i)}: segmentation size must be [h, w], got {_short(size)}"
        if int(size[0]) != h or int(size[1]) != w:
            return (
                f"{self.where(i)}: segmentation size {[int(v) for v in size]} is not the"
                f" image's [height, width] = {[h, w]}"
            )
        if not isinstance(rle["counts"], (str, bytes, list)):
            return (
                f"{self.where(i)}: segmentation counts must be a string, got"
                f" {type(rle['counts']).__name__}"
            )
        return None

    # ---------------------------------------------------------------- sequence

    def __len__(self) -> int:
        return len(self.annotations)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        return iter(self.annotations)

    def __getitem__(self, index: Any) -> Any:
        if _is_int(index):
            return self.annotations[index]
        if isinstance(index, slice):
            return self._subset(self.annotations[index])
        picked = np.asarray(index)
        if picked.dtype == np.bool_:
            if picked.shape != (len(self),):
                raise IndexError(
                    f"boolean index of shape {picked.shape} for a record of {len(self)} annotations"
                )
            picked = np.flatnonzero(picked)
        elif picked.ndim != 1 or not (picked.size == 0 or np.issubdtype(picked.dtype, np.integer)):
            raise TypeError(f"index a record with an int, a slice or integer/bool arrays, got {index!r}")
        return self._subset([self.annotations[int(i)] for i in picked])

    def _subset(self, annotations: List[Dict[str, Any]]) -> "ImageRecord":
        record = ImageRecord(self.image, annotations, extra=self.extra, source=self.source, check=False)
        record._keys = self._keys
        return record

    def __repr__(self) -> str:
        try:
            head = f"{self.file_name!r}, {self.height}x{self.width}"
        except ValueError:
            head = self.source
        return f"<ImageRecord {head}, {len(self)} annotations>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImageRecord):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    # ---------------------------------------------------------------- columns

    def _values(self, key: str) -> List[Any]:
        values = []
        for i, annotation in enumerate(self.annotations):
            try:
                values.append(annotation[key])
            except KeyError:
                raise ValueError(f"{self.where(i)}: no '{key}' field") from None
            except TypeError:
                raise ValueError(f"{self.where(i)}: annotation is not a dict") from None
        return values

    #: field -> (dtype, shape of one value, what it must be)
    FIELDS: Dict[str, Tuple[Any, Tuple[int, ...], str]] = {
        "id": (np.int64, (), "an integer"),
        "area": (np.int64, (), "an integer"),
        "bbox": (np.float64, (4,), "[x, y, w, h]"),
        "predicted_iou": (np.float64, (), "a number"),
        "stability_score": (np.float64, (), "a number"),
        "point_coords": (np.float64, (1, 2), "[[x, y]]"),
        "crop_box": (np.float64, (4,), "[x, y, w, h]"),
    }

    def _column(self, key: str) -> np.ndarray:
        dtype, shape, _ = self.FIELDS[key]
        values = self._values(key)
        column = None
        if not values:
            column = np.empty((0,) + shape, dtype=dtype)
        else:
            try:
                column = np.array(values)
            except (TypeError, ValueError):  # ragged
                column = None
            if column is not None and (
                not _fits(column, dtype, (len(values),) + shape) or _holds_bool(values)
            ):
                column = None
        if column is None:
            for i, value in enumerate(values):
                message = self._field_problem(i, key, value)
                if message:
                    raise ValueError(message)
            raise ValueError(f"{self.source}: '{key}' values do not form a column")  # pragma: no cover
        column = column.astype(dtype)
        column.flags.writeable = False
        return column

    def _field_problem(self, i: int, key: str, value: Any) -> Optional[str]:
        """The message for a bad ``annotations[i][key]``, or None if it is fine."""
        dtype, shape, what = self.FIELDS[key]
        try:
            good = _fits(np.asarray(value), dtype, shape) and not _holds_bool(value)
        except (TypeError, ValueError, OverflowError):
            good = False
        return None if good else f"{self.where(i)}: '{key}' must be {what}, got {_short(value)}"

    @cached_property
    def ids(self) -> np.ndarray:
        """``(n,)`` int64: the annotations' ``id``."""
        return self._column("id")

    @cached_property
    def areas(self) -> np.ndarray:
        """``(n,)`` int64: the stored ``area`` (pixel count)."""
        return self._column("area")

    @cached_property
    def bboxes(self) -> np.ndarray:
        """``(n, 4)`` float64: the stored ``bbox`` ``[x, y, w, h]`` (SA-1B's: w, h one less)."""
        return self._column("bbox")

    @cached_property
    def predicted_iou(self) -> np.ndarray:
        """``(n,)`` float64: SAM's predicted IoU (it can exceed 1)."""
        return self._column("predicted_iou")

    @cached_property
    def stability_score(self) -> np.ndarray:
        """``(n,)`` float64: SAM's stability score."""
        return self._column("stability_score")

    @cached_property
    def point_coords(self) -> np.ndarray:
        """``(n, 2)`` float64: the prompt point ``[x, y]`` of each mask, in pixels."""
        return self._column("point_coords").reshape(-1, 2)

    @cached_property
    def crop_boxes(self) -> np.ndarray:
        """``(n, 4)`` float64: the ``crop_box`` ``[x, y, w, h]`` SAM ran on."""
        return self._column("crop_box")

    @property
    def segmentations(self) -> List[Dict[str, Any]]:
        """The annotations' ``segmentation`` RLE dicts (the original objects)."""
        return self._values("segmentation")

    # ---------------------------------------------------------------- codec

    def _rles(self, indices: Any = None) -> List[Dict[str, Any]]:
        rles = self.segmentations
        if indices is None:
            return rles
        picked = np.asarray(indices)
        n = len(rles)
        if picked.dtype == np.bool_:
            if picked.shape != (n,):
                raise IndexError(f"boolean indices of shape {picked.shape} for {n} annotations")
            picked = np.flatnonzero(picked)
        if picked.ndim != 1 or not (picked.size == 0 or np.issubdtype(picked.dtype, np.integer)):
            raise TypeError(f"indices must be a 1-d sequence of integers or bools, got {indices!r}")
        bad = picked[(picked < -n) | (picked >= n)]
        if bad.size:
            raise IndexError(f"index {int(bad[0])} is out of range for {n} annotations")
        return [rles[int(i)] for i in picked]

    def _output_size(self, size: Any, scale: Any, crop: Any) -> Tuple[int, int]:
        sampled = codec._sampling(self.height, self.width, size, scale, crop)
        return (self.height, self.width) if sampled is None else (sampled[2], sampled[3])

    def masks(
        self,
        order: str = "C",
        size: Optional[Sequence[int]] = None,
        indices: Any = None,
        *,
        scale: Optional[float] = None,
        crop: Optional[Sequence[int]] = None,
        out: Optional[np.ndarray] = None,
        threads: Optional[int] = None,
    ) -> np.ndarray:
        """Decode the masks to one ``(n, h, w)`` bool array.

        Parameters
        ----------
        order : {"C", "F"}
            Layout of each mask (see :func:`sarle.decode`).
        size : (h2, w2), optional
            Nearest-neighbour resample, computed from the runs.
        indices : sequence of int or bool, optional
            Which masks (default: all, in order).
        scale, crop, out, threads
            As in :func:`sarle.decode`.

        Errors name the annotation that failed.
        """
        rles = self._rles(indices)
        if not rles:
            h2, w2 = self._output_size(size, scale, crop)
            return codec.decode([], order=order, out=out) if out is not None else np.zeros(
                (0, h2, w2), dtype=bool, order=order if order in ("C", "F") else "C"
            )
        try:
            return codec.decode(
                rles, order=order, out=out, threads=threads, size=size, scale=scale, crop=crop
            )
        except ValueError as error:
            raise self._located(error, indices) from None

    def label_map(self, **options: Any) -> np.ndarray:
        """``(h, w)`` instance label map: 0 background, ``i + 1`` for annotation ``i``.

        Options as in :func:`sarle.label_map` (``order``, ``paint="index"``
        or ``"area"``, ``dtype``, ``out``, ``size``, ``scale``, ``crop``).
        A record without annotations gives all zeros.
        """
        rles = self.segmentations
        if not rles:
            h2, w2 = self._output_size(options.get("size"), options.get("scale"), options.get("crop"))
            return np.zeros((h2, w2), dtype=options.get("dtype", np.int32))
        try:
            return codec.label_map(rles, **options)
        except ValueError as error:
            raise self._located(error, None) from None

    def mask_areas(self) -> np.ndarray:
        """``(n,)`` uint64: each mask's pixel count, from its counts string."""
        try:
            return codec.area(self.segmentations) if len(self) else np.zeros(0, np.uint64)
        except ValueError as error:
            raise self._located(error, None) from None

    def mask_bboxes(self) -> np.ndarray:
        """``(n, 4)`` float64: each mask's true COCO box ``[x, y, w, h]`` (``toBbox``).

        SA-1B's stored :attr:`bboxes` are these with ``w - 1`` and ``h - 1``
        (``[0, 0, 0, 0]`` for an empty mask).
        """
        try:
            return codec.bbox(self.segmentations) if len(self) else np.zeros((0, 4))
        except ValueError as error:
            raise self._located(error, None) from None

    def _located(self, error: ValueError, indices: Any) -> ValueError:
        """Turn the codec's ``mask i: ...`` into ``<source>: annotation j (id N): ...``."""
        text = str(error)
        match = re.match(r"mask (\d+): (.*)", text, re.S)
        if not match:
            return ValueError(f"{self.source}: {text}")
        i = int(match.group(1))
        if indices is not None:
            picked = np.asarray(indices)
            if picked.dtype == np.bool_:
                picked = np.flatnonzero(picked)
            i = int(picked[i]) % max(1, len(self))
        return ValueError(f"{self.where(i)}: {match.group(2)}")

    # ---------------------------------------------------------------- filters

    def filter(
        self,
        min_predicted_iou: Optional[float] = None,
        min_stability_score: Optional[float] = None,
        min_area: Optional[int] = None,
        max_area_fraction: Optional[float] = None,
    ) -> "ImageRecord":
        """A new record with the annotations that pass every given bound.

        Bounds are inclusive: ``predicted_iou >= min_predicted_iou``,
        ``stability_score >= min_stability_score``, ``area >= min_area`` and
        ``area / (height * width) <= max_area_fraction``, on the stored
        fields. The kept annotation dicts are the same objects, in order.
        """
        keep = np.ones(len(self), dtype=bool)
        if min_predicted_iou is not None:
            keep &= self.predicted_iou >= float(min_predicted_iou)
        if min_stability_score is not None:
            keep &= self.stability_score >= float(min_stability_score)
        if min_area is not None:
            keep &= self.areas >= min_area
        if max_area_fraction is not None:
            pixels = self.height * self.width
            keep &= self.areas / pixels <= float(max_area_fraction) if pixels else self.areas <= 0
        return self[keep]

    # ---------------------------------------------------------------- TFDS / JSON

    def to_json(self) -> Dict[str, Any]:
        """The SA-1B JSON object: original key order, unknown keys kept."""
        parts = dict(self.extra)
        parts["image"] = self.image
        parts["annotations"] = self.annotations
        return {key: parts[key] for key in self._keys if key in parts} | {
            key: value for key, value in parts.items() if key not in self._keys
        }

    def to_tfds(self) -> Dict[str, Any]:
        """The ``annotations`` dict of arrays that TFDS ``segment_anything`` yields.

        ``bbox`` and ``crop_box`` become normalised ``[ymin, xmin, ymax,
        xmax]`` float32 (:func:`tfds_bbox`), ``point_coords`` stays absolute
        pixels ``(n, 1, 2)`` float64, ``id`` and ``area`` are uint64, and
        ``segmentation`` is ``{"counts": (n,) object array of bytes, "size":
        (n, 2) uint64}``. :func:`from_tfds` converts back.
        """
        h, w = self.height, self.width
        for side, what in ((h, "height"), (w, "width")):
            # TFDS keeps sizes as uint64 (a record loaded with check=False may hold anything)
            if not _is_int(side) or not 0 <= side < 2**64:
                raise ValueError(f"{self.source}: image {what} {_short(side)} does not fit TFDS' uint64 sizes")
        n = len(self)
        counts = np.empty(n, dtype=object)
        for i, rle in enumerate(self.segmentations):
            value = rle.get("counts") if isinstance(rle, dict) else None
            if isinstance(value, str):
                if not value.isascii():
                    raise ValueError(f"{self.where(i)}: counts string is not ASCII: {_short(value)}")
                value = value.encode("ascii")
            elif not isinstance(value, bytes):
                raise ValueError(
                    f"{self.where(i)}: TFDS stores compressed counts strings, got {_short(value)}"
                )
            counts[i] = value
        return {
            "area": self.areas.astype(np.uint64),
            "bbox": tfds_bbox(self.bboxes.reshape(n, 4), h, w),
            "crop_box": tfds_bbox(self.crop_boxes.reshape(n, 4), h, w),
            "id": self.ids.astype(np.uint64),
            "point_coords": self.point_coords.reshape(n, 1, 2).copy(),
            "predicted_iou": self.predicted_iou.copy(),
            "segmentation": {"counts": counts, "size": np.tile(np.array([h, w], np.uint64), (n, 1))},
            "stability_score": self.stability_score.copy(),
        }


def _fits(values: np.ndarray, dtype: Any, shape: Tuple[int, ...]) -> bool:
    """Whether ``values`` has this shape and converts to ``dtype`` without loss."""
    if values.shape != shape:
        return False
    if np.dtype(dtype).kind in "iu":
        if values.dtype.kind not in "iu":
            return False
        return values.dtype != np.uint64 or bool((values <= np.iinfo(np.int64).max).all())
    return values.dtype.kind in "iuf"


def _holds_bool(values: Any) -> bool:
    """Whether a (nested) list holds a bool; numpy would turn ``[2, True]`` into ``[2, 1]``."""
    if isinstance(values, (bool, np.bool_)):
        return True
    if isinstance(values, (list, tuple)):
        return any(_holds_bool(v) for v in values)
    return False


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- TFDS boxes


def tfds_bbox(xywh: Any, height: int, width: int) -> np.ndarray:
    """SA-1B ``[x, y, w, h]`` → TFDS ``[ymin, xmin, ymax, xmax]`` normalised float32.

    ``[y / H, x / W, (y + h) / H, (x + w) / W]``, computed in float64 and
    rounded once to float32, as TFDS's ``segment_anything`` builder does.
    ``xywh`` is one box ``(4,)`` or many ``(n, 4)``.

    >>> tfds_bbox([10, 20, 30, 40], 100, 200).tolist()
    [0.20000000298023224, 0.05000000074505806, 0.6000000238418579, 0.20000000298023224]
    """
    boxes = np.asarray(xywh, dtype=np.float64)
    if boxes.shape[-1:] != (4,) or boxes.ndim > 2:
        raise ValueError(f"boxes must be [x, y, w, h] or (n, 4), got shape {boxes.shape}")
    height, width = float(_dimension(height, "height")), float(_dimension(width, "width"))
    x, y, w, h = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    return np.stack([y / height, x / width, (y + h) / height, (x + w) / width], axis=-1).astype(
        np.float32
    )


def xywh_from_tfds(box: Any, height: int, width: int, *, snap: float = 0.01) -> np.ndarray:
    """TFDS ``[ymin, xmin, ymax, xmax]`` normalised → SA-1B ``[x, y, w, h]`` pixels.

    TFDS keeps float32, so edges come back within about ``W * 6e-8`` of
    the original; an edge within ``snap`` pixels of an integer is rounded
    to it (every SA-1B box is integer, so they come back exactly). Pass
    ``snap=0`` for the raw products.

    >>> xywh_from_tfds(tfds_bbox([10, 20, 30, 40], 100, 200), 100, 200).tolist()
    [10.0, 20.0, 30.0, 40.0]
    """
    boxes = np.asarray(box, dtype=np.float64)
    if boxes.shape[-1:] != (4,) or boxes.ndim > 2:
        raise ValueError(f"boxes must be [ymin, xmin, ymax, xmax] or (n, 4), got shape {boxes.shape}")
    height, width = float(_dimension(height, "height")), float(_dimension(width, "width"))
    edges = boxes * np.array([height, width, height, width])
    if snap:
        nearest = np.round(edges)
        edges = np.where(np.abs(edges - nearest) <= snap, nearest, edges)
    y0, x0, y1, x1 = edges[..., 0], edges[..., 1], edges[..., 2], edges[..., 3]
    return np.stack([x0, y0, x1 - x0, y1 - y0], axis=-1) + 0.0


def _dimension(value: Any, what: str) -> int:
    if not _is_int(value) and not (isinstance(value, np.ndarray) and value.ndim == 0 and _is_int(value[()])):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if int(value) <= 0:
        raise ValueError(f"{what} must be positive, got {int(value)}")
    return int(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        value = value[()] if value.ndim == 0 else value
    if isinstance(value, np.generic):
        return value.item()
    return value


def from_tfds(
    example: Dict[str, Any],
    *,
    image: Optional[Dict[str, Any]] = None,
    snap: float = 0.01,
) -> ImageRecord:
    """An :class:`ImageRecord` from a TFDS ``segment_anything`` example.

    ``example`` is a whole example as ``tfds.as_numpy`` gives it
    (``{"image": {...}, "annotations": {...}}``; the decoded image content is
    ignored) or just its ``annotations`` dict, with ``image`` given as
    ``{"image_id", "width", "height", "file_name"}`` (without it, the size
    comes from the masks). The annotations become SA-1B dicts again, in
    SA-1B's field order: counts as ``str``, boxes back in pixels
    (:func:`xywh_from_tfds`; integers come back exactly), ``id`` and
    ``area`` as ``int``. ``from_tfds(record.to_tfds(), image=record.image)``
    equals ``record`` for every SA-1B file.
    """
    if not isinstance(example, dict):
        raise TypeError(f"a TFDS example is a dict, got {type(example).__name__}")
    try:
        return _from_tfds(example, image, snap)
    except (KeyError, IndexError) as error:
        raise ValueError(f"not a TFDS segment_anything example: {type(error).__name__} {error}") from None


def _from_tfds(example: Dict[str, Any], image: Optional[Dict[str, Any]], snap: float) -> ImageRecord:
    if "annotations" in example:
        annotations, image_part = example["annotations"], example.get("image", image)
    else:
        annotations, image_part = example, image
    try:
        columns = {key: annotations[key] for key in ANNOTATION_FIELDS}
    except KeyError as error:
        raise ValueError(f"TFDS annotations have no {error.args[0]!r} field") from None
    segmentation = columns["segmentation"]
    counts = list(segmentation["counts"])
    sizes = np.asarray(segmentation["size"]).reshape(-1, 2)
    n = len(counts)
    if sizes.shape[0] != n:
        raise ValueError(f"TFDS annotations: {sizes.shape[0]} segmentation sizes for {n} counts")
    for key in ("id", "area", "predicted_iou", "stability_score"):
        if len(columns[key]) != n:
            raise ValueError(f"TFDS annotations: '{key}' has {len(columns[key])} entries for {n} masks")
    if image_part is None:
        if n == 0:
            raise ValueError("an example without masks needs image= for its size")
        h, w = int(sizes[0][0]), int(sizes[0][1])
        image_dict: Dict[str, Any] = {"width": w, "height": h}
    else:
        image_dict = {}
        for key in ("image_id", "width", "height", "file_name"):
            if key in image_part:
                image_dict[key] = _scalar(image_part[key])
        h, w = int(image_dict["height"]), int(image_dict["width"])
    bbox = xywh_from_tfds(np.asarray(columns["bbox"]).reshape(n, 4), h, w, snap=snap)
    crop = xywh_from_tfds(np.asarray(columns["crop_box"]).reshape(n, 4), h, w, snap=snap)
    points = np.asarray(columns["point_coords"], dtype=np.float64).reshape(n, -1, 2) if n else np.zeros((0, 1, 2))
    out = []
    for i in range(n):
        text = counts[i]
        out.append({
            "id": int(columns["id"][i]),
            "segmentation": {
                "size": [int(sizes[i][0]), int(sizes[i][1])],
                "counts": text.decode("ascii") if isinstance(text, bytes) else str(text),
            },
            "bbox": bbox[i].tolist(),
            "area": int(columns["area"][i]),
            "predicted_iou": float(columns["predicted_iou"][i]),
            "point_coords": points[i].tolist(),
            "stability_score": float(columns["stability_score"][i]),
            "crop_box": crop[i].tolist(),
        })
    return ImageRecord(image_dict, out, source="tfds example", check="image_id" in image_dict)


# --------------------------------------------------------------------------- load / dump


def load(src: Union[PathLike, bytes, str, IO[Any]], *, source: Optional[str] = None, check: bool = True) -> ImageRecord:
    """Read one SA-1B per-image JSON into an :class:`ImageRecord`.

    Parameters
    ----------
    src : path, bytes or file object
        A path (``str`` or ``os.PathLike``), the JSON text as ``bytes``, or
        an open file (text or binary). A ``str`` is a path unless it starts
        with ``{``.
    source : str, optional
        Name used in error messages (default: the path, or ``"<bytes>"``).
    check : bool
        Check every field now (default; see :meth:`ImageRecord.check`).

    Uses ``orjson`` when it is installed, else the stdlib ``json``.
    Errors are ``ValueError`` naming the file (and annotation).
    """
    if isinstance(src, bytes):
        data, name = src, source or "<bytes>"
    elif isinstance(src, str) and src.lstrip().startswith("{"):
        data, name = src.encode("utf-8"), source or "<str>"
    elif isinstance(src, (str, os.PathLike)):
        name = source or os.fspath(src)
        try:
            with open(src, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise ValueError(f"{name}: cannot read: {error.strerror or error}") from None
    elif hasattr(src, "read"):
        name = source or str(getattr(src, "name", "<file>"))
        data = src.read()
    else:
        raise TypeError(f"load needs a path, bytes or a file object, got {type(src).__name__}")
    return _record_from_json(data, name, check)


def _record_from_json(data: Union[bytes, str], name: str, check: bool) -> ImageRecord:
    top = _parse_json(data, name)
    if not isinstance(top, dict):
        raise ValueError(f"{name}: an SA-1B file holds a JSON object, got {type(top).__name__}")
    for key in ("image", "annotations"):
        if key not in top:
            raise ValueError(f"{name}: no '{key}' key (not an SA-1B per-image file?)")
    if not isinstance(top["image"], dict):
        raise ValueError(f"{name}: 'image' must be a JSON object, got {type(top['image']).__name__}")
    if not isinstance(top["annotations"], list):
        raise ValueError(
            f"{name}: 'annotations' must be a JSON list, got {type(top['annotations']).__name__}"
        )
    extra = {k: v for k, v in top.items() if k not in ("image", "annotations")}
    record = ImageRecord(top["image"], top["annotations"], extra=extra, source=name, check=check)
    record._keys = list(top)
    return record


def dump(record: ImageRecord, dest: Union[PathLike, IO[Any], None] = None) -> Optional[str]:
    """Write a record as SA-1B JSON; its content equals what was loaded.

    ``dest`` is a path (written atomically: a temporary file, then a
    rename), a text or binary file object, or ``None`` to return the text.
    Keys keep their order and unknown keys are kept.
    """
    text = json.dumps(record.to_json())
    if dest is None:
        return text
    if hasattr(dest, "write"):
        try:
            dest.write(text)
        except TypeError:
            dest.write(text.encode("utf-8"))
        return None
    path = os.fspath(dest)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return None


# --------------------------------------------------------------------------- shards


@dataclass
class Sample:
    """One image of a shard: ``key`` (``"sa_N"``), ``record``, ``jpeg`` bytes.

    ``jpeg`` is ``None`` when the shard was read with ``images=False``.
    ``shard`` names the shard the sample came from.
    """

    key: str
    record: ImageRecord
    jpeg: Optional[bytes]
    shard: str

    def image(self) -> np.ndarray:
        """The decoded image, ``(h, w, 3)`` uint8 RGB (needs Pillow)."""
        if self.jpeg is None:
            raise ValueError(f"{self.shard}: {self.key}: the shard was read with images=False")
        from .render import read_image

        try:
            return read_image(self.jpeg)
        except ValueError as error:
            raise ValueError(f"{self.shard}: {self.key}.jpg: {error}") from None


class SkippedSamplesWarning(UserWarning):
    """Issued at the end of a shard read with ``on_error="skip"`` that skipped samples."""


@dataclass
class Skipped:
    """A sample or shard that ``on_error="skip"`` left out, and why."""

    shard: str
    member: str
    error: str

    def __str__(self) -> str:
        return self.error


class ShardReader:
    """Iterator over the samples of one shard (see :func:`iter_shard`).

    After iteration, ``samples`` is the number of samples yielded and
    ``skipped`` lists what ``on_error="skip"`` left out (:class:`Skipped`:
    shard, member and error); when any were skipped, a
    :class:`SkippedSamplesWarning` says how many and which (set ``warn``
    to False if you report ``skipped`` yourself).
    """

    def __init__(self, src: Any, images: bool, on_error: str, check: bool = True) -> None:
        self.check = check
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.images = images
        self.on_error = on_error
        self.samples = 0
        self.skipped: List[Skipped] = []
        self.ignored: List[str] = []
        self.warn = True
        self.name, self._open = _shard_source(src)
        self._iterator: Optional[Iterator[Sample]] = None

    def __iter__(self) -> "ShardReader":
        return self

    def __next__(self) -> Sample:
        if self._iterator is None:
            self._iterator = self._samples()
        try:
            sample = next(self._iterator)
        except StopIteration:
            self._finish()
            raise
        self.samples += 1
        return sample

    def _finish(self) -> None:
        if self.skipped and self.warn and not getattr(self, "_warned", False):
            self._warned = True
            names = ", ".join(s.member or "(the rest of the shard)" for s in self.skipped[:5])
            more = f" and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            warnings.warn(
                f"{self.name}: skipped {len(self.skipped)} sample(s): {names}{more}"
                f" (see ShardReader.skipped for the errors)",
                SkippedSamplesWarning,
                stacklevel=3,
            )

    def _fail(self, member: str, message: str) -> None:
        """Raise, or record a skipped member."""
        text = f"{self.name}: {member}: {message}" if member else f"{self.name}: {message}"
        if self.on_error == "raise":
            raise ValueError(text)
        self.skipped.append(Skipped(self.name, member, text))

    def _sample(self, key: str, json_member: str, data: bytes, jpeg: Optional[bytes]) -> Optional[Sample]:
        try:
            record = _record_from_json(data, f"{self.name}: {json_member}", self.check)
        except ValueError as error:
            if self.on_error == "raise":
                raise
            self.skipped.append(Skipped(self.name, json_member, str(error)))
            return None
        return Sample(key, record, jpeg, self.name)

    def _samples(self) -> Iterator[Sample]:
        try:
            source = self._open()
        except _ShardError as error:
            self._fail("", str(error))
            return
        yield from source(self)


def iter_shard(
    src: Union[PathLike, IO[bytes]],
    *,
    images: bool = True,
    on_error: str = "raise",
    check: bool = True,
) -> ShardReader:
    """Stream the samples of an SA-1B shard, one at a time, without extracting.

    Parameters
    ----------
    src : path or binary file object
        A tar shard (``sa_N.jpg`` + ``sa_N.json`` members in any order;
        compressed tars work too), an open binary stream of one (read
        sequentially), or a directory holding the extracted files.
    images : bool
        Read the JPEG bytes (default). ``False`` skips them; from a tar file
        on disk the JPEG members are then not even read.
    on_error : {"raise", "skip"}
        ``"raise"``: a corrupt member, a JSON without its JPEG (or a JPEG
        without its JSON) or an unreadable shard raises ``ValueError``
        naming the shard and member. ``"skip"``: the sample is left out and
        listed in the reader's ``skipped``, and a
        :class:`SkippedSamplesWarning` reports them at the end.
    check : bool
        Check every record when it is read (default; see
        :meth:`ImageRecord.check`), so that a bad annotation is an error
        here, naming shard, member and annotation, not later. ``False``
        only checks that each member is an SA-1B JSON object.

    Returns
    -------
    ShardReader
        An iterator of :class:`Sample`. Memory holds one sample at a time,
        whatever the shard size (for a non-seekable stream whose JSON and
        JPEG members are not adjacent, the unpaired members wait in memory).
    """
    return ShardReader(src, images, on_error, check)


class _ShardError(Exception):
    """A shard that cannot be opened at all (reported with the shard's name)."""


_MEMBER = re.compile(r"^(?P<key>.*?)\.(?P<ext>json|jpg|jpeg)$", re.I)


def _natural(key: str) -> List[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def _shard_source(src: Any) -> Tuple[str, Callable[[], Callable[[ShardReader], Iterator[Sample]]]]:
    """``(name, opener)``; the opener returns the sample generator for a reader."""
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        if os.path.isdir(path):
            return path, lambda: _directory_samples(path)
        return path, lambda: _tar_path_samples(path)
    if hasattr(src, "read"):
        name = str(getattr(src, "name", "<stream>"))
        return name, lambda: _tar_stream_samples(src, name)
    raise TypeError(f"a shard is a path, a directory or a binary file object, got {type(src).__name__}")


def _split(name: str) -> Optional[Tuple[str, str, str]]:
    """``(group, key, kind)`` for ``.../sa_1.json``; None for other members."""
    match = _MEMBER.match(name)
    if not match:
        return None
    group = match.group("key")
    kind = "json" if match.group("ext").lower() == "json" else "jpg"
    return group, os.path.basename(group), kind


def _directory_samples(path: str) -> Callable[[ShardReader], Iterator[Sample]]:
    try:
        names = os.listdir(path)
    except OSError as error:
        raise _ShardError(f"cannot list the directory: {error.strerror or error}") from None
    groups: Dict[str, Dict[str, str]] = {}
    ignored = []
    for name in names:
        parts = _split(name)
        if parts is None or not os.path.isfile(os.path.join(path, name)):
            ignored.append(name)
            continue
        groups.setdefault(parts[1], {})[parts[2]] = name

    def samples(reader: ShardReader) -> Iterator[Sample]:
        reader.ignored.extend(sorted(ignored))
        for key in sorted(groups, key=_natural):
            members = groups[key]
            if "json" not in members:
                reader._fail(members["jpg"], "a JPEG without its JSON")
                continue
            if "jpg" not in members:
                reader._fail(members["json"], "a JSON without its JPEG")
                continue
            try:
                with open(os.path.join(path, members["json"]), "rb") as handle:
                    data = handle.read()
                jpeg = None
                if reader.images:
                    with open(os.path.join(path, members["jpg"]), "rb") as handle:
                        jpeg = handle.read()
            except OSError as error:
                reader._fail(key, f"cannot read: {error.strerror or error}")
                continue
            sample = reader._sample(key, members["json"], data, jpeg)
            if sample is not None:
                yield sample

    return samples


class _TarInfo(tarfile.TarInfo):
    """Remembers why ``tarfile`` stopped: a zero block is the end, anything else is damage.

    ``TarFile.next()`` returns None both at the end-of-archive marker and when
    the file simply ends (or a header is garbage) after the first member; the
    header error it swallowed tells them apart.
    """

    @classmethod
    def fromtarfile(cls, archive: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        try:
            return super().fromtarfile(archive)
        except tarfile.HeaderError as error:
            archive._sarle_stop = error  # type: ignore[attr-defined]
            raise


def _end_problem(archive: tarfile.TarFile) -> Optional[str]:
    """Why the archive ended, when it was not its end-of-archive marker."""
    stop = getattr(archive, "_sarle_stop", None)
    if stop is None or isinstance(stop, tarfile.EOFHeaderError):
        return None
    if isinstance(stop, tarfile.EmptyHeaderError):
        return "no end-of-archive marker: the file is cut short"
    return f"a damaged member header ({stop})"


#: What the stdlib's tarfile raises on a damaged or cut-short archive.
_TAR_READ_ERRORS = (tarfile.TarError, OSError, EOFError)
#: Opening a stream also reads its compression header: one cut inside the gzip
#: header's optional fields makes ``tarfile._Stream`` call ``ord(b"")``
#: (TypeError) or unpack too few bytes (struct.error).
_TAR_OPEN_ERRORS = _TAR_READ_ERRORS + (TypeError, struct.error)


def _tar_error_text(error: BaseException) -> str:
    if isinstance(error, (TypeError, struct.error)):
        return f"a compressed header cut short ({error})"
    return str(error)


def _tar_path_samples(path: str) -> Callable[[ShardReader], Iterator[Sample]]:
    """A tar on disk: members read in place (JPEGs not even read with ``images=False``)."""
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise _ShardError(f"cannot open: {error.strerror or error}") from None
    try:
        archive = tarfile.open(fileobj=handle, mode="r:", tarinfo=_TarInfo)
    except tarfile.ReadError:
        handle.seek(0)
        return _tar_stream_samples(handle, path, owned=True)  # compressed: read it as a stream
    except (OSError, EOFError) as error:
        handle.close()
        raise _ShardError(f"cannot read the tar: {error}") from None
    return lambda reader: _tar_samples(archive, reader, seekable=True, owned=handle)


def _tar_stream_samples(
    stream: IO[bytes], name: str, owned: bool = False
) -> Callable[[ShardReader], Iterator[Sample]]:
    """A tar read front to back (a pipe, a socket, a compressed file)."""

    def samples(reader: ShardReader) -> Iterator[Sample]:
        try:
            archive = tarfile.open(fileobj=stream, mode="r|*", tarinfo=_TarInfo)
        except _TAR_OPEN_ERRORS as error:
            if owned:
                stream.close()
            reader._fail("", f"cannot read the tar: {_tar_error_text(error)}")
            return
        yield from _tar_samples(archive, reader, seekable=False, owned=stream if owned else None)

    return samples


def _tar_samples(
    archive: tarfile.TarFile, reader: ShardReader, seekable: bool, owned: Optional[IO[bytes]]
) -> Iterator[Sample]:
    """Pair ``.json`` and ``.jpg`` members as they come; yield each pair once complete.

    Only unpaired members wait (their headers on a seekable file, their bytes on a
    stream), and ``tarfile``'s member list is emptied as we go, so memory stays at one
    sample for a shard whose pairs are adjacent, whatever its size.
    """
    pending: Dict[str, Dict[str, Any]] = {}
    last = "the start"
    try:
        while True:
            try:
                info = archive.next()
            except _TAR_READ_ERRORS as error:
                cut_short = [e.get("json_name") or e["jpg_name"] for e in pending.values()]
                reader._fail("", _truncation(f"truncated or corrupt after member {last}: {error}", cut_short))
                return
            if info is None:
                problem = _end_problem(archive)
                if problem:
                    cut_short = [e.get("json_name") or e["jpg_name"] for e in pending.values()]
                    reader._fail("", _truncation(f"{problem} after member {last}", cut_short))
                    return
                break
            archive.members.clear()  # tarfile keeps every header otherwise
            parts = _split(info.name) if info.isfile() else None
            if parts is None:
                if not info.isdir():
                    reader.ignored.append(info.name)
                continue
            group, key, kind = parts
            last = info.name
            entry = pending.setdefault(group, {})
            entry[kind + "_name"] = info.name
            if seekable:
                entry[kind] = info  # read when the pair is complete
            else:
                try:
                    if kind == "json" or reader.images:
                        entry[kind] = _read_member(archive, info)
                    else:   # not kept, but read through: a JPEG cut short loses its sample either way
                        _check_member(archive, info, seekable=False)
                        entry[kind] = None
                except _TAR_READ_ERRORS as error:
                    reader._fail("", f"truncated or corrupt in member {info.name}: {error}")
                    return
            if "json" not in entry or "jpg" not in entry:
                continue
            del pending[group]
            data, jpeg = entry["json"], entry["jpg"]
            if seekable:
                try:
                    data = _read_member(archive, data)
                    if reader.images:
                        jpeg = _read_member(archive, jpeg)
                    else:
                        _check_member(archive, jpeg, seekable=True)
                        jpeg = None
                except _TAR_READ_ERRORS as error:
                    reader._fail(entry["json_name"], f"cannot read the member: {error}")
                    continue
            sample = reader._sample(key, entry["json_name"], data, jpeg)
            if sample is not None:
                yield sample
        for entry in pending.values():
            if "json" in entry:
                reader._fail(entry["json_name"], "a JSON without its JPEG")
            else:
                reader._fail(entry["jpg_name"], "a JPEG without its JSON")
    finally:
        archive.close()
        if owned is not None:
            owned.close()


def _truncation(message: str, cut_short: List[str]) -> str:
    if not cut_short:
        return message
    return f"{message}; left incomplete: {', '.join(cut_short)}"


def _read_member(archive: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    member = archive.extractfile(info)
    if member is None:
        raise tarfile.TarError("not a regular file")
    data = member.read()
    if len(data) != info.size:
        raise EOFError(f"{info.name}: member is cut short ({len(data)} of {info.size} bytes)")
    return data


def _check_member(archive: tarfile.TarFile, info: tarfile.TarInfo, seekable: bool) -> None:
    """Raise as ``_read_member`` would if ``info``'s data is not all there, keeping none of it.

    With ``images=False`` a JPEG is not kept, but a sample whose JPEG is cut
    short is lost as it is with ``images=True``: the same samples either way.
    A file on disk is checked by its size; a stream is read through in chunks
    (skipping the member reads the same bytes anyway).
    """
    if seekable:
        size = os.fstat(archive.fileobj.fileno()).st_size  # type: ignore[union-attr]
        if info.offset_data + info.size > size:
            raise EOFError(f"{info.name}: member is cut short "
                           f"({max(0, size - info.offset_data)} of {info.size} bytes)")
        return
    member = archive.extractfile(info)
    if member is None:
        raise tarfile.TarError("not a regular file")
    seen = 0
    while True:
        chunk = member.read(1 << 20)
        if not chunk:
            break
        seen += len(chunk)
    if seen != info.size:
        raise EOFError(f"{info.name}: member is cut short ({seen} of {info.size} bytes)")


# --------------------------------------------------------------------------- torch


def _torch_shards_class() -> type:
    from torch.utils import data as torch_data

    class TorchShards(torch_data.IterableDataset):
        """A ``torch.utils.data.IterableDataset`` over SA-1B shards.

        Shards are split across DataLoader workers (and across
        ``torch.distributed`` ranks when a process group is running): worker
        ``k`` of ``n`` reads shards ``k, k + n, ...``, so every shard is read
        once per epoch. Give ``transform`` to turn a :class:`Sample` into
        what your model needs (e.g. ``lambda s: (s.image(),
        s.record.masks(size=(256, 256)))``); without it the samples are
        yielded as they are (use ``batch_size=None``).

        Parameters
        ----------
        shards : sequence of paths
            Tar shards or extracted directories.
        images, on_error
            As in :func:`iter_shard`.
        transform : callable, optional
            Applied to every sample.
        """

        def __init__(
            self,
            shards: Sequence[PathLike],
            *,
            images: bool = True,
            transform: Optional[Callable[[Sample], Any]] = None,
            on_error: str = "raise",
        ) -> None:
            super().__init__()
            if isinstance(shards, (str, os.PathLike)):
                shards = [shards]
            self.shards = [os.fspath(s) for s in shards]
            self.images = images
            self.transform = transform
            if on_error not in ("raise", "skip"):
                raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
            self.on_error = on_error

        def assigned_shards(self) -> List[str]:
            """The shards this worker (and rank) reads."""
            worker = torch_data.get_worker_info()
            worker_id, workers = (worker.id, worker.num_workers) if worker else (0, 1)
            rank, world = 0, 1
            try:
                import torch.distributed as dist

                if dist.is_available() and dist.is_initialized():
                    rank, world = dist.get_rank(), dist.get_world_size()
            except ImportError:  # pragma: no cover
                pass
            return self.shards[rank * workers + worker_id :: world * workers]

        def __iter__(self) -> Iterator[Any]:
            for shard in self.assigned_shards():
                for sample in iter_shard(shard, images=self.images, on_error=self.on_error):
                    yield self.transform(sample) if self.transform else sample

    TorchShards.__module__ = __name__
    TorchShards.__qualname__ = "TorchShards"
    return TorchShards


def __getattr__(name: str) -> Any:
    if name == "ExportedShard":  # lives in sarle.export, which imports this module
        from .export import ExportedShard

        return ExportedShard
    if name == "TorchShards":  # built on first use so that torch stays optional
        cls = _torch_shards_class()
        globals()["TorchShards"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
