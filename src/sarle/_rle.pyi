"""Type stubs for sarle's private Cython kernels (see _rle.pyx)."""

from typing import List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

Counts = Union[str, bytes, npt.NDArray[np.int64]]

def boundaries(counts: Counts, h: int, w: int, index: int = ...) -> npt.NDArray[np.int64]: ...
def boundaries_many(
    counts: List[Counts],
    hs: npt.NDArray[np.int64],
    ws: npt.NDArray[np.int64],
    index_base: int,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def area_bbox_into(
    counts: List[Counts],
    hs: npt.NDArray[np.int64],
    ws: npt.NDArray[np.int64],
    areas: npt.NDArray[np.uint64],
    boxes: Optional[npt.NDArray[np.float64]],
    index_base: int,
) -> None: ...
def json_rle_columns(
    rles: List[object], max_pixels: int
) -> Optional[Tuple[List[Union[str, bytes]], npt.NDArray[np.int64], npt.NDArray[np.int64]]]: ...
def stats_one(
    counts: Counts, h: int, w: int, want_bbox: bool
) -> Tuple[int, int, int, int, int]: ...
def _set_stats_simd(level: int) -> int: ...
def _stats_simd_levels() -> Tuple[int, int]: ...
def _stats_simd_one(
    counts: Union[str, bytes], h: int, w: int
) -> Optional[Tuple[int, int, int, int, int]]: ...
def _boundaries_simd_one(
    counts: Union[str, bytes], h: int, w: int
) -> Optional[npt.NDArray[np.int64]]: ...
def _set_strided_run(limit: int) -> int: ...
def _set_stream_stores(limit: int) -> int: ...
def decode_new(counts: Counts, h: int, w: int, c_order: bool) -> npt.NDArray[np.bool_]: ...
def decode_into(
    counts: List[Counts],
    h: int,
    w: int,
    out: npt.NDArray[np.uint8],
    c_order: bool,
    zeroed: bool,
    index_base: int,
    batch_bytes: int = ...,
) -> None: ...
def sample_into(
    counts: List[Counts],
    h: int,
    w: int,
    src_col: npt.NDArray[np.int64],
    row_first: npt.NDArray[np.int64],
    h2: int,
    c_order: bool,
    out: npt.NDArray[np.uint8],
    index_base: int,
    zeroed: bool = ...,
    batch_bytes: int = ...,
) -> None: ...
def label_into(
    counts: List[Counts],
    h: int,
    w: int,
    src_col: npt.NDArray[np.int64],
    row_first: npt.NDArray[np.int64],
    h2: int,
    c_order: bool,
    out: npt.NDArray[np.uint8],
    itemsize: int,
    paint_order: npt.NDArray[np.int64],
) -> None: ...
def _set_dense_transpose(limit: int) -> int: ...
def encode_flat(data: npt.NDArray[np.uint8], h: int, w: int, c_order: bool) -> str: ...
def string_from_boundaries(b: npt.NDArray[np.int64], total: int) -> str: ...
def runs_from_boundaries(b: npt.NDArray[np.int64], total: int) -> npt.NDArray[np.int64]: ...
def merge_counts(
    counts: List[Counts], h: int, w: int, intersect: bool, index_base: int
) -> str: ...
def merge_boundaries(
    parts: List[npt.NDArray[np.int64]], intersect: bool
) -> npt.NDArray[np.int64]: ...
def iou_rows_into(
    dt: npt.NDArray[np.int64],
    dt_off: npt.NDArray[np.int64],
    gt: npt.NDArray[np.int64],
    gt_off: npt.NDArray[np.int64],
    h: int,
    crowd: npt.NDArray[np.uint8],
    out: npt.NDArray[np.float64],
    row_start: int,
    row_stop: int,
) -> None: ...
def _polygon_runs(xy: npt.NDArray[np.float64], h: int, w: int) -> npt.NDArray[np.int64]: ...
