"""sarle.render: palette, overlay pictures and PNG/JPEG I/O.

The overlay's promise is checked pixel by pixel against a plain numpy oracle:
a picture differs from its image exactly where ``decode(rles).any(0)`` is
true, including on images built to defeat a blend (pixels that already equal
the mask's colour or its outline colour, ``alpha`` 0, tiny or 1). Outlines
and the paint order are checked against a label map and a boundary computed
here from the decoded masks, without ``label_map``.
"""

from __future__ import annotations

import doctest
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sarle
from sarle import render

# --------------------------------------------------------------------------- oracles


def random_masks(seed: int, h: int, w: int, n: int) -> np.ndarray:
    """``(n, h, w)`` bool: rectangles, noise and blobs that overlap, plus an
    empty and a full mask when ``n >= 3``."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, h, w), dtype=bool)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        kind = rng.integers(3)
        if kind == 0:
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            y1, x1 = rng.integers(y0, h + 1), rng.integers(x0, w + 1)
            masks[i, y0:y1 + 1, x0:x1 + 1] = True
        elif kind == 1:
            masks[i] = rng.random((h, w)) < rng.uniform(0.05, 0.6)
        else:
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ry, rx = rng.uniform(0.5, h), rng.uniform(0.5, w)
            masks[i] = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    if n >= 3:
        masks[rng.integers(n)] = False
        masks[rng.integers(n)] = True
    return masks


def top_labels(masks: np.ndarray, paint: str) -> np.ndarray:
    """The label map painted mask by mask, in plain numpy."""
    order = np.arange(len(masks))
    if paint == "area":
        order = np.argsort(-masks.sum(axis=(1, 2)), kind="stable")
    labels = np.zeros(masks.shape[1:], dtype=np.int64)
    for i in order:
        labels[masks[i]] = i + 1
    return labels


def boundary(labels: np.ndarray) -> np.ndarray:
    """Labelled pixels with a 4-neighbour inside the picture of another label."""
    h, w = labels.shape
    edge = np.zeros((h, w), dtype=bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        for y in range(h):
            for x in range(w):
                ny, nx = y + dy, x + dx
                if 0 <= ny < h and 0 <= nx < w and labels[ny, nx] != labels[y, x]:
                    edge[y, x] = True
    return edge & (labels != 0)


def check_invariant(rles, image, masks, **kwargs) -> np.ndarray:
    """overlay() changes exactly the covered pixels and leaves ``image`` alone."""
    before = image.copy()
    picture = render.overlay(rles, image, **kwargs)
    assert np.array_equal(image, before), "overlay modified its input image"
    assert picture.shape == image.shape[:2] + (3,)
    assert picture.dtype == np.uint8
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    changed = (picture != rgb).any(axis=2)
    covered = masks.any(axis=0)
    wrong = np.argwhere(changed != covered)
    assert wrong.size == 0, (
        f"{len(wrong)} pixels break the invariant, first {wrong[0].tolist()}: "
        f"covered={covered[tuple(wrong[0])]}, image={rgb[tuple(wrong[0])]}, "
        f"picture={picture[tuple(wrong[0])]}"
    )
    return picture


def encode_mixed(masks: np.ndarray) -> list:
    """RLEs of ``masks``, every other one with bytes counts."""
    rles = sarle.encode(masks)
    for rle in rles[::2]:
        rle["counts"] = rle["counts"].encode("ascii")
    return rles


def tricky_image(seed: int, masks: np.ndarray, colors: np.ndarray, paint: str) -> np.ndarray:
    """A random image in which many pixels already equal the colour, or the
    outline colour, of the mask on top of them, and some equal other palette
    colours."""
    rng = np.random.default_rng(seed)
    h, w = masks.shape[1:]
    image = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    labels = top_labels(masks, paint)
    if len(masks):
        pick = rng.random((h, w)) < 0.3
        image[pick & (labels > 0)] = colors[labels[pick & (labels > 0)] - 1]
        other = rng.random((h, w)) < 0.1
        image[other] = colors[rng.integers(len(colors), size=int(other.sum()))]
        # Outline colours too: a darker and a lighter shade of each colour.
        for shade in (colors // 2, colors // 2 + 128):
            spot = (rng.random((h, w)) < 0.1) & (labels > 0)
            image[spot] = shade[labels[spot] - 1]
    image[rng.random((h, w)) < 0.05] = render.BACKGROUND
    return image


# --------------------------------------------------------------------------- palette


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100, 256])
def test_palette_shape_dtype(n):
    colors = render.palette(n)
    assert colors.shape == (n, 3)
    assert colors.dtype == np.uint8


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_palette_distinct_and_bright(seed):
    colors = render.palette(4096, seed=seed)
    for n in (2, 10, 100, 256, 4096):
        assert len(np.unique(colors[:n], axis=0)) == n, f"repeated colour in palette({n})"
    rgb = colors.astype(np.int64)
    high, low = rgb.max(axis=1), rgb.min(axis=1)
    assert high.min() >= 184
    assert ((high - low) / high).min() >= 0.64      # saturated
    # Consecutive colours (masks next to each other in a file) are far apart.
    assert np.abs(np.diff(rgb[:256], axis=0)).sum(axis=1).min() >= 60


def test_palette_distinct_for_many_masks():
    """Past the few thousand colours of the golden-ratio cycle, repeats are moved."""
    colors = render.palette(2**16)
    assert len(np.unique(colors, axis=0)) == 2**16
    assert np.array_equal(colors[:5000], render.palette(5000))
    rgb = colors.astype(np.int64)
    assert rgb.max(axis=1).min() >= 184
    assert ((rgb.max(axis=1) - rgb.min(axis=1)) / rgb.max(axis=1)).min() >= 0.64


def test_palette_deterministic():
    assert np.array_equal(render.palette(50), render.palette(50))
    assert np.array_equal(render.palette(50, seed=3), render.palette(50, seed=3))
    assert np.array_equal(render.palette(300)[:50], render.palette(50))
    assert not np.array_equal(render.palette(50, seed=0), render.palette(50, seed=1))


@pytest.mark.parametrize("n, error, match", [
    (-1, ValueError, "must not be negative"),
    (2.0, TypeError, "palette n must be an integer"),
    (True, TypeError, "palette n must be an integer"),
])
def test_palette_bad_n(n, error, match):
    with pytest.raises(error, match=match):
        render.palette(n)


def test_palette_bad_seed():
    with pytest.raises(TypeError, match="palette seed must be an integer, got 'a'"):
        render.palette(3, seed="a")
    with pytest.raises(ValueError, match="palette seed must not be negative, got -2"):
        render.palette(3, seed=-2)


# --------------------------------------------------------------------------- the invariant


@pytest.mark.parametrize("paint", ["area", "index"])
@pytest.mark.parametrize("alpha", [0.0, 0.001, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("outline", [True, False])
def test_overlay_changes_exactly_the_covered_pixels(paint, alpha, outline):
    for seed in range(4):
        masks = random_masks(seed, 23, 31, 9)
        rles = encode_mixed(masks)
        colors = render.palette(len(masks))
        image = tricky_image(seed, masks, colors, paint)
        check_invariant(rles, image, masks, alpha=alpha, outline=outline, paint=paint)


@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 12), w=st.integers(1, 12),
       n=st.integers(0, 7), alpha=st.floats(0, 1), paint=st.sampled_from(["area", "index"]),
       outline=st.booleans(), own_colors=st.booleans(), grey=st.booleans())
def test_overlay_invariant_property(seed, h, w, n, alpha, paint, outline, own_colors, grey):
    masks = random_masks(seed, h, w, n)
    rng = np.random.default_rng(seed)
    # Own colours include black, white and repeats: the hardest case for a blend.
    colors = (rng.choice([0, 1, 127, 128, 254, 255], size=(n, 3)).astype(np.uint8)
              if own_colors else render.palette(n))
    image = tricky_image(seed, masks, colors, paint)
    if grey:
        image = np.ascontiguousarray(image[..., 1])
    check_invariant(sarle.encode(masks) if n else [], image, masks, alpha=alpha,
                    outline=outline, paint=paint, colors=colors if own_colors else None)


def test_overlay_image_equal_to_the_colour_everywhere():
    masks = random_masks(7, 16, 16, 1)
    masks[0, 4:12, 4:12] = True
    color = render.palette(1)[0]
    for alpha in (0.5, 1.0):
        image = np.broadcast_to(color, (16, 16, 3)).copy()
        picture = check_invariant(sarle.encode(masks), image, masks, alpha=alpha)
        moved = np.abs(picture.astype(int) - image.astype(int)).max(axis=2)
        assert moved[masks[0]].min() >= 16, "a covered pixel changed by too little to see"


def test_overlay_many_masks():
    """More than 255 masks: labels no longer fit in uint8."""
    rng = np.random.default_rng(5)
    masks = np.zeros((300, 20, 20), dtype=bool)
    masks[np.arange(300), rng.integers(0, 20, 300), rng.integers(0, 20, 300)] = True
    masks[::7, 5:9, 5:9] = True
    image = tricky_image(5, masks, render.palette(300), "area")
    picture = check_invariant(sarle.encode(masks), image, masks)
    labels = top_labels(masks, "area")
    fill = ~boundary(labels) & (labels > 0)
    expected = ((image.astype(np.uint16) * 128
                 + render.palette(300)[labels - 1].astype(np.uint16) * 128 + 128) >> 8)
    changed = (expected != image).any(axis=2)
    assert np.array_equal(picture[fill & changed], expected[fill & changed])


def test_overlay_size_resamples_the_masks():
    masks = random_masks(3, 10, 14, 5)
    rles = sarle.encode(masks)
    small = sarle.decode(rles, size=(7, 21))
    image = tricky_image(3, small, render.palette(5), "area")
    check_invariant(rles, image, small, size=(7, 21))


# --------------------------------------------------------------------------- picture content


@pytest.mark.parametrize("paint", ["area", "index"])
def test_outlines_and_fills_with_an_image(paint):
    masks = random_masks(11, 19, 27, 8)
    labels = top_labels(masks, paint)
    edge = boundary(labels)
    colors = render.palette(8)
    image = np.zeros((19, 27, 3), np.uint8)
    picture = render.overlay(sarle.encode(masks), image, paint=paint)
    own = np.where(labels[..., None] > 0, colors[labels - 1], 0)
    # Over a translucent fill the outline is the mask's own colour, opaque;
    # a fill over black is half of it.
    assert np.array_equal((picture == own).all(axis=2) & (labels > 0), edge)
    half = (own.astype(np.uint16) * 128 + 128) >> 8
    assert np.array_equal(picture[~edge], half[~edge])
    plain = render.overlay(sarle.encode(masks), image, paint=paint, outline=False)
    assert np.array_equal(plain, half)


@pytest.mark.parametrize("paint", ["area", "index"])
def test_label_map_picture_without_image(paint):
    masks = random_masks(12, 21, 17, 10)
    labels = top_labels(masks, paint)
    edge = boundary(labels)
    colors = render.palette(10)
    table = np.concatenate([[render.BACKGROUND], colors]).astype(np.uint8)
    picture = render.overlay(sarle.encode(masks), paint=paint, alpha=0.2)  # alpha ignored
    assert picture.shape == (21, 17, 3) and picture.dtype == np.uint8
    expected = table[labels]
    differs = (picture != expected).any(axis=2)
    assert np.array_equal(differs, edge), "outlines are not at the masks' boundaries"
    shade = picture[edge].astype(int)
    assert (shade.max(axis=1) < expected[edge].max(axis=1)).all(), "outlines are not darker"
    assert np.array_equal(render.overlay(sarle.encode(masks), paint=paint, outline=False),
                          expected)


def test_masks_touching_the_edge_are_not_outlined_along_it():
    full = np.ones((1, 5, 6), dtype=bool)
    picture = render.overlay(sarle.encode(full))
    assert (picture == render.palette(1)[0]).all()


def test_paint_order():
    big = np.zeros((8, 8), bool)
    big[1:7, 1:7] = True
    small = np.zeros((8, 8), bool)
    small[3:5, 3:5] = True
    rles = sarle.encode(np.array([small, big]))     # small first: under big by index
    colors = np.array([[200, 10, 10], [10, 10, 200]])
    inside = (slice(3, 5), slice(3, 5))
    by_area = render.overlay(rles, colors=colors, paint="area", outline=False)
    by_index = render.overlay(rles, colors=colors, paint="index", outline=False)
    assert (by_area[inside] == colors[0]).all()
    assert (by_index[inside] == colors[1]).all()
    default = render.overlay(rles, colors=colors, outline=False)
    assert np.array_equal(default, by_area)


def test_no_masks():
    image = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    copy = render.overlay([], image)
    assert np.array_equal(copy, image) and copy is not image
    copy[0, 0] = 255
    assert image[0, 0, 0] == 0
    grey = render.overlay((), image[..., 0])
    assert np.array_equal(grey, np.repeat(image[..., :1], 3, axis=2))
    dark = render.overlay([], size=(2, 3))
    assert dark.shape == (2, 3, 3) and (dark == render.BACKGROUND).all()
    with pytest.raises(ValueError, match="needs an image or a size"):
        render.overlay([])
    with pytest.raises(ValueError, match="image is 4x5.*2x3"):
        render.overlay([], image, size=(2, 3))


def test_one_rle_dict_and_tfds_batch():
    masks = random_masks(2, 6, 9, 3)
    rles = sarle.encode(masks)
    image = tricky_image(2, masks, render.palette(3), "area")
    check_invariant(rles[1], image, masks[1:2])
    batch = {"counts": np.array([r["counts"].encode() for r in rles], dtype=object),
             "size": np.array([r["size"] for r in rles], dtype=np.uint64)}
    assert np.array_equal(render.overlay(batch, image), render.overlay(rles, image))


def test_non_contiguous_image():
    masks = random_masks(4, 9, 11, 4)
    big = tricky_image(4, np.zeros((0, 18, 22), bool), render.palette(4), "area")
    view = big[::2, ::2][::-1]
    check_invariant(sarle.encode(masks), view, masks)


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def two_rles():
    masks = random_masks(0, 4, 6, 2)
    return sarle.encode(masks)


@pytest.mark.parametrize("image, error, match", [
    (np.zeros((5, 6, 3), np.uint8), ValueError, r"image is 5x6 \(h x w\) but the masks' size is 4x6"),
    (np.zeros((4, 7), np.uint8), ValueError, r"image is 4x7.*4x6"),
    (np.zeros((6, 4, 3), np.uint8), ValueError, r"image is 6x4.*4x6"),
    (np.zeros((4, 6, 3), np.float32), TypeError, "image must have dtype uint8, got float32"),
    (np.zeros((4, 6, 3), bool), TypeError, "image must have dtype uint8, got bool"),
    (np.zeros((4, 6, 4), np.uint8), ValueError, r"image must have shape \(h, w, 3\).*\(4, 6, 4\)"),
    (np.zeros((24,), np.uint8), ValueError, r"image must have shape .*\(24,\)"),
    (np.zeros((1, 4, 6, 3), np.uint8), ValueError, r"image must have shape .*\(1, 4, 6, 3\)"),
    ([[0] * 6] * 4, TypeError, "image must be a numpy array, got list"),
])
def test_overlay_bad_image(two_rles, image, error, match):
    with pytest.raises(error, match=match):
        render.overlay(two_rles, image)


def test_overlay_bad_size_for_image(two_rles):
    with pytest.raises(ValueError, match=r"image is 4x6 .* the size asked for is 8x12"):
        render.overlay(two_rles, np.zeros((4, 6, 3), np.uint8), size=(8, 12))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(alpha=1.5), ValueError, "alpha must be between 0 and 1, got 1.5"),
    (dict(alpha=-0.1), ValueError, "alpha must be between 0 and 1"),
    (dict(alpha=float("nan")), ValueError, "alpha must be between 0 and 1"),
    (dict(alpha="0.5"), TypeError, "alpha must be a number"),
    (dict(alpha=True), TypeError, "alpha must be a number"),
    (dict(paint="size"), ValueError, "paint must be 'index' or 'area', got 'size'"),
    (dict(colors=[[1, 2, 3]]), ValueError, r"colors must have shape \(2, 3\).*\(1, 3\)"),
    (dict(colors=[[1, 2, 3, 4]] * 2), ValueError, r"colors must have shape \(2, 3\)"),
    (dict(colors=[[1, 2, 256]] * 2), ValueError, "colors must be from 0 to 255"),
    (dict(colors=[[-1, 2, 3]] * 2), ValueError, "colors must be from 0 to 255"),
    (dict(colors=[[0.5, 2, 3]] * 2), TypeError, "colors must be integers"),
])
def test_overlay_bad_arguments(two_rles, kwargs, error, match):
    with pytest.raises(error, match=match):
        render.overlay(two_rles, np.zeros((4, 6, 3), np.uint8), **kwargs)


def test_overlay_masks_of_different_sizes(two_rles):
    other = sarle.encode(np.zeros((5, 6), bool))
    with pytest.raises(ValueError, match=r"mask 2 has size \[5, 6\].*same size"):
        render.overlay(two_rles + [other])


def test_overlay_bad_rle():
    with pytest.raises(ValueError, match="mask 1"):
        render.overlay([{"size": [2, 2], "counts": "4"}, {"size": [2, 2], "counts": "5"}])
    with pytest.raises(TypeError, match="expected an RLE dict"):
        render.overlay("not masks")


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("shape", [(5, 7, 3), (5, 7), (1, 1, 3), (1, 300)])
def test_png_round_trip_bytes(shape):
    picture = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    buffer = io.BytesIO()
    render.write_png(picture, buffer)
    assert buffer.getvalue().startswith(b"\x89PNG\r\n\x1a\n")
    back = render.read_image(buffer.getvalue())
    assert back.shape == shape[:2] + (3,) and back.dtype == np.uint8
    assert back.flags.writeable and back.flags.c_contiguous
    rgb = picture if picture.ndim == 3 else np.repeat(picture[..., None], 3, axis=2)
    assert np.array_equal(back, rgb)
    buffer.seek(0)
    assert np.array_equal(render.read_image(buffer), rgb)          # file object
    assert np.array_equal(render.read_image(bytearray(buffer.getvalue())), rgb)
    assert np.array_equal(render.read_image(memoryview(buffer.getvalue())), rgb)


def test_png_round_trip_paths(tmp_path):
    masks = random_masks(1, 30, 40, 6)
    picture = render.overlay(sarle.encode(masks), tricky_image(1, masks, render.palette(6), "area"))
    for dest in (tmp_path / "a.png", str(tmp_path / "b.png"), tmp_path / "c.jpg"):
        render.write_png(picture, dest)
        assert Path(dest).read_bytes()[:4] == b"\x89PNG"          # PNG whatever the name
        assert np.array_equal(render.read_image(dest), picture)
        assert np.array_equal(render.read_image(str(dest)), picture)
    with open(tmp_path / "d.png", "wb") as handle:
        render.write_png(picture[::-1, ::2], handle)               # non-contiguous
    with open(tmp_path / "d.png", "rb") as handle:
        assert np.array_equal(render.read_image(handle), picture[::-1, ::2])


def test_read_other_formats_and_modes(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((6, 8, 1), 9, np.uint8)], axis=2)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    assert np.array_equal(render.read_image(buffer.getvalue()), rgb)       # alpha dropped
    buffer = io.BytesIO()
    Image.fromarray(rgb).convert("P").save(buffer, format="PNG")
    assert render.read_image(buffer.getvalue()).shape == (6, 8, 3)         # palette image
    deep = rng.integers(0, 65536, (6, 8), dtype=np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(deep).save(buffer, format="PNG")
    back = render.read_image(buffer.getvalue())
    assert np.array_equal(back, np.repeat((deep >> 8).astype(np.uint8)[..., None], 3, axis=2))
    flat = np.full((16, 24, 3), (200, 100, 50), np.uint8)
    Image.fromarray(flat).save(tmp_path / "x.jpg", quality=95)
    jpeg = render.read_image(tmp_path / "x.jpg")
    assert jpeg.shape == (16, 24, 3)
    assert np.abs(jpeg.astype(int) - flat).max() <= 4


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
                                  b"\xff\xd8\xff\xe0" + b"x" * 50])
def test_read_image_garbage(data):
    with pytest.raises(ValueError, match=rf"cannot decode image data \({len(data)} bytes\): "):
        render.read_image(data)


def test_read_image_truncated(tmp_path):
    buffer = io.BytesIO()
    render.write_png(np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8),
                     buffer)
    cut = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    with pytest.raises(ValueError, match=r"cannot decode image data"):
        render.read_image(cut)
    path = tmp_path / "cut.png"
    path.write_bytes(cut)
    with pytest.raises(ValueError, match=r"cannot decode image file '.*cut\.png'"):
        render.read_image(path)
    with open(path, "rb") as handle, \
            pytest.raises(ValueError, match=r"cannot decode image file '.*cut\.png'"):
        render.read_image(handle)


def test_read_image_missing_path(tmp_path):
    missing = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match="nope.png"):
        render.read_image(missing)
    with pytest.raises(FileNotFoundError, match="nope.png"):
        render.read_image(str(missing))


def test_read_image_bad_type():
    with pytest.raises(TypeError, match="read_image takes bytes, a path or a binary file object, got int"):
        render.read_image(3)


@pytest.mark.parametrize("picture, dest, error, match", [
    (np.zeros((2, 3, 3), np.float64), None, TypeError, "picture must have dtype uint8, got float64"),
    ([[0, 0]], None, TypeError, "picture must be a numpy array, got list"),
    (np.zeros((2, 3, 4), np.uint8), None, ValueError, r"picture must have shape .*\(2, 3, 4\)"),
    (np.zeros((6,), np.uint8), None, ValueError, r"picture must have shape .*\(6,\)"),
    (np.zeros((0, 3, 3), np.uint8), None, ValueError, r"cannot write an empty picture of shape \(0, 3, 3\)"),
    (np.zeros((2, 3, 3), np.uint8), 7, TypeError, "dest must be a path or a binary file object, got int"),
])
def test_write_png_bad_input(picture, dest, error, match):
    with pytest.raises(error, match=match):
        render.write_png(picture, io.BytesIO() if dest is None else dest)


# --------------------------------------------------------------------------- module


def test_docstring_examples():
    result = doctest.testmod(render, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


def test_import_and_overlay_without_pillow():
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "import numpy as np, sarle\n"
        "from sarle import render\n"
        "m = np.eye(4, dtype=bool)\n"
        "print(render.overlay([sarle.encode(m)], np.zeros((4, 4, 3), np.uint8)).shape)\n"
        "try:\n"
        "    render.write_png(np.zeros((2, 2), np.uint8), '/nonexistent/x.png')\n"
        "except ImportError:\n"
        "    print('needs Pillow')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["(4,", "4,", "3)", "needs", "Pillow"]
