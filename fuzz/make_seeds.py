"""Write the seed corpora fuzz/corpus/codec/ and fuzz/corpus/sa1b/ (deterministic).

    python fuzz/make_seeds.py            # rewrite both corpora
    python fuzz/make_seeds.py --check    # only say whether they are up to date

Seeds are fuzz inputs, i.e. bytes as the harnesses' :class:`_common.Provider`
reads them (structure from the end, payload from the front). They come from:

* ``tests/data/golden.json``: pycocotools-checked masks (counts of at most
  512 characters) as single-RLE inputs of the codec harness, as ``str`` and
  as ``bytes``;
* ``src/sarle/data/sa_sample.tar``: its four SA-1B JSON members cut to two
  annotations (full resolution), and the same images shrunk to 24x32 pixels
  with four annotations re-encoded at that size (small enough for
  ``masks()``), as raw-JSON inputs of the SA-1B harness; and tiny tar
  shards of those (plain, gzip, with an orphan member, truncated) as
  raw-shard inputs;
* a distillation of pseudo-random inputs (fixed seed): the fewest that
  together reach every line of the harnesses and of ``sarle``'s Python
  modules that the random inputs reach (greedy set cover on line coverage),
  so that every mode starts with examples. (So ``--check`` also reports the
  corpora stale after a change to sarle's Python code; regenerating then is
  optional.)

The scripted seeds follow the order in which the harnesses consume their
input (see ``SeedWriter``); ``--check`` re-reads each one through the real
Provider, so a harness change that breaks a seed is noticed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import re
import sys
import tarfile
import gzip
from pathlib import Path
from typing import Callable, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import _common  # noqa: E402
from _common import Provider  # noqa: E402

ROOT = HERE.parent
CORPUS = HERE / "corpus"
MAX_TOTAL = 300_000   # bytes, both corpora together


class SeedWriter:
    """Bytes that make a :class:`Provider` return chosen values, call by call."""

    def __init__(self) -> None:
        self.front = bytearray()
        self.back: List[int] = []          # in the order the provider reads them
        self.script: List[Tuple] = []

    def int(self, lo: int, hi: int, value: int) -> "SeedWriter":
        assert lo <= value <= hi, (lo, hi, value)
        self.script.append(("int", lo, hi, value))
        span = hi - lo
        if span:
            self.back.extend((value - lo).to_bytes((span.bit_length() + 7) // 8, "big"))
        return self

    def payload(self, data: bytes) -> "SeedWriter":
        self.script.append(("bytes", bytes(data)))
        self.front += data
        return self

    def sized(self, hi: int, data: bytes) -> "SeedWriter":
        return self.int(0, hi, len(data)).payload(data)

    def rest(self, data: bytes) -> bytes:
        """Finish with ``data`` as the provider's ConsumeRemainingBytes()."""
        self.script.append(("rest", bytes(data)))
        return bytes(self.front) + bytes(data) + bytes(reversed(self.back))

    def build(self) -> bytes:
        return bytes(self.front) + bytes(reversed(self.back))

    def verify(self, data: bytes) -> None:
        p = Provider(data)
        for step in self.script:
            if step[0] == "int":
                got = p.ConsumeIntInRange(step[1], step[2])
                assert got == step[3], (step, got)
            elif step[0] == "bytes":
                got = p.ConsumeBytes(len(step[1]))
                assert got == step[1], step
            else:
                assert p.ConsumeRemainingBytes() == step[1]


# --------------------------------------------------------------------------- codec seeds


def dim(w: SeedWriter, value: int) -> None:
    """The choices of fuzz_codec.gen_dim that give ``value``."""
    if value <= 16:
        w.int(0, 15, 0).int(0, 16, value)
    elif value <= 64:
        w.int(0, 15, 8).int(0, 64, value)
    else:
        w.int(0, 15, 11).int(0, 2**31, value)


def codec_single(h: int, width: int, counts: bytes, form: int) -> Tuple[bytes, SeedWriter]:
    """A single-RLE input: size [h, width] as a list, counts as str (form 0) or bytes (4)."""
    import fuzz_codec

    w = SeedWriter()
    w.int(0, len(fuzz_codec.MODES) - 1, fuzz_codec.MODES.index(fuzz_codec.mode_single))
    dim(w, h)
    dim(w, width)
    w.int(0, 23, 0)              # gen_size: [h, w]
    w.int(0, 15, 0)              # gen_counts: raw payload
    w.sized(512, counts)
    w.int(0, 9, form)            # string_form
    w.int(0, 19, 0)              # wrap_rle: a dict
    return w.build(), w


def codec_seeds() -> Dict[str, Tuple[bytes, SeedWriter]]:
    golden = json.loads((ROOT / "tests" / "data" / "golden.json").read_text())
    masks = [m for m in golden["masks"]
             if len(m["counts"]) <= 512 and max(m["size"]) <= 2**31]
    picked = masks[::9]
    seeds = {}
    for i, m in enumerate(picked):
        slug = re.sub(r"[^a-z0-9]+", "-", m["name"].lower()).strip("-")[:40]
        h, w = m["size"]
        form = 0 if i % 3 else 4
        seeds[f"golden-{slug}"] = codec_single(h, w, m["counts"].encode(), form)
    return seeds


# --------------------------------------------------------------------------- SA-1B seeds


def sample_members() -> Dict[str, dict]:
    from sarle import sa1b

    out = {}
    with tarfile.open(sa1b.sample_path()) as archive:
        for info in archive:
            if info.name.endswith(".json"):
                out[info.name[:-5]] = json.loads(archive.extractfile(info).read())
    return out


def shrink(record: dict, size: Tuple[int, int], keep: int) -> dict:
    """The record at ``size`` (masks resampled and re-encoded) with ``keep`` annotations."""
    import sarle

    h0, w0 = record["image"]["height"], record["image"]["width"]
    h, w = size
    sy, sx = h / h0, w / w0
    annotations = []
    for a in record["annotations"][:keep]:
        mask = sarle.decode(a["segmentation"], size=size)
        rle = sarle.encode(mask)
        box = sarle.bbox(rle)
        annotations.append({
            "id": a["id"],
            "segmentation": rle,
            "bbox": [float(box[0]), float(box[1]), max(float(box[2]) - 1, 0.0), max(float(box[3]) - 1, 0.0)],
            "area": int(mask.sum()),
            "predicted_iou": a["predicted_iou"],
            "point_coords": [[round(a["point_coords"][0][0] * sx, 3), round(a["point_coords"][0][1] * sy, 3)]],
            "stability_score": a["stability_score"],
            "crop_box": [0.0, 0.0, float(w), float(h)],
        })
    image = dict(record["image"], width=w, height=h)
    return {"image": image, "annotations": annotations}


def sa1b_json(data: bytes, route: int) -> Tuple[bytes, SeedWriter]:
    import fuzz_sa1b

    w = SeedWriter()
    w.int(0, len(fuzz_sa1b.MODES) - 1, fuzz_sa1b.MODES.index(fuzz_sa1b.mode_raw_json))
    w.int(0, 3, route)
    return w.rest(data), w


def sa1b_tar(data: bytes, use_path: bool, check: bool) -> Tuple[bytes, SeedWriter]:
    import fuzz_sa1b

    w = SeedWriter()
    w.int(0, len(fuzz_sa1b.MODES) - 1, fuzz_sa1b.MODES.index(fuzz_sa1b.mode_raw_shard))
    w.int(0, 3, 0 if use_path else 1)
    w.int(0, 3, 1 if check else 0)
    return w.rest(data), w


def tar_bytes(members: List[Tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")   # header + EOI only


def sa1b_seeds() -> Dict[str, Tuple[bytes, SeedWriter]]:
    members = sample_members()
    seeds = {}
    small = {}
    for key in sorted(members):
        full = dict(members[key], annotations=members[key]["annotations"][:2])
        seeds[f"json-{key}-full-2ann"] = sa1b_json(json.dumps(full).encode(), 0)
        small[key] = json.dumps(shrink(members[key], (24, 32), 4)).encode()
        seeds[f"json-{key}-24x32"] = sa1b_json(small[key], {"sa_1": 0, "sa_2": 1, "sa_3": 2, "sa_4": 3}[key])
    pair = [("sa_1.jpg", JPEG), ("sa_1.json", small["sa_1"]), ("sa_2.json", small["sa_2"]), ("sa_2.jpg", JPEG)]
    plain = tar_bytes(pair)
    seeds["tar-two-pairs"] = sa1b_tar(plain, False, True)
    seeds["tar-two-pairs-path"] = sa1b_tar(plain, True, True)
    seeds["tar-gzip"] = sa1b_tar(gzip.compress(plain, mtime=0), False, True)
    seeds["tar-orphan-json"] = sa1b_tar(tar_bytes(pair[:3]), False, False)
    seeds["tar-truncated"] = sa1b_tar(plain[: len(plain) // 2], False, True)
    seeds["tar-nested-dir"] = sa1b_tar(tar_bytes([("d/sa_3.json", small["sa_3"]), ("d/sa_3.jpg", JPEG),
                                                  ("README", b"x")]), False, True)
    return seeds


# --------------------------------------------------------------------------- distillation


def traced_lines(check: Callable[[bytes], None], data: bytes, files: Tuple[str, ...]) -> set:
    lines = set()

    def local(frame, event, arg):
        if event == "line":
            lines.add((frame.f_code.co_filename, frame.f_lineno))
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(files) else None

    sys.settrace(tracer)
    try:
        check(data)
    except Exception:   # a failing input is no seed
        lines = None
    finally:
        sys.settrace(None)
    return lines


def distil(check: Callable[[bytes], None], seeds: List[bytes], count: int, seed: int,
           budget: int) -> Dict[str, bytes]:
    files = (str(HERE), str(ROOT / "src" / "sarle"))
    covered = set()
    for data in seeds:
        covered |= traced_lines(check, data, files) or set()
    rng = random.Random(seed)
    candidates = []
    for _ in range(count):
        data = rng.randbytes(rng.randrange(0, 320))
        lines = traced_lines(check, data, files)
        if lines:
            candidates.append((data, lines - covered))
    out: Dict[str, bytes] = {}
    used = 0
    while candidates:   # greedy set cover, most new lines per byte first
        candidates.sort(key=lambda c: (-len(c[1]), len(c[0]), c[0]))
        data, new = candidates[0]
        if not new or used + len(data) > budget:
            break
        out["distilled-" + hashlib.sha1(data).hexdigest()[:12]] = data
        used += len(data)
        covered |= new
        candidates = [(d, n - new) for d, n in candidates[1:]]
    return out


# --------------------------------------------------------------------------- main


def generate() -> Dict[str, Dict[str, bytes]]:
    import fuzz_codec
    import fuzz_sa1b

    corpora = {}
    for name, scripted, check, budget in (
        ("codec", codec_seeds(), fuzz_codec.check_codec, 60_000),
        ("sa1b", sa1b_seeds(), fuzz_sa1b.check_sa1b, 40_000),
    ):
        files = {}
        for key, (data, writer) in scripted.items():
            writer.verify(data)
            check(data)   # every seed must pass
            files[key] = data
        files.update(distil(check, list(files.values()), 1500, 1234, budget))
        corpora[name] = files
    return corpora


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    _common.limit_memory()
    np.seterr(all="ignore")
    corpora = generate()
    total = sum(len(d) for files in corpora.values() for d in files.values())
    assert total <= MAX_TOTAL, f"corpus is {total} bytes, more than {MAX_TOTAL}"
    stale = []
    for name, files in corpora.items():
        directory = CORPUS / name
        current = {p.name: p.read_bytes() for p in directory.glob("*")} if directory.is_dir() else {}
        if current != files:
            stale.append(name)
        if args.check:
            continue
        directory.mkdir(parents=True, exist_ok=True)
        for old in set(current) - set(files):
            (directory / old).unlink()
        for key, data in files.items():
            (directory / key).write_bytes(data)
        print(f"{directory.relative_to(ROOT)}: {len(files)} files, {sum(map(len, files.values()))} bytes")
    if args.check:
        print("up to date" if not stale else f"stale: {', '.join(stale)}")
        return 1 if stale else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
