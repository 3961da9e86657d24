"""Small SA-1B shards for the tests: records from the benchmark corpus, real JPEGs, tars.

One place for what test_sa1b, test_cli, test_export and test_distributed all
build: SA-1B per-image dicts from ``benchmarks/corpus.py``, a JPEG of the
right size per image, and tar shards holding them in SA-1B's member order.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: (seed, (h, w), n_masks, image_id) of one generated image.
Spec = Tuple[int, Tuple[int, int], int, int]


def corpus_module() -> Any:
    """``benchmarks/corpus.py``: the seeded SA-1B-like generator."""
    bench = str(ROOT / "benchmarks")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import corpus

    return corpus


def make_dicts(specs: Sequence[Spec]) -> List[Dict[str, Any]]:
    """SA-1B per-image dicts, one per ``(seed, (h, w), n_masks, image_id)``."""
    corpus = corpus_module()
    return [corpus.make_image(seed, shape=shape, n_masks=n, image_id=i) for seed, shape, n, i in specs]


def jpeg_bytes(h: int, w: int, seed: int = 0) -> bytes:
    """A noise JPEG of ``h`` x ``w`` pixels."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def members_for(
    dicts: Sequence[Dict[str, Any]], jpeg_sizes: Optional[Dict[str, Tuple[int, int]]] = None
) -> List[Tuple[str, bytes]]:
    """SA-1B's member order, ``sa_N.jpg`` then ``sa_N.json``; ``jpeg_sizes`` overrides sizes by key."""
    out = []
    for data in dicts:
        key = data["image"]["file_name"][: -len(".jpg")]
        h, w = (jpeg_sizes or {}).get(key, (data["image"]["height"], data["image"]["width"]))
        out.append((f"{key}.jpg", jpeg_bytes(h, w, seed=data["image"]["image_id"])))
        out.append((f"{key}.json", json.dumps(data).encode()))
    return out


def write_tar(path: Path, members: Sequence[Tuple[str, bytes]]) -> Path:
    """An uncompressed tar of ``(name, bytes)`` members at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
