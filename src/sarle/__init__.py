"""sarle: fast, safe COCO run-length-encoded masks, built for SA-1B.

>>> import sarle
>>> rle = sarle.encode(np.eye(3, dtype=bool))   # doctest: +SKIP
"""

from .codec import (
    area,
    bbox,
    compress,
    decode,
    decompress,
    encode,
    from_bbox,
    from_polygon,
    iou,
    merge,
)

__version__ = "0.1.0"

__all__ = [
    "area",
    "bbox",
    "compress",
    "decode",
    "decompress",
    "encode",
    "from_bbox",
    "from_polygon",
    "iou",
    "merge",
]
