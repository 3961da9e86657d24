"""sarle: fast, safe COCO run-length-encoded masks, built for SA-1B.

>>> import sarle
>>> import numpy as np
>>> rle = sarle.encode(np.eye(3, dtype=bool))
>>> rle
{'size': [3, 3], 'counts': '013000'}
>>> int(sarle.area(rle)), sarle.bbox(rle).tolist()
(3, [0.0, 0.0, 3.0, 3.0])
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
    label_map,
    merge,
    nearest_indices,
    output_pool_info,
    set_output_pool_limit,
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
    "label_map",
    "merge",
    "nearest_indices",
    "output_pool_info",
    "set_output_pool_limit",
]
