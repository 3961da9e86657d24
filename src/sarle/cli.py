"""The ``sarle`` command line: jobs people run on SA-1B files and shards.

::

    sarle info PATH            images, masks, sizes, score quantiles
    sarle verify PATH...       every RLE, area, bbox and id checked; exit 1 on failure
    sarle render PATH -o F     the image with its masks overlaid, as PNG
    sarle stats PATH...        dataset statistics over many shards
    sarle export PATH... --out DIR --size 1024
                               masks decoded once at training resolution, memory-mappable
    sarle bench                the codec benchmark on the bundled sample

``stats``, ``verify`` and ``export`` run one task per shard, in process or on
Dask (``--workers N``, ``--scheduler ADDRESS``; see :mod:`sarle.jobs`).

A PATH is an SA-1B per-image JSON, a tar shard, a directory of extracted
files or a directory of shards; ``--sample`` uses the shard bundled with
sarle. ``--json`` prints machine-readable output. Errors are one line on
stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from . import __version__, codec, sa1b

QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


# --------------------------------------------------------------------------- inputs


def expand_paths(paths: Sequence[str]) -> List[str]:
    """Shards to read: a directory of ``*.tar`` files counts as its tars."""
    out = []
    for path in paths:
        if os.path.isdir(path):
            tars = sorted(
                (os.path.join(path, n) for n in os.listdir(path) if n.endswith((".tar", ".tar.gz"))),
                key=sa1b._natural,
            )
            out.extend(tars if tars else [path])
        elif os.path.exists(path):
            out.append(path)
        else:
            raise ValueError(f"{path}: no such file or directory")
    return out


class JsonSource:
    """One SA-1B JSON file as a source of one sample (its ``.jpg`` beside it, if any)."""

    def __init__(self, path: str, images: bool, on_error: str, check: bool = True) -> None:
        self.path, self.images, self.on_error, self.check = path, images, on_error, check
        self.skipped: List[sa1b.Skipped] = []
        self.warn = True  # a JSON file is one sample: nothing to warn about at the end

    def __iter__(self) -> Iterator[sa1b.Sample]:
        try:
            record = sa1b.load(self.path, check=self.check)
        except ValueError as error:
            if self.on_error == "raise":
                raise
            self.skipped.append(sa1b.Skipped(self.path, os.path.basename(self.path), str(error)))
            return
        jpeg = None
        jpeg_path = self.path[: -len(".json")] + ".jpg"
        if self.images and os.path.exists(jpeg_path):
            with open(jpeg_path, "rb") as handle:
                jpeg = handle.read()
        yield sa1b.Sample(os.path.basename(jpeg_path)[: -len(".jpg")], record, jpeg, self.path)


def open_samples(path: str, *, images: bool, on_error: str = "raise", check: bool = True) -> Any:
    """An iterable of samples with a ``skipped`` list: a JSON file, a shard or a directory."""
    if path.lower().endswith(".json") and not os.path.isdir(path):
        return JsonSource(path, images, on_error, check)
    return sa1b.iter_shard(path, images=images, on_error=on_error, check=check)


def quiet_samples(source: Any) -> Iterator[sa1b.Sample]:
    """Iterate without the skipped-samples warning (the commands report skips themselves)."""
    source.warn = False
    return iter(source)


# --------------------------------------------------------------------------- progress


class Progress:
    """A one-line progress display on stderr (only on a terminal unless forced)."""

    def __init__(self, total: int, enabled: Optional[bool] = None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.last = 0.0
        self.shards = self.images = self.masks = 0

    def update(self, shards: int = 0, images: int = 0, masks: int = 0) -> None:
        self.shards += shards
        self.images += images
        self.masks += masks
        now = time.perf_counter()
        if self.enabled and (now - self.last > 0.2 or shards):
            self.last = now
            rate = self.images / max(now - self.start, 1e-9)
            sys.stderr.write(
                f"\r  shards {self.shards}/{self.total}  images {self.images}  masks {self.masks}"
                f"  {rate:.1f} images/s "
            )
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


# --------------------------------------------------------------------------- statistics


def _edges() -> Dict[str, np.ndarray]:
    return {
        "masks_per_image": np.array([0, 1, 10, 25, 50, 75, 100, 125, 150, 200, 300, 500, np.inf]),
        "area_fraction": np.concatenate([[0.0], 10.0 ** np.arange(-7.0, 0.01, 0.5), [np.inf]]),
        "predicted_iou": np.concatenate([[-np.inf], np.round(np.arange(0.80, 1.041, 0.02), 2), [np.inf]]),
        "stability_score": np.concatenate([[-np.inf], np.round(np.arange(0.80, 1.001, 0.02), 2), [np.inf]]),
    }


class DatasetStats:
    """Counts and fixed-bin histograms of SA-1B records; merges exactly.

    Every number is an integer count (or a sum of integers), so the stats
    of a dataset equal the merge of its shards' stats in any order.
    ``keep_values=True`` also keeps per-mask values for exact quantiles.
    """

    def __init__(self, keep_values: bool = False) -> None:
        self.images = 0
        self.masks = 0
        self.pixels = 0
        self.mask_pixels = 0
        self.image_sizes: Dict[str, int] = {}
        self.edges = _edges()
        self.hist = {k: np.zeros(len(e) - 1, dtype=np.int64) for k, e in self.edges.items()}
        self.keep_values = keep_values
        self.values: Dict[str, List[np.ndarray]] = {k: [] for k in self.edges}
        self.skipped: List[str] = []

    def add(self, record: sa1b.ImageRecord) -> None:
        h, w = record.height, record.width
        n = len(record)
        self.images += 1
        self.masks += n
        self.pixels += h * w
        size = f"{h}x{w}"
        self.image_sizes[size] = self.image_sizes.get(size, 0) + 1
        areas = record.areas
        self.mask_pixels += int(areas.sum())
        columns = {
            "masks_per_image": np.array([n], dtype=np.float64),
            "area_fraction": areas / float(h * w) if h * w else np.zeros(n),
            "predicted_iou": record.predicted_iou,
            "stability_score": record.stability_score,
        }
        for key, values in columns.items():
            self.hist[key] += _histogram(values, self.edges[key])
            if self.keep_values:
                self.values[key].append(np.asarray(values, dtype=np.float64))

    def merge(self, other: "DatasetStats") -> "DatasetStats":
        self.images += other.images
        self.masks += other.masks
        self.pixels += other.pixels
        self.mask_pixels += other.mask_pixels
        for size, count in other.image_sizes.items():
            self.image_sizes[size] = self.image_sizes.get(size, 0) + count
        for key in self.hist:
            self.hist[key] += other.hist[key]
            self.values[key].extend(other.values[key])
        self.skipped.extend(other.skipped)
        return self

    def quantiles(self, key: str) -> Optional[List[float]]:
        if not self.values[key]:
            return None
        values = np.concatenate(self.values[key])
        return [float(v) for v in np.quantile(values, QUANTILES)] if values.size else None

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "images": self.images,
            "masks": self.masks,
            "masks_per_image_mean": self.masks / self.images if self.images else 0.0,
            "image_sizes": dict(sorted(self.image_sizes.items(), key=lambda kv: -kv[1])),
            "mask_pixels_fraction": self.mask_pixels / self.pixels if self.pixels else 0.0,
            "histograms": {
                key: {"edges": [_finite(e) for e in self.edges[key]], "counts": self.hist[key].tolist()}
                for key in self.hist
            },
            "skipped": list(self.skipped),
        }
        if self.keep_values:
            out["quantiles"] = {
                "q": list(QUANTILES),
                **{key: self.quantiles(key) for key in self.values},
            }
        return out


def _finite(value: float) -> Any:
    return value if np.isfinite(value) else ("inf" if value > 0 else "-inf")


def _histogram(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin ``[edges[i], edges[i+1])``; the last bin includes +inf."""
    index = np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="right") - 1
    index = np.clip(index, 0, len(edges) - 2)
    return np.bincount(index, minlength=len(edges) - 1).astype(np.int64)


def collect_stats(
    paths: Sequence[str], *, keep_values: bool, on_error: str, progress: Progress
) -> DatasetStats:
    total = DatasetStats(keep_values)
    for path in paths:
        total.merge(shard_stats(path, keep_values=keep_values, on_error=on_error, progress=progress))
        progress.update(shards=1)
    return total


def shard_stats(
    path: str, *, keep_values: bool = False, on_error: str = "raise", progress: Optional[Progress] = None
) -> DatasetStats:
    """The :class:`DatasetStats` of one shard, JSON file or directory."""
    stats = DatasetStats(keep_values)
    source = open_samples(path, images=False, on_error=on_error)
    for sample in quiet_samples(source):
        try:
            stats.add(sample.record)
        except ValueError as error:
            if on_error == "raise":
                raise
            stats.skipped.append(str(error))
            continue
        if progress is not None:
            progress.update(images=1, masks=len(sample.record))
    stats.skipped[:0] = [str(s) for s in source.skipped]
    return stats


# --------------------------------------------------------------------------- info


def _format_quantiles(values: Optional[List[float]], digits: int = 4) -> str:
    if values is None:
        return "-"
    return "  ".join(f"{v:.{digits}g}" for v in values)


def cmd_info(args: argparse.Namespace) -> int:
    paths = _paths(args)
    progress = Progress(len(paths), enabled=False if args.json else None)
    stats = collect_stats(paths, keep_values=True, on_error=args.on_error, progress=progress)
    progress.close()
    if args.json:
        print(json.dumps({"paths": paths, **stats.to_json()}, indent=2))
        return 0
    print(f"{', '.join(paths)}")
    print(f"  images: {stats.images}   masks: {stats.masks}"
          f"   masks per image: {stats.masks / max(stats.images, 1):.1f}")
    sizes = sorted(stats.image_sizes.items(), key=lambda kv: -kv[1])
    print("  image sizes (h x w): " + ", ".join(f"{s} ({c})" for s, c in sizes[:8])
          + (f", ... {len(sizes) - 8} more" if len(sizes) > 8 else ""))
    print(f"  quantiles            {'  '.join(f'q{int(q * 100):<3d}' for q in QUANTILES)}")
    for key, label in (
        ("masks_per_image", "masks per image"),
        ("area_fraction", "area / image"),
        ("predicted_iou", "predicted_iou"),
        ("stability_score", "stability_score"),
    ):
        print(f"  {label:20s} {_format_quantiles(stats.quantiles(key))}")
    _report_skipped(stats.skipped)
    return 0


def _report_skipped(skipped: List[str]) -> None:
    if skipped:
        print(f"  skipped {len(skipped)} sample(s):", file=sys.stderr)
        for line in skipped:
            print(f"    {line}", file=sys.stderr)


# --------------------------------------------------------------------------- verify


def verify_record(record: sa1b.ImageRecord, seen_ids: Optional[Dict[int, str]] = None) -> List[str]:
    """Every problem with one record, as lines ``<where>: <problem>``.

    Structure and field types (:meth:`ImageRecord.problems`); every counts
    string parses and sums to h·w; stored ``area`` equals the decoded area;
    stored ``bbox`` is SA-1B's ``toBbox`` with w and h minus 1; ids unique in
    the record and, with ``seen_ids``, across records.
    """
    problems = list(record.problems())
    try:
        h, w = record.height, record.width
    except ValueError:
        return problems
    n = len(record)
    usable = [
        i for i, a in enumerate(record.annotations)
        if record._annotation_problem(i, a, h, w) is None
    ]
    decoded_area = np.zeros(n, dtype=np.int64)
    true_boxes = np.zeros((n, 4))
    valid = np.zeros(n, dtype=bool)
    rles = [record.annotations[i]["segmentation"] for i in usable]
    try:
        if rles:
            decoded_area[usable] = codec.area(rles).astype(np.int64)
            true_boxes[usable] = codec.bbox(rles)
        valid[usable] = True
    except ValueError:
        for i in usable:
            rle = record.annotations[i]["segmentation"]
            try:
                decoded_area[i] = int(codec.area(rle))
                true_boxes[i] = codec.bbox(rle)
                valid[i] = True
            except ValueError as error:
                problems.append(f"{record.where(i)}: {error}")
    for i in np.flatnonzero(valid):
        annotation = record.annotations[i]
        where = record.where(int(i))
        area = annotation.get("area")
        if record._field_problem(int(i), "area", area) is None and area != decoded_area[i]:
            problems.append(f"{where}: stored area {area} != decoded area {int(decoded_area[i])}")
        box = annotation.get("bbox")
        if record._field_problem(int(i), "bbox", box) is None:
            expected = true_boxes[i].copy()
            expected[2:] = np.maximum(expected[2:] - 1, 0)
            if not np.array_equal(np.asarray(box, dtype=np.float64), expected):
                problems.append(
                    f"{where}: stored bbox {list(box)} is not SA-1B's toBbox-minus-1"
                    f" {expected.tolist()} (toBbox {true_boxes[i].tolist()})"
                )
    ids: Dict[int, int] = {}
    for i, annotation in enumerate(record.annotations):
        ident = annotation.get("id") if isinstance(annotation, dict) else None
        if ident is None or record._field_problem(i, "id", ident) is not None:
            continue
        if ident in ids:
            problems.append(f"{record.where(i)}: id {ident} repeats annotation {ids[ident]}")
            continue
        ids[ident] = i
        if seen_ids is not None:
            if ident in seen_ids:
                problems.append(f"{record.where(i)}: id {ident} also in {seen_ids[ident]}")
            else:
                seen_ids[ident] = record.source
    return sorted(problems, key=_annotation_index)


def _annotation_index(message: str) -> int:
    found = re.search(r": annotation (\d+)", message)
    return int(found.group(1)) if found else -1


def _jpeg_problem(sample: sa1b.Sample) -> Optional[str]:
    if sample.jpeg is None:
        return None
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return None
    try:
        with Image.open(io.BytesIO(sample.jpeg)) as picture:
            width, height = picture.size
            picture.verify()
    except Exception as error:  # Pillow raises many kinds
        return f"{sample.shard}: {sample.key}.jpg: not a readable image ({error})"
    record = sample.record
    if (height, width) != (record.height, record.width):
        return (f"{sample.shard}: {sample.key}.jpg: image is {height}x{width}, the JSON says"
                f" {record.height}x{record.width}")
    return None


def verify_shard(path: str, progress: Optional[Progress] = None) -> Any:
    """Every problem in one shard, JSON file or directory (ids checked per shard)."""
    from .jobs import VerifyResult

    result = VerifyResult(path)
    seen_ids: Dict[int, str] = {}
    source = open_samples(path, images=True, on_error="skip", check=False)
    for sample in quiet_samples(source):
        result.images += 1
        result.masks += len(sample.record)
        result.problems.extend(verify_record(sample.record, seen_ids))
        jpeg = _jpeg_problem(sample)
        if jpeg:
            result.problems.append(jpeg)
        if progress is not None:
            progress.update(images=1, masks=len(sample.record))
    result.problems.extend(str(s) for s in source.skipped)
    return result


def cmd_verify(args: argparse.Namespace) -> int:
    from .jobs import verify_task

    paths = _paths(args)
    report, progress = _run(args, verify_task, paths)
    images = sum(r.images for r in report.ordered())
    masks = sum(r.masks for r in report.ordered())
    problems = [line for r in report.ordered() for line in r.problems]
    problems += [f"not verified: {_prefixed(path, error)}" for path, error in report.failed.items()]
    if args.json:
        print(json.dumps({"paths": paths, "images": images, "masks": masks,
                          "ok": not problems, "problems": problems}, indent=2))
    else:
        status = "OK" if not problems else f"{len(problems)} problem(s)"
        print(f"{_names(paths)}: {images} images, {masks} masks checked: {status}")
        limit = len(problems) if args.all else 50
        for line in problems[:limit]:
            print(f"  {line}")
        if len(problems) > limit:
            print(f"  ... and {len(problems) - limit} more (--all shows every one)")
    return 0 if not problems else 1


def _prefixed(path: str, error: str) -> str:
    """``path: error``, unless the error already starts with the path."""
    return error if error.startswith(path) else f"{path}: {error}"


def _names(paths: Sequence[str]) -> str:
    return ", ".join(paths) if len(paths) <= 3 else f"{len(paths)} shards"


def _run(args: argparse.Namespace, task: Any, paths: List[str], *task_args: Any) -> Tuple[Any, Progress]:
    """Run a shard task in process or on Dask, with progress on stderr."""
    from .jobs import run_shards

    distributed = args.scheduler is not None or args.workers is not None
    progress = Progress(len(paths), enabled=False if getattr(args, "json", False) else args.progress)

    def finished(path: str, result: Any) -> None:
        if distributed:
            progress.update(shards=1, images=getattr(result, "images", 0), masks=getattr(result, "masks", 0))
        else:
            progress.update(shards=1)

    try:
        report = run_shards(
            task, paths, *task_args, scheduler=args.scheduler, workers=args.workers,
            retries=args.retries, on_result=finished, progress=None if distributed else progress,
        )
    finally:
        progress.close()
    return report, progress


# --------------------------------------------------------------------------- render


def _pick_sample(path: str, key: Optional[str], images: bool) -> sa1b.Sample:
    source = open_samples(path, images=images)
    for sample in source:
        if key is None or sample.key == key or sample.record.file_name in (key, f"{key}.jpg"):
            return sample
    if key is None:
        raise ValueError(f"{path}: no samples")
    raise ValueError(f"{path}: no sample with key {key!r}")


def cmd_render(args: argparse.Namespace) -> int:
    from . import render

    paths = _paths(args)
    if len(paths) != 1:
        raise ValueError("render takes one path (a JSON, a shard or a directory)")
    sample = _pick_sample(paths[0], args.key, images=not args.labels)
    record = sample.record.filter(
        min_predicted_iou=args.min_iou,
        min_stability_score=args.min_stability,
        min_area=args.min_area,
        max_area_fraction=args.max_area_fraction,
    )
    image = None
    if not args.labels:
        if sample.jpeg is None:
            print(f"sarle render: {sample.key}: no image found; drawing the label map only",
                  file=sys.stderr)
        else:
            image = sample.image()
            if image.shape[:2] != (record.height, record.width):
                raise ValueError(
                    f"{sample.shard}: {sample.key}.jpg is {image.shape[0]}x{image.shape[1]},"
                    f" the JSON says {record.height}x{record.width}"
                )
    if len(record):
        picture = render.overlay(
            record.segmentations, image, alpha=args.alpha, outline=not args.no_outline
        )
    else:
        picture = image.copy() if image is not None else np.full(
            (record.height, record.width, 3), 24, dtype=np.uint8
        )
    output = args.output or f"{sample.key}.png"
    render.write_png(picture, output)
    kept = f"{len(record)} of {len(sample.record)}" if len(record) != len(sample.record) else str(len(record))
    print(f"wrote {output}: {sample.key}, {record.width}x{record.height} px, {kept} masks"
          + ("" if image is not None else " (label map)"))
    return 0


# --------------------------------------------------------------------------- stats


def cmd_stats(args: argparse.Namespace) -> int:
    from .jobs import stats_task

    paths = _paths(args)
    report, _ = _run(args, stats_task, paths, args.on_error)
    stats = DatasetStats()
    for shard in report.ordered():
        stats.merge(shard)
    result = stats.to_json()
    result["failed"] = report.failed
    if args.json:
        print(json.dumps({"paths": paths, **result}, indent=2))
        return 1 if report.failed else 0
    print(f"{len(paths)} shard(s): {stats.images} images, {stats.masks} masks,"
          f" {result['masks_per_image_mean']:.1f} masks per image; mask areas sum to"
          f" {result['mask_pixels_fraction']:.2f}x the image area (masks overlap)")
    for key, label in (
        ("masks_per_image", "masks per image"),
        ("area_fraction", "mask area / image area"),
        ("predicted_iou", "predicted_iou"),
        ("stability_score", "stability_score"),
    ):
        print(f"\n{label}:")
        _print_histogram(stats.edges[key], stats.hist[key], log=key == "area_fraction")
    _report_skipped(stats.skipped)
    _report_failed(report.failed)
    return 1 if report.failed else 0


def _report_failed(failed: Dict[str, str]) -> None:
    if failed:
        print(f"failed: {len(failed)} shard(s):", file=sys.stderr)
        for path, error in failed.items():
            print(f"  {_prefixed(path, error)}", file=sys.stderr)


# --------------------------------------------------------------------------- export


def cmd_export(args: argparse.Namespace) -> int:
    from .export import shard_name
    from .jobs import export_task

    paths = _paths(args)
    names = [shard_name(p) for p in paths]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"shards with the same name would share an export: {', '.join(twice)}")
    report, _ = _run(args, export_task, paths, args.out, args.size, args.label_map, args.on_error)
    done = [r for r in report.ordered() if not r.already_done]
    skipped_shards = [r for r in report.ordered() if r.already_done]
    images = sum(r.images for r in done)
    masks = sum(r.masks for r in done)
    seconds = sum(r.seconds for r in done)
    summary = {
        "out": args.out,
        "long_side": args.size,
        "label_map": args.label_map,
        "exported": [r.path for r in done],
        "already_done": [r.path for r in skipped_shards],
        "failed": report.failed,
        "skipped_samples": [line for r in report.ordered() for line in r.skipped],
        "images": images,
        "masks": masks,
        "seconds": report.seconds,
        "shard_seconds": seconds,
        "where": report.where,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"exported {len(done)} shard(s) ({images} images, {masks} masks) to {args.out}"
              f" at long side {args.size} in {report.seconds:.1f} s ({report.where})")
        if skipped_shards:
            print(f"already done, skipped: {len(skipped_shards)} shard(s)"
                  + (f" ({', '.join(shard_names(skipped_shards))})" if len(skipped_shards) <= 5 else ""))
        if summary["skipped_samples"]:
            print(f"samples left out (on_error=skip): {len(summary['skipped_samples'])}")
            for line in summary["skipped_samples"]:
                print(f"  {line}")
        _report_failed(report.failed)
    return 1 if report.failed else 0


def shard_names(results: Sequence[Any]) -> List[str]:
    return [os.path.basename(r.path) for r in results]


def _print_histogram(edges: np.ndarray, counts: np.ndarray, log: bool = False) -> None:
    total = max(int(counts.sum()), 1)
    peak = max(int(counts.max()), 1) if counts.size else 1

    def edge(v: float) -> str:
        if not np.isfinite(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.0e}" if log and 0 < v < 1 else f"{v:g}"

    for lo, hi, count in zip(edges[:-1], edges[1:], counts):
        if count == 0 and not np.isfinite(lo) or count == 0 and not np.isfinite(hi):
            continue
        bar = "#" * int(round(40 * count / peak))
        print(f"  [{edge(lo):>6s}, {edge(hi):>6s})  {int(count):>10d}  {100 * count / total:5.1f}%  {bar}")


# --------------------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    from . import _bench

    results = _bench.run(repeat=args.repeat, out=sys.stdout if not args.json else None)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


# --------------------------------------------------------------------------- main


def _paths(args: argparse.Namespace) -> List[str]:
    given = getattr(args, "paths", None) or []
    given = [given] if isinstance(given, str) else list(given)
    if args.sample:
        given.append(sa1b.sample_path())
    if not given:
        raise ValueError("give a PATH (an SA-1B JSON, a tar shard or a directory) or --sample")
    return expand_paths(given)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sarle",
        description="Fast, safe COCO RLE masks for SA-1B: inspect, check, draw and time shards.",
        epilog="A PATH is an SA-1B per-image JSON, a tar shard (sa_N.jpg + sa_N.json), a directory"
        " of extracted files, or a directory of shards. --sample uses the shard shipped with sarle.",
    )
    parser.add_argument("--version", action="version", version=f"sarle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, many: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("paths", nargs="*" if many else "?", metavar="PATH",
                         help="JSON, shard or directory" + (" (several allowed)" if many else ""))
        sub.add_argument("--sample", action="store_true", help="use the sample shard shipped with sarle")
        return sub

    info = command("info", "images, masks, size distribution and score quantiles")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                      help="skip unreadable samples (they are listed) instead of stopping")
    info.set_defaults(run=cmd_info)

    verify = command("verify", "check every RLE, area, bbox and id; exit status 1 on any problem")
    verify.add_argument("--json", action="store_true", help="print JSON")
    verify.add_argument("--all", action="store_true", help="list every problem (default: first 50)")
    _distributed_options(verify)
    verify.set_defaults(run=cmd_verify)

    render = command("render", "draw an image with its masks overlaid, as PNG", many=False)
    render.add_argument("--key", help="which image, e.g. sa_1 (default: the first)")
    render.add_argument("-o", "--output", help="PNG to write (default: KEY.png)")
    render.add_argument("--labels", action="store_true",
                        help="draw the label map alone, without the image")
    render.add_argument("--alpha", type=float, default=0.5, help="mask opacity (default 0.5)")
    render.add_argument("--no-outline", action="store_true", help="do not outline the masks")
    render.add_argument("--min-iou", type=float, help="keep masks with predicted_iou >= this")
    render.add_argument("--min-stability", type=float, help="keep masks with stability_score >= this")
    render.add_argument("--min-area", type=int, help="keep masks of at least this many pixels")
    render.add_argument("--max-area-fraction", type=float,
                        help="keep masks covering at most this fraction of the image")
    render.set_defaults(run=cmd_render)

    stats = command("stats", "statistics over many shards: masks per image, area and score histograms")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                       help="skip unreadable samples (they are listed) instead of stopping")
    _distributed_options(stats)
    stats.set_defaults(run=cmd_stats)

    export = command("export", "decode masks once at training resolution: bit-packed, memory-mappable,"
                     " one export per shard")
    export.add_argument("--out", required=True, help="directory for the exports (SHARD.sarle/ each)")
    export.add_argument("--size", type=int, default=1024,
                        help="long side of the exported masks in pixels (default 1024; e.g. 256)")
    export.add_argument("--label-map", action="store_true",
                        help="also store a uint16 label map per image (smaller masks on top)")
    export.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="leave out unreadable samples (listed in the summary and meta.json)")
    export.add_argument("--json", action="store_true", help="print the summary as JSON")
    _distributed_options(export)
    export.set_defaults(run=cmd_export)

    bench = commands.add_parser(
        "bench", help="time the codec on the sample shard against pycocotools and rlemasklib",
        description="Time sarle on the bundled sample shard, against pycocotools and rlemasklib"
        " when they are installed (pip install 'sarle[bench]'). The full benchmark is"
        " benchmarks/bench.py in the source tree.")
    bench.add_argument("--repeat", type=int, default=7, help="repeats per job (median; default 7)")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.set_defaults(run=cmd_bench)
    return parser


def _distributed_options(sub: argparse.ArgumentParser) -> None:
    where = sub.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run one task per shard on this Dask scheduler (tcp://host:8786)")
    where.add_argument("--workers", type=int, metavar="N",
                       help="start a local Dask cluster of N worker processes for the run")
    sub.add_argument("--retries", type=int, default=2,
                     help="retry a failing shard this many times before reporting it (default 2)")
    sub.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="progress on stderr (default: when stderr is a terminal)")


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # e.g. `sarle verify ... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, ValueError, TypeError) as error:
        print(f"sarle {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sarle {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
