"""Time sarle against pycocotools and rlemasklib on an SA-1B-like corpus.

All libraries run in one process, on the same inputs, interleaved round-robin
(each repeat times every library in turn, so drifting machine load hits all of
them alike). The reported time is the median of ``--repeat`` samples, each timed
with ``time.perf_counter_ns`` with the garbage collector disabled. Before anything
is timed, every library's output is checked against the others (decoded
arrays identical, counts strings identical, areas/boxes/IoUs equal).

A peer is always called the fastest way its API allows: where a library has
several ways to do a job, every way is timed and the fastest is reported (all
of them are kept in ``--json``). A job may also time *reference* ways (sarle's
threads=1 next to threads=2; its full decode + numpy subsample next to its direct
resample): checked and timed in the same rounds, shown in their own table, never
reported as the library's time.

Usage::

    python benchmarks/bench.py                 # 3 images, 7 repeats
    python benchmarks/bench.py --quick         # 1 image, 3 repeats, under a minute
    python benchmarks/bench.py --images 5 --repeat 11 --json out.json
    python benchmarks/bench.py --corpus DIR    # real SA-1B sa_*.json files instead

See benchmarks/README.md for what each job measures.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import glob
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

LIBS = ("sarle", "pycocotools", "rlemasklib")


# --------------------------------------------------------------------------- libraries

def load_libraries():
    """Import what is installed; return ({name: module}, {name: reason skipped})."""
    mods, missing = {}, {}
    try:
        import sarle
        mods["sarle"] = sarle
    except ImportError as exc:
        missing["sarle"] = f"not importable ({exc})"
    try:
        from pycocotools import mask as coco_mask
        mods["pycocotools"] = coco_mask
    except ImportError as exc:
        missing["pycocotools"] = f"not importable ({exc})"
    try:
        import rlemasklib
        mods["rlemasklib"] = rlemasklib
    except ImportError as exc:
        missing["rlemasklib"] = f"not importable ({exc})"
    return mods, missing


def _version(dist, module=None):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return getattr(module, "__version__", None)


# --------------------------------------------------------------------------- jobs
# A job has inputs built once per image, and for each library a dict of candidate
# callables {way: fn(inputs) -> output}. ``ops`` is how many operations one call of fn
# performs (the table reports time per op). ``same`` compares two outputs.

class NotApplicable(Exception):
    """Raised by a way that cannot do the job on this input (e.g. rlemasklib's uint8 label
    map and more than 255 masks): the way is left out of the job, noted, not a mismatch."""


class Job:
    """One benchmark job.

    ``prepare(image) -> inputs``: a list of items (per-item jobs: one op per item, the
    result dropped before the next) or one object (per-image jobs: one op per image).
    ``ways``: {lib: {way: fn(item or inputs) -> output}}. ``same(a, b)``: None if the
    outputs agree, else a description of the difference.
    ``reference``: {lib: {way: fn}}, ways checked and timed in the same rounds as ``ways``
    but never reported as the library's time for the job (e.g. sarle's full decode then a
    numpy subsample, next to its direct resample); they get their own lines in the table.
    """

    def __init__(self, name, unit, doc, prepare, ways, same, per_item, pixels=None, floor=None,
                 check=True, base=None, reference=None):
        self.name, self.unit, self.doc = name, unit, doc
        self.base = base          # the job this one wraps (its failed ways are skipped here too)
        self.failed = set()       # (lib, way) that raised or were not checked
        self.not_applicable = {}  # (lib, way) -> why it was left out (NotApplicable)
        self.prepare, self.ways, self.same, self.per_item = prepare, ways, same, per_item
        self.reference = reference or {}
        self.check = check        # False: outputs already checked by the job this one wraps
        self.pixels = pixels      # image -> pixels written per op (decode jobs)
        self.floor = floor        # name of the floor measurement for this job


def _touch(arr):
    """Read one byte in every 4 KiB page of a contiguous array (forces lazily zeroed pages in)."""
    return int(np.add.reduce(arr.ravel(order="K").view(np.uint8)[::4096], dtype=np.uint64))


def _touching(job, name, floor, doc):
    """A copy of a decode job whose timed call also touches every page of the output."""
    def wrap(ways):
        return {lib: {way: (lambda x, fn=fn: _touch(fn(x))) for way, fn in d.items()}
                for lib, d in ways.items()}

    return Job(name, job.unit, job.doc + "; " + doc, job.prepare, wrap(job.ways), job.same,
               per_item=job.per_item, pixels=job.pixels, floor=floor, check=False, base=job,
               reference=wrap(job.reference))


def _without_output_pool(fn):
    """``fn`` with sarle's output pool bypassed: every output in fresh memory from numpy,
    as before the pool; the blocks the pool holds are kept for the pooled way."""
    def run(x):
        from sarle import _pool
        saved, _pool.MIN_BYTES = _pool.MIN_BYTES, 1 << 62
        try:
            return fn(x)
        finally:
            _pool.MIN_BYTES = saved
    return run


def _loop(fn):
    """Call fn on every item, dropping each result before the next call."""
    def run(items):
        for x in items:
            fn(x)
    return run


class _Resample:
    """decode_1024 inputs: the image's RLE dicts, the output size, the nearest indices."""
    __slots__ = ("rles", "h2", "w2", "rows", "cols")

    def __init__(self, rles, h2, w2, rows, cols):
        self.rles, self.h2, self.w2, self.rows, self.cols = rles, h2, w2, rows, cols


class _Into:
    """decode_batch_out inputs: the image's RLE dicts and the (n, h, w) C bool array that
    every way writes into and returns (it holds the previous call's result)."""
    __slots__ = ("rles", "out")

    def __init__(self, rles, out):
        self.rles, self.out = rles, out


def _nearest_indices(n_in, n_out):
    """sarle.nearest_indices (PyTorch's nearest), or the same formula when sarle is absent."""
    try:
        import sarle
        return sarle.nearest_indices(n_in, n_out)
    except ImportError:
        scale = np.float32(n_in) / np.float32(n_out)
        idx = np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64)
        return np.minimum(idx, n_in - 1)


def _rles(image):
    return [a["segmentation"] for a in image["annotations"]]


def _size(image):
    h, w = image["annotations"][0]["segmentation"]["size"]
    return int(h), int(w)


LONG_SIDE = 1024   # decode_1024: resample to this many pixels on the long side


def _size_1024(image):
    """(floor(h * s), floor(w * s)) with s = 1024 / max(h, w), in exact integer arithmetic."""
    h, w = _size(image)
    return h * LONG_SIDE // max(h, w), w * LONG_SIDE // max(h, w)


def _same_arrays(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if b.dtype == np.bool_:
        b = b.view(np.uint8)
    if not np.array_equal(a, b):
        bad = np.argwhere(a != b)
        first = tuple(bad[0])
        return f"{len(bad)} elements differ, first at {first}: {a[first]} != {b[first]}"
    return None


def _same_layout(order):
    def same(a, b):
        d = _same_arrays(a, b)
        if d:
            return d
        for x in (a, b):
            if not (x.flags.c_contiguous if order == "C" else x.flags.f_contiguous):
                return f"output not {order}-contiguous (strides {x.strides})"
        return None
    return same


def _counts_str(rle):
    c = rle["counts"]
    return c.decode("ascii") if isinstance(c, bytes) else c


def _same_rle(a, b):
    if [int(v) for v in a["size"]] != [int(v) for v in b["size"]]:
        return f"size {a['size']} != {b['size']}"
    ca, cb = _counts_str(a), _counts_str(b)
    if ca != cb:
        n = min(len(ca), len(cb))
        i = next((k for k in range(n) if ca[k] != cb[k]), n)
        return (f"counts differ at char {i} (len {len(ca)} vs {len(cb)}): "
                f"{ca[max(0, i - 8):i + 8]!r} vs {cb[max(0, i - 8):i + 8]!r}")
    return None


def _same_rle_lists(a, b):
    if len(a) != len(b):
        return f"{len(a)} RLEs != {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        d = _same_rle(x, y)
        if d:
            return f"RLE {i}: {d}"
    return None


def _same_values(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return f"shape {a.shape} != {b.shape}"
    if not np.array_equal(a, b):
        bad = np.argwhere(a != b)
        return (f"{len(bad)} values differ (max abs diff {np.max(np.abs(a - b)):.3g}), first at "
                f"{tuple(bad[0])}: {a[tuple(bad[0])]!r} != {b[tuple(bad[0])]!r}")
    return None


def build_jobs(mods, max_masks):
    """The jobs, with every library's candidate ways of doing them."""
    sarle = mods.get("sarle")
    coco = mods.get("pycocotools")
    rml = mods.get("rlemasklib")
    if rml is not None:
        from rlemasklib import RLEMask
        from rlemasklib import rlemasklib_cython as rml_cy
    jobs = []

    def some_rles(image):
        rles = _rles(image)
        return rles if max_masks is None else rles[:max_masks]

    def n_pixels(image):
        h, w = _size(image)
        return h * w

    def batch_pixels(image):
        return n_pixels(image) * len(_rles(image))

    # -- decode one mask -> F-order ----------------------------------------------------
    ways = {}
    if sarle:
        ways["sarle"] = {"decode(rle, order='F', threads=1)":
                         lambda r: sarle.decode(r, order="F", threads=1)}
    if coco:
        ways["pycocotools"] = {"mask.decode(rle)": coco.decode}
    if rml:
        ways["rlemasklib"] = {
            "rlemasklib.decode(rle)": rml.decode,
            "RLEMask.from_dict(rle).to_array(order='F')":
                lambda r: RLEMask.from_dict(r).to_array(order="F"),
        }
    jobs.append(Job(
        "decode_F", "mask",
        "decode one RLE dict to an (h, w) Fortran-order array (sarle: bool; peers: uint8 0/1), "
        "for each mask of the image in turn, each result dropped before the next",
        some_rles, ways, _same_layout("F"), per_item=True, pixels=n_pixels, floor="mask"))

    # -- decode one mask -> C-order bool -------------------------------------------------
    ways = {}
    if sarle:
        ways["sarle"] = {"decode(rle, threads=1)": lambda r: sarle.decode(r, threads=1)}
    if coco:
        ways["pycocotools"] = {
            "ascontiguousarray(mask.decode(rle)).view(bool)":
                lambda r: np.ascontiguousarray(coco.decode(r)).view(np.bool_)}
    if rml:
        ways["rlemasklib"] = {
            "RLEMask.from_dict(rle).to_array(order='C').view(bool)":
                lambda r: RLEMask.from_dict(r).to_array(order="C").view(np.bool_),
            "ascontiguousarray(rlemasklib.decode(rle)).view(bool)":
                lambda r: np.ascontiguousarray(rml.decode(r)).view(np.bool_),
        }
    jobs.append(Job(
        "decode_C", "mask",
        "decode one RLE dict to an (h, w) C-order bool array (peers: their uint8 0/1 result made "
        "C-contiguous, viewed as bool), for each mask of the image, each result dropped",
        some_rles, ways, _same_layout("C"), per_item=True, pixels=n_pixels, floor="mask"))
    touch_doc = ("then one byte of every 4 KiB page of the output is read, so pages a library "
                 "left untouched (calloc'd zeros) are faulted in as a consumer would")
    jobs.append(_touching(jobs[-1], "decode_C_touch", "mask_fresh", touch_doc))

    # -- batch decode -> (n, h, w) C bool ---------------------------------------------------
    # A 300 MB output is written whole at best by non-temporal stores (measured with sarle's
    # streaming writer); the plain memset floor ("batch") is measured and printed too.
    batch_floor = "batch_stream" if sarle else "batch"
    ways = {}
    if sarle:
        ways["sarle"] = {"decode(rles, threads=1)": lambda rs: sarle.decode(rs, threads=1)}
    if coco:
        ways["pycocotools"] = {
            "ascontiguousarray(mask.decode(rles).transpose(2, 0, 1)).view(bool)":
                lambda rs: np.ascontiguousarray(coco.decode(rs).transpose(2, 0, 1)).view(np.bool_)}
    if rml:
        def rml_stack(rs):
            return np.stack([RLEMask.from_dict(r).to_array(order="C") for r in rs]).view(np.bool_)

        def rml_into(rs):
            h, w = rs[0]["size"]
            out = np.zeros((len(rs), h, w), dtype=np.uint8)
            for i, r in enumerate(rs):
                RLEMask.from_dict(r).decode_into(out[i], fg_value=1)
            return out.view(np.bool_)

        ways["rlemasklib"] = {
            "np.stack([RLEMask.from_dict(r).to_array(order='C')]).view(bool)": rml_stack,
            "out = np.zeros((n, h, w), uint8); RLEMask.from_dict(r).decode_into(out[i], fg_value=1)":
                rml_into,
        }
    reference = {}
    if sarle:
        reference["sarle"] = {
            "decode(rles, threads=1), output pool bypassed (fresh zeroed pages)":
                _without_output_pool(lambda rs: sarle.decode(rs, threads=1))}
    jobs.append(Job(
        "decode_batch", "image",
        "decode all masks of an image into one new C-contiguous (n, h, w) bool array, each "
        "result dropped before the next call (what a torch DataLoader wants; sarle takes the "
        "memory of the dropped result from its output pool)",
        _rles, ways, _same_layout("C"), per_item=False,
        pixels=batch_pixels, floor=batch_floor, reference=reference))
    jobs.append(_touching(jobs[-1], "decode_batch_touch", "batch_fresh", touch_doc))

    # -- batch decode into a reused (n, h, w) C bool array ------------------------------------
    def into_inputs(img):
        return _Into(_rles(img), np.ones((len(_rles(img)),) + _size(img), dtype=np.bool_))

    ways = {}
    if sarle:
        ways["sarle"] = {"decode(rles, out=out, threads=1)":
                         lambda x: sarle.decode(x.rles, out=x.out, threads=1)}
    if coco:
        def coco_whole(x):
            np.copyto(x.out, coco.decode(x.rles).transpose(2, 0, 1).view(np.bool_))
            return x.out

        def coco_each(x):
            for i, r in enumerate(x.rles):
                np.copyto(x.out[i], coco.decode(r).view(np.bool_))
            return x.out

        ways["pycocotools"] = {
            "np.copyto(out, mask.decode(rles).transpose(2, 0, 1).view(bool))": coco_whole,
            "per mask: np.copyto(out[i], mask.decode(r).view(bool))": coco_each,
        }
    if rml:
        def rml_both(x):
            flat = x.out.view(np.uint8)
            for i, r in enumerate(x.rles):
                RLEMask.from_dict(r).decode_into(flat[i], fg_value=1, bg_value=0)
            return x.out

        def rml_fill(x):
            x.out.fill(False)
            flat = x.out.view(np.uint8)
            for i, r in enumerate(x.rles):
                RLEMask.from_dict(r).decode_into(flat[i], fg_value=1)
            return x.out

        ways["rlemasklib"] = {
            "RLEMask.from_dict(r).decode_into(out[i], fg_value=1, bg_value=0)": rml_both,
            "out.fill(False); RLEMask.from_dict(r).decode_into(out[i], fg_value=1)": rml_fill,
        }
    jobs.append(Job(
        "decode_batch_out", "image",
        "decode all masks of an image into a reused C-contiguous (n, h, w) bool array, as "
        "a loader does with one buffer: every byte written (it holds the previous result)",
        into_inputs, ways, _same_layout("C"), per_item=False,
        pixels=batch_pixels, floor=batch_floor))

    # -- batch decode on two threads, against sarle's own one-thread batch decode -------------
    if sarle:
        jobs.append(Job(
            "decode_batch_2threads", "image",
            "decode_batch with threads=2 (sarle only: the peers have no threads); "
            "sarle's threads=1 decode is timed alongside as the reference",
            _rles, {"sarle": {"decode(rles, threads=2)": lambda rs: sarle.decode(rs, threads=2)}},
            _same_layout("C"), per_item=False,
            pixels=batch_pixels, floor=batch_floor,
            reference={"sarle": {"decode(rles, threads=1)":
                                 lambda rs: sarle.decode(rs, threads=1)}}))

    # -- batch decode resampled to 1024 px on the long side -> (n, h2, w2) C bool -------------
    def resample_inputs(img):
        h, w = _size(img)
        h2, w2 = _size_1024(img)
        return _Resample(_rles(img), h2, w2, _nearest_indices(h, h2), _nearest_indices(w, w2))

    def per_mask_subsample(decode_one, x):
        # decode one full mask (C order, bool or a bool view), subsample it into out[i]
        out = np.empty((len(x.rles), x.h2, x.w2), dtype=np.bool_)
        for i, r in enumerate(x.rles):
            # mode="clip": the indices are in range; np.take buffers `out` with mode="raise"
            np.take(decode_one(r).take(x.rows, 0), x.cols, 1, out=out[i], mode="clip")
        return out

    def batch_subsample(full, x):
        # == full[:, rows][:, :, cols], C-contiguous; take is several times faster
        return full.take(x.rows, 1).take(x.cols, 2)

    ways, reference = {}, {}
    if sarle:
        ways["sarle"] = {
            "decode(rles, size=(h2, w2), threads=1)":
                lambda x: sarle.decode(x.rles, size=(x.h2, x.w2), threads=1)}
        reference["sarle"] = {
            "decode(rles, threads=1).take(rows, 1).take(cols, 2)":
                lambda x: batch_subsample(sarle.decode(x.rles, threads=1), x),
            "per mask: decode(r, threads=1).take(rows, 0).take(cols, 1) -> out[i]":
                lambda x: per_mask_subsample(lambda r: sarle.decode(r, threads=1), x),
        }
    if coco:
        def coco_per_mask(x):
            out = np.empty((len(x.rles), x.h2, x.w2), dtype=np.bool_)
            for i, r in enumerate(x.rles):
                out[i] = coco.decode(r).T.view(np.bool_).take(x.cols, 0).take(x.rows, 1).T
            return out

        ways["pycocotools"] = {
            "ascontiguousarray(mask.decode(rles).transpose(2, 0, 1)).view(bool)"
            ".take(rows, 1).take(cols, 2)":
                lambda x: batch_subsample(np.ascontiguousarray(
                    coco.decode(x.rles).transpose(2, 0, 1)).view(np.bool_), x),
            "per mask: mask.decode(r).T.take(cols, 0).take(rows, 1).T -> out[i]": coco_per_mask,
        }
    if rml:
        ways["rlemasklib"] = {
            "decode_into an (n, h, w) uint8 zeros (as decode_batch), .take(rows, 1).take(cols, 2)":
                lambda x: batch_subsample(rml_into(x.rles), x),
            "per mask: RLEMask.from_dict(r).to_array(order='C').take(rows, 0).take(cols, 1) -> out[i]":
                lambda x: per_mask_subsample(
                    lambda r: RLEMask.from_dict(r).to_array(order="C").view(np.bool_), x),
        }
    jobs.append(Job(
        "decode_1024", "image",
        f"decode all masks of an image resampled (nearest) to {LONG_SIDE} px on the long side: "
        "(n, h2, w2) C bool, h2 = floor(h * s), w2 = floor(w * s), s = 1024 / max(h, w); "
        "sarle from the runs (size=), the peers by a full decode and a numpy subsample with "
        "sarle.nearest_indices (rows, cols computed outside the timing)",
        resample_inputs, ways, _same_layout("C"), per_item=False,
        pixels=lambda img: int(np.prod(_size_1024(img))) * len(_rles(img)), floor="batch_1024",
        reference=reference))
    jobs.append(_touching(jobs[-1], "decode_1024_touch", "batch_1024_fresh", touch_doc))

    # -- encode a C-order bool mask -------------------------------------------------------
    def dense_masks(img):
        rs = some_rles(img)
        if coco:
            return [np.ascontiguousarray(coco.decode(r)).view(np.bool_) for r in rs]
        if sarle:
            return [sarle.decode(r, threads=1) for r in rs]
        return [RLEMask.from_dict(r).to_array(order="C").view(np.bool_) for r in rs]

    ways = {}
    if sarle:
        ways["sarle"] = {"encode(mask, threads=1)": lambda m: sarle.encode(m, threads=1)}
    if coco:
        ways["pycocotools"] = {
            "mask.encode(asfortranarray(mask.view(uint8)))":
                lambda m: coco.encode(np.asfortranarray(m.view(np.uint8))),
            "mask.encode(asfortranarray(mask.astype(uint8)))":
                lambda m: coco.encode(np.asfortranarray(m.astype(np.uint8))),
        }
    if rml:
        ways["rlemasklib"] = {
            "rlemasklib.encode(mask)": rml.encode,
            "RLEMask.from_array(mask).to_dict()": lambda m: RLEMask.from_array(m).to_dict(),
        }
    jobs.append(Job(
        "encode", "mask",
        "encode one (h, w) C-order bool mask to an RLE dict with a compressed counts string "
        "(pycocotools: including the copy to the uint8 Fortran-order array it requires)",
        dense_masks, ways, _same_rle, per_item=True, pixels=n_pixels, floor="mask_read"))

    # -- encode an image's masks given as one (n, h, w) array (a model's output) ---------------
    def dense_batch(img):
        if sarle:
            return sarle.decode(_rles(img), threads=1)
        return np.stack(dense_masks(img))

    ways = {}
    if sarle:
        ways["sarle"] = {"encode(masks, threads=1)": lambda b: sarle.encode(b, threads=1)}
    if coco:
        ways["pycocotools"] = {
            "mask.encode(asfortranarray(masks.view(uint8).transpose(1, 2, 0)))":
                lambda b: coco.encode(np.asfortranarray(b.view(np.uint8).transpose(1, 2, 0))),
            "[mask.encode(asfortranarray(m.view(uint8))) for m in masks]":
                lambda b: [coco.encode(np.asfortranarray(m.view(np.uint8))) for m in b],
        }
    if rml:
        ways["rlemasklib"] = {
            "[rlemasklib.encode(m) for m in masks]": lambda b: [rml.encode(m) for m in b],
            "[RLEMask.from_array(m).to_dict() for m in masks]":
                lambda b: [RLEMask.from_array(m).to_dict() for m in b],
        }
    jobs.append(Job(
        "encode_batch", "image",
        "encode an image's masks given as one (n, h, w) C-order bool array, as a model outputs "
        "them, to a list of RLE dicts (pycocotools: with the copy to the uint8 Fortran-order "
        "layout it requires)",
        dense_batch, ways, _same_rle_lists, per_item=False, pixels=batch_pixels,
        floor="batch_read"))

    # -- area, bbox ---------------------------------------------------------------------------
    ways = {}
    if sarle:
        ways["sarle"] = {"area(rles, threads=1)": lambda rs: sarle.area(rs, threads=1)}
    if coco:
        ways["pycocotools"] = {"mask.area(rles)": coco.area}
    if rml:
        ways["rlemasklib"] = {"rlemasklib.area(rles)": rml.area}
    jobs.append(Job(
        "area", "image", "areas of all masks of an image (a list of RLE dicts in, an array out)",
        _rles, ways, _same_values, per_item=False))

    ways = {}
    if sarle:
        ways["sarle"] = {"bbox(rles, threads=1)": lambda rs: sarle.bbox(rs, threads=1)}
    if coco:
        ways["pycocotools"] = {"mask.toBbox(rles)": coco.toBbox}
    if rml:
        ways["rlemasklib"] = {
            "rlemasklib.to_bbox(rles)": rml.to_bbox,
            "rlemasklib_cython.toBbox(rles)": rml_cy.toBbox,
        }
    jobs.append(Job(
        "bbox", "image",
        "bounding boxes [x, y, w, h] (toBbox convention) of all masks of an image",
        _rles, ways, _same_values, per_item=False))

    # -- parse: the front end of IoU and merge ------------------------------------------------
    if sarle:
        from sarle import _rle

        def parse_all(rs):
            counts = [r["counts"] for r in rs]
            hs = np.array([r["size"][0] for r in rs], dtype=np.int64)
            ws = np.array([r["size"][1] for r in rs], dtype=np.int64)
            return np.diff(_rle.boundaries_many(counts, hs, ws, 0)[1])   # boundaries per mask

        jobs.append(Job(
            "parse", "image",
            "parse every counts string of an image into run boundaries, as IoU and merge do "
            "(sarle only, the private kernel iou() calls: the peers parse inside their calls); 'pixels' are "
            "characters of counts here, so MP/s is MB/s of counts parsed",
            _rles, {"sarle": {"_rle.boundaries_many(counts, hs, ws)": parse_all}},
            _same_values, per_item=False,
            pixels=lambda img: sum(len(r["counts"]) for r in _rles(img))))

    # -- IoU n x n ------------------------------------------------------------------------------
    ways = {}
    if sarle:
        ways["sarle"] = {"iou(rles, rles, threads=1)": lambda rs: sarle.iou(rs, rs, threads=1)}
    if coco:
        ways["pycocotools"] = {
            "mask.iou(rles, rles, [0] * n)": lambda rs: coco.iou(rs, rs, [0] * len(rs))}
    if rml:
        def rml_matrix(rs):
            ms = [RLEMask.from_dict(r) for r in rs]
            return RLEMask.iou_matrix(ms, ms)

        ways["rlemasklib"] = {
            "RLEMask.iou_matrix(ms, ms), ms = [RLEMask.from_dict(r)]": rml_matrix,
            "rlemasklib_cython.iou(rles, rles, [0] * n)": lambda rs: rml_cy.iou(rs, rs, [0] * len(rs)),
        }
    jobs.append(Job(
        "iou", "image",
        "n x n IoU matrix of an image's masks against themselves, from RLE dicts, no crowd",
        _rles, ways, _same_values, per_item=False))

    # -- merge --------------------------------------------------------------------------------
    ways = {}
    if sarle:
        ways["sarle"] = {"merge(rles)": sarle.merge}
    if coco:
        ways["pycocotools"] = {"mask.merge(rles)": coco.merge}
    if rml:
        ways["rlemasklib"] = {
            "rlemasklib.union(rles)": rml.union,
            "RLEMask.union([RLEMask.from_dict(r)]).to_dict()":
                lambda rs: RLEMask.union([RLEMask.from_dict(r) for r in rs]).to_dict(),
        }

    def not_full(img):
        # the full mask would make the union trivially the whole image: leave it out
        return [a["segmentation"] for a in img["annotations"] if a["area"] != n_pixels(img)]

    jobs.append(Job(
        "merge", "image",
        "union of all masks of an image (except the full one) into one RLE dict",
        not_full, ways, _same_rle, per_item=False))

    def pairs(img):
        rs = some_rles(img)
        return [[rs[i], rs[i + 1]] for i in range(len(rs) - 1)]

    jobs.append(Job(
        "merge_pair", "pair", "union of two masks (masks i and i + 1 of an image)",
        pairs, ways, _same_rle, per_item=True))

    # -- instance label map of an image ----------------------------------------------------
    ways = {}
    if sarle:
        def sarle_label_map_uint8(rs):
            if len(rs) > 255:
                raise NotApplicable(f"uint8 labels: at most 255 masks, this image has {len(rs)}")
            return sarle.label_map(rs, dtype=np.uint8, order="F")

        ways["sarle"] = {"label_map(rles) (int32 C)": sarle.label_map,
                         "label_map(rles, dtype=uint8, order='F')": sarle_label_map_uint8}
    if coco:
        def coco_paint(rs):
            m = coco.decode(rs)
            lm = np.zeros(m.shape[:2], dtype=np.int32)
            for i in range(m.shape[2]):
                lm[m[..., i] > 0] = i + 1
            return lm

        def coco_paint_per_mask(rs):
            h, w = rs[0]["size"]
            lm = np.zeros((h, w), dtype=np.int32, order="F")
            for i, r in enumerate(rs):
                np.copyto(lm, i + 1, where=coco.decode(r).view(np.bool_))
            return lm

        ways["pycocotools"] = {
            "m = mask.decode(rles); lm[m[..., i] > 0] = i + 1 (lm int32 C)": coco_paint,
            "per mask: np.copyto(lm, i + 1, where=mask.decode(r).view(bool)) (lm int32 F)":
                coco_paint_per_mask,
        }
    if rml:
        def rml_label_map(rs):
            if len(rs) > 255:
                raise NotApplicable(f"merge_to_label_map returns uint8: at most 255 masks, "
                                    f"this image has {len(rs)}")
            return RLEMask.merge_to_label_map([RLEMask.from_dict(r) for r in rs])

        ways["rlemasklib"] = {
            "RLEMask.merge_to_label_map([RLEMask.from_dict(r)]) (uint8 F)": rml_label_map}
    jobs.append(Job(
        "label_map", "image",
        "instance label map of an image: (h, w), 0 for background, i + 1 where mask i is, later "
        "masks on top (sarle: int32 C, or uint8 F like rlemasklib when the labels fit; "
        "rlemasklib: uint8 F; pycocotools: int32 painted with numpy); values compared, not "
        "dtype or layout",
        _rles, ways, _same_arrays, per_item=False))
    return jobs


def check_outputs(job, idx, inputs, ways, mismatches):
    """Compare every way's output with the first way's; return the ways that raised.

    Per-item jobs are compared item by item (so only two outputs are alive at a time).
    This pass also warms every way up before it is timed.
    """
    failed = set()
    items = inputs if job.per_item else [inputs]
    reported = set()
    for k, item in enumerate(items):
        ref_key, ref = None, None
        for lib, way, fn in ways:
            if (lib, way) in failed:
                continue
            into = getattr(item, "out", None)   # a way that writes into the inputs' array:
            if into is not None:                # it starts from all ones, and its result is
                into.fill(True)                 # copied before the next way overwrites it
            try:
                out = fn(item)
                if into is not None and out is into:
                    out = out.copy()
            except NotApplicable as exc:  # noted, not a mismatch; this way is not timed
                failed.add((lib, way))
                job.not_applicable[(lib, way)] = f"image {idx}: {exc}"
                print(f"# note: {job.name} image {idx}: {lib} {way} not timed: {exc}")
                continue
            except Exception as exc:  # reported, and this way is not timed
                failed.add((lib, way))
                msg = f"{job.name} image {idx} item {k}: {lib} {way} raised {type(exc).__name__}: {exc}"
                mismatches.append(msg)
                print("# MISMATCH " + msg)
                continue
            if ref_key is None:
                ref_key, ref = (lib, way), out
                continue
            diff = job.same(ref, out)
            if diff and (lib, way) not in reported:
                reported.add((lib, way))
                where = f" item {k}" if job.per_item else ""
                msg = (f"{job.name} image {idx}{where}: {lib} {way} != {ref_key[0]} "
                       f"{ref_key[1]}: {diff}")
                mismatches.append(msg)
                print("# MISMATCH " + msg)
            del out
        del ref
    return failed


# --------------------------------------------------------------------------- timing

def _sample_ns(fn, arg, number):
    t0 = time.perf_counter_ns()
    for _ in range(number):
        fn(arg)
    return (time.perf_counter_ns() - t0) / number


def time_interleaved(calls, repeat, min_sample_ns):
    """calls: {key: (fn, arg)}. Returns ({key: [ns per call, one per repeat]}, {key: exception}).

    Each repeat times every call in turn (round-robin, starting one further along each
    round). ``number`` (calls per sample) is
    chosen per key so one sample lasts at least ``min_sample_ns``.
    """
    numbers, errors = {}, {}
    for key, (fn, arg) in list(calls.items()):
        try:
            t = _sample_ns(fn, arg, 1)
        except Exception as exc:  # reported by the caller; this way is not timed
            errors[key] = exc
            del calls[key]
            continue
        numbers[key] = max(1, int(min_sample_ns // max(t, 1.0)) + (t < min_sample_ns))
    out = {key: [] for key in calls}
    gc_was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        keys = list(calls)
        for r in range(repeat):
            # rotate the order each round so no library always runs after the same one
            k = r % len(keys) if keys else 0
            for key in keys[k:] + keys[:k]:
                fn, arg = calls[key]
                out[key].append(_sample_ns(fn, arg, numbers[key]))
    finally:
        if gc_was:
            gc.enable()
    return out, errors


def _floor_shape(kind, image):
    """Shape of the bool output a floor of this kind writes, for one op on ``image``."""
    base = kind[: -len("_fresh")] if kind.endswith("_fresh") else kind
    if base in ("mask", "mask_read"):
        return _size(image)
    n = len(_rles(image))
    if base in ("batch", "batch_read", "batch_stream"):
        return (n,) + _size(image)
    if base == "batch_1024":
        return (n,) + _size_1024(image)
    raise ValueError(f"unknown floor {kind!r}")


def _read_every_byte(masks):
    """OR together every byte of each mask (8 at a time): one read of each, nothing else."""
    for m in masks:
        flat = m.reshape(-1).view(np.uint8)
        cut = flat.size - flat.size % 8
        np.bitwise_or.reduce(flat[:cut].view(np.uint64))
        np.bitwise_or.reduce(flat[cut:])


def _fresh_zeros(shape):
    """A fresh bool array with every page written (zeros), as a floor writes it."""
    a = np.empty(shape, dtype=np.bool_)
    a.fill(False)
    return a


def measure_floors(images, repeat, kinds=("mask", "mask_fresh", "batch", "batch_fresh")):
    """Memory floors for decode outputs (writes) and encode inputs (reads), measured now.

    The write floors write zeros, the fastest memset: on the bench VM a memset of zeros
    runs about three times as fast as one of ones once the buffer is past the caches, and
    a decode's output is mostly zeros.
    mask: fill a warm (h, w) bool buffer with zeros (memset into cache), per mask.
    mask_fresh: np.empty((h, w), bool) filled with zeros -- allocate + fault + fill, per mask.
    batch: fill a warm (n, h, w) bool buffer with zeros, per image.
    batch_fresh: np.empty((n, h, w), bool) filled with zeros, per image.
    batch_1024, batch_1024_fresh: the same for (n, h2, w2), the decode_1024 output.
    mask_read: read every byte of each of the image's masks in turn, as the encode job
    reads its inputs (one (h, w) bool array per mask, ~300 MB, so from main memory), per mask.
    batch_read: read every byte of one (n, h, w) bool array, as encode_batch reads it, per image.
    batch_stream: write zeros over a warm (n, h, w) bool buffer by non-temporal stores, which
    skip reading each line before writing it (sarle's streaming writer decoding n empty
    masks into it: numpy and glibc have no such memset), per image. On a machine whose
    plain stores must first read each line from memory, this is the cheapest way to write
    the bytes; it needs sarle.
    Only the floors named in ``kinds`` are measured (a batch buffer is ~300 MB).
    Returns ({name: {image index: ns}}, {name: GB/s}).
    """
    floors = {k: {} for k in kinds}
    for i, img in enumerate(images):
        calls, warm, per_call = {}, [], {}
        for k in kinds:
            shape = _floor_shape(k, img)
            if k == "mask_read":
                masks = [np.ones(shape, dtype=np.bool_) for _ in _rles(img)]
                per_call[k] = max(1, len(masks))
                calls[k] = (_read_every_byte, masks)
            elif k == "batch_read":
                calls[k] = (_read_every_byte, [np.ones(shape, dtype=np.bool_)])
            elif k == "batch_stream":
                import sarle
                buf = np.ones(shape, dtype=np.bool_)
                warm.append(buf)
                empty = [sarle.encode(np.zeros(shape[1:], dtype=np.bool_))] * shape[0]
                calls[k] = (lambda b, e=empty: sarle.decode(e, out=b, threads=1), buf)
            elif k.endswith("_fresh"):
                calls[k] = (_fresh_zeros, shape)
            else:
                buf = np.zeros(shape, dtype=np.bool_)
                buf.fill(False)
                warm.append(buf)
                calls[k] = (lambda b: b.fill(False), buf)
        res, _ = time_interleaved(calls, max(3, repeat), 2_000_000)
        for k, v in res.items():
            floors[k][i] = float(np.median(v)) / per_call.get(k, 1)
        del calls, warm
    bw = {}
    for k, per in floors.items():
        total_bytes = sum(int(np.prod(_floor_shape(k, images[i]))) for i in per)
        bw[k] = total_bytes / sum(per.values())  # bytes per ns = GB/s
    return floors, bw


# --------------------------------------------------------------------------- machine

def machine_info(mods):
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__, "nproc": os.cpu_count()}
    try:
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        for line in text.splitlines():
            key, _, val = line.partition(":")
            key = key.strip()
            if key == "model name" and "cpu_model" not in info:
                info["cpu_model"] = val.strip()
            elif key == "cpu MHz" and "cpu_mhz" not in info:
                info["cpu_mhz"] = float(val)
            elif key == "cache size" and "cache_size" not in info:
                info["cache_size"] = val.strip()
            elif key == "flags" and "simd" not in info:
                flags = set(val.split())
                info["simd"] = [f for f in ("sse4_2", "avx2", "avx512f", "avx512bw") if f in flags]
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])  # MemTotal
        info["memory_gib"] = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            info["transparent_hugepage"] = f.read().strip()
    except OSError:
        pass
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    versions = {
        "sarle": _version("sarle", mods.get("sarle")),
        "pycocotools": _version("pycocotools"),
        "rlemasklib": _version("rlemasklib", mods.get("rlemasklib")),
    }
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        rev = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=5)
        if rev.returncode == 0:
            versions["sarle_git"] = rev.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info, versions


def _render(hdr, lines):
    widths = [max(len(hdr[i]), *(len(l[i]) for l in lines)) for i in range(len(hdr))]

    def one(vals):
        return "  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(vals))

    return "\n".join([one(hdr), one(["-" * w for w in widths])] + [one(l) for l in lines])


def format_table(results, bandwidth):
    """Table 1: us/op and ratios; table 2: decode throughput against the memory-write floor."""
    def ns(row, lib):
        return row["libs"].get(lib, {}).get("ns_per_op")

    def ratio(a, b):
        return f"{a / b:.1f}x" if a and b else "-"

    hdr = ["job (per op)", "sarle us", "pycocotools us", "rlemasklib us",
           "pycocotools/sarle", "rlemasklib/sarle"]
    lines = []
    for row in results:
        s, c, r = ns(row, "sarle"), ns(row, "pycocotools"), ns(row, "rlemasklib")
        lines.append([f"{row['job']} ({row['unit']})", _fmt_us(s), _fmt_us(c), _fmt_us(r),
                      ratio(c, s), ratio(r, s)])
    out = [_render(hdr, lines),
           "us: microseconds per op (median of repeats); ratio > 1: sarle is faster."]

    dec = [row for row in results if "floor_ns_per_op" in row]
    if dec:
        hdr = ["job", "Mpx/op", "sarle MP/s", "pycocotools MP/s", "rlemasklib MP/s",
               "floor us", "floor MP/s", "sarle/floor"]
        lines = []
        for row in dec:
            mp = row["pixels_per_op"] / 1e6
            fl = row["floor_ns_per_op"]

            def mps(lib):
                v = row["libs"].get(lib, {}).get("mpix_per_s")
                return f"{v:,.0f}" if v else "-"

            s = ns(row, "sarle")
            lines.append([row["job"], f"{mp:.2f}", mps("sarle"), mps("pycocotools"), mps("rlemasklib"),
                          _fmt_us(fl), f"{row['pixels_per_op'] / fl * 1e3:,.0f}",
                          f"{s / fl:.2f}" if s else "-"])
        out += ["", _render(hdr, lines),
                "MP/s: output megapixels (= MB of bool) per second (encode: input megapixels). floor: "
                "writing the same bytes as zeros with memset into a warm buffer (batch_stream: by "
                "non-temporal stores; *_touch jobs: into a fresh allocation; encode: reading every "
                "byte of each input once), measured "
                "in this run (" + ", ".join(
                    f"{k} {v:.1f} GB/s" for k, v in bandwidth.items()) + ")."]
    refs = [row for row in results if row.get("reference")]
    if refs:
        hdr = ["job", "library", "way reported above", "us", "reference way (not reported)", "us",
               "reference/reported"]
        lines = []
        for row in refs:
            for lib, ways in row["reference"].items():
                rep = row["libs"].get(lib, {})
                for way, r in ways.items():
                    lines.append([row["job"], lib, rep.get("way", "-"), _fmt_us(rep.get("ns_per_op")),
                                  way, _fmt_us(r["ns_per_op"]), ratio(r["ns_per_op"], rep.get("ns_per_op"))])
        out += ["", _render(hdr, lines),
                "reference ways: timed in the same rounds on the same inputs, outputs checked, "
                "never reported as the library's time; ratio > 1: the reported way is faster."]
    notes = []
    for row in results:
        for what, why in row.get("not_applicable", {}).items():
            notes.append(f"  {row['job']}: {what} not timed ({why})")
    if notes:
        out += ["", "not applicable:"] + notes
    notes = []
    for row in results:
        used = [f"{lib}: {r['way']}" for lib, r in row["libs"].items() if len(r["ways"]) > 1]
        if used:
            notes.append(f"  {row['job']}: " + "; ".join(used))
    if notes:
        out += ["", "fastest way, where a library has several:"] + notes
    return "\n".join(out)


# --------------------------------------------------------------------------- main

def load_corpus(args):
    if args.corpus:
        paths = sorted(glob.glob(os.path.join(args.corpus, "*.json")))[: args.images]
        if not paths:
            sys.exit(f"no *.json in {args.corpus}")
        images = []
        for p in paths:
            with open(p) as f:
                images.append(json.load(f))
        return images, f"{len(paths)} SA-1B JSON files from {args.corpus}"
    images = corpus.make_corpus(args.images, args.seed)
    return images, f"benchmarks/corpus.py make_corpus({args.images}, seed={args.seed})"


def _fmt_us(ns):
    if ns is None:
        return "-"
    us = ns / 1000
    if us >= 1000:
        return f"{us:,.0f}"
    if us >= 10:
        return f"{us:.1f}"
    return f"{us:.2f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=None, help="images in the corpus (default 3; --quick 1)")
    ap.add_argument("--repeat", type=int, default=None, help="repeats per sample (default 7; --quick 3)")
    ap.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    ap.add_argument("--corpus", metavar="DIR",
                    help="time real SA-1B sa_*.json files instead of the synthetic corpus")
    ap.add_argument("--jobs", help="comma-separated subset of jobs to run")
    ap.add_argument("--json", metavar="OUT", help="write every number and the machine info to OUT")
    ap.add_argument("--quick", action="store_true",
                    help="1 image, 3 repeats, per-mask jobs on its first 40 masks")
    args = ap.parse_args(argv)
    if args.images is None:
        args.images = 1 if args.quick else 3
    if args.repeat is None:
        args.repeat = 3 if args.quick else 7
    max_masks = 40 if args.quick else None
    min_sample_ns = 2_000_000 if args.quick else 10_000_000

    t_start = time.perf_counter()
    mods, missing = load_libraries()
    info, versions = machine_info(mods)
    present = [lib for lib in LIBS if lib in mods]
    print(f"# CPU: {info.get('cpu_model', '?')} ({info.get('nproc')} logical CPUs, "
          f"{' '.join(info.get('simd', []))}); Python {info['python']}, numpy {info['numpy']}")
    print("# " + ", ".join(f"{lib} {versions[lib]}" for lib in present))
    for lib, why in missing.items():
        print(f"# note: {lib} skipped: {why}")
    if not present:
        sys.exit("no library to time")

    images, provenance = load_corpus(args)
    n_masks = sum(len(_rles(im)) for im in images)
    print(f"# corpus: {provenance}: {len(images)} images, {n_masks} masks, sizes "
          f"{sorted({_size(im) for im in images})}")

    jobs = build_jobs(mods, max_masks)
    if args.jobs:
        wanted = set(args.jobs.split(","))
        unknown = wanted - {j.name for j in jobs}
        if unknown:
            sys.exit(f"unknown jobs {sorted(unknown)}; known: {[j.name for j in jobs]}")
        jobs = [j for j in jobs if j.name in wanted]

    cores = info.get("affinity_cpus", info.get("nproc") or 1)
    if cores < 2 and any(j.name == "decode_batch_2threads" for j in jobs):
        print(f"# note: this process may run on {cores} CPU: decode_batch_2threads cannot speed up")

    floors, bandwidth = ({}, {})
    if any(j.floor for j in jobs):
        kinds = sorted({j.floor for j in jobs if j.floor} | {"mask"}
                       | ({"batch"} if any(j.floor == "batch_stream" for j in jobs) else set()))
        floors, bandwidth = measure_floors(images, args.repeat, kinds)
        print("# memory floors measured now: " + ", ".join(
            f"{k} {v:.1f} GB/s" for k, v in bandwidth.items()))

    results = []
    mismatches = []
    for job in jobs:
        per_way = {}      # (lib, way) -> total ns over the corpus (sum over images of medians)
        per_way_samples = {}
        n_ops_total = 0
        pixels_total = 0
        floor_total = 0.0
        job_failed = job.failed
        if job.base is not None:
            job_failed |= job.base.failed
        for idx, img in enumerate(images):
            inputs = job.prepare(img)
            n_ops = len(inputs) if job.per_item else 1
            n_ops_total += n_ops
            if job.pixels:
                pixels_total += job.pixels(img) * n_ops
            if job.floor:
                floor_total += floors[job.floor][idx] * n_ops
            ways = [(lib, way, fn) for lib in LIBS
                    for way, fn in [*job.ways.get(lib, {}).items(), *job.reference.get(lib, {}).items()]
                    if (lib, way) not in job_failed]
            if job.check:
                job_failed |= check_outputs(job, idx, inputs, ways, mismatches)
            calls = {(lib, way): (_loop(fn) if job.per_item else fn, inputs)
                     for lib, way, fn in ways if (lib, way) not in job_failed}
            res, errors = time_interleaved(calls, args.repeat, min_sample_ns)
            for key, exc in errors.items():
                job_failed.add(key)
                msg = f"{job.name} image {idx}: {key[0]} {key[1]} raised {type(exc).__name__}: {exc}"
                mismatches.append(msg)
                print("# ERROR " + msg)
            for key, samples in res.items():
                per_way[key] = per_way.get(key, 0.0) + float(np.median(samples))
                per_way_samples.setdefault(key, []).append(samples)
            del inputs, calls
            gc.collect()

        row = {"job": job.name, "unit": job.unit, "doc": job.doc, "ops": n_ops_total, "libs": {}}

        def timed(lib, candidates):
            return {way: per_way[(lib, way)] / n_ops_total for way in candidates
                    if (lib, way) in per_way and (lib, way) not in job_failed}

        for lib in LIBS:
            ways = timed(lib, job.ways.get(lib, {}))
            if ways:
                best = min(ways, key=ways.get)
                row["libs"][lib] = {
                    "ns_per_op": ways[best], "way": best,
                    "ways": {w: {"ns_per_op": ns, "samples_ns_per_call": per_way_samples[(lib, w)]}
                             for w, ns in ways.items()},
                }
            ref = timed(lib, job.reference.get(lib, {}))
            if ref:
                row.setdefault("reference", {})[lib] = {
                    w: {"ns_per_op": ns, "samples_ns_per_call": per_way_samples[(lib, w)]}
                    for w, ns in ref.items()}
        na = dict(job.not_applicable)
        if job.base is not None:
            na.update(job.base.not_applicable)
        if na:
            row["not_applicable"] = {f"{lib}: {way}": why for (lib, way), why in na.items()}
        if job.pixels and n_ops_total:
            row["pixels_per_op"] = pixels_total / n_ops_total
            for lib, r in row["libs"].items():
                r["mpix_per_s"] = pixels_total / n_ops_total / r["ns_per_op"] * 1e3
        if job.floor:
            row["floor_ns_per_op"] = floor_total / n_ops_total
            row["floor_kind"] = job.floor
        results.append(row)

    # ------------------------------------------------------------------ tables
    print()
    print(format_table(results, bandwidth))
    if mismatches:
        print(f"# {len(mismatches)} MISMATCHES (see above)")
    elapsed = time.perf_counter() - t_start
    print(f"# total {elapsed:.1f} s")

    if args.json:
        try:
            info["loadavg_end"] = os.getloadavg()
        except OSError:
            pass
        doc = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": info, "versions": versions, "skipped": missing,
            "config": {"images": len(images), "masks": n_masks, "repeat": args.repeat,
                       "seed": args.seed, "quick": args.quick, "max_masks_per_image": max_masks,
                       "min_sample_ns": min_sample_ns, "corpus": provenance,
                       "command": " ".join([os.path.basename(sys.executable)] + sys.argv)},
            "floors_ns": {k: {str(i): v for i, v in d.items()} for k, d in floors.items()},
            "floor_bandwidth_GBps": bandwidth,
            "jobs": results, "mismatches": mismatches, "elapsed_s": elapsed,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"# wrote {args.json}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
