"""The ``sarle`` command: info, verify, render, stats, bench.

Run as ``python -m sarle`` in a subprocess (exit status, stdout/stderr, no
traceback) on shards generated here from ``benchmarks/corpus.py`` and on the
bundled sample; a few cases also call :func:`sarle.cli.main` in-process. Every
number the commands print is recomputed here from the records with plain
numpy.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import pytest

import sarle
from sarle import cli, sa1b
from shards import corpus_module, members_for, write_tar  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: Shard i holds images SHARDS[i]: (seed, (h, w), n_masks, image_id).
SHARDS = [
    [(21, (120, 180), 8, 1), (22, (150, 100), 9, 2)],
    [(23, (96, 128), 7, 3), (24, (120, 180), 12, 4)],
    [(25, (64, 64), 5, 5), (26, (120, 180), 6, 6)],
]

# --------------------------------------------------------------------------- helpers










def run_sarle(*args: Any, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sarle", *[str(a) for a in args]], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, command: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"sarle {command}: error: "), lines[0]
    return lines[0]


def records_of(path: Any) -> List[sa1b.ImageRecord]:
    return [s.record for s in sa1b.iter_shard(path, images=False)]


def values_of(records: Sequence[sa1b.ImageRecord]) -> Dict[str, np.ndarray]:
    """Per-mask (and per-image) values, computed from the dicts."""
    anns = [(r, a) for r in records for a in r.annotations]
    return {
        "masks_per_image": np.array([len(r.annotations) for r in records], dtype=np.float64),
        "area_fraction": np.array([a["area"] / (r.height * r.width) for r, a in anns]),
        "predicted_iou": np.array([a["predicted_iou"] for _, a in anns]),
        "stability_score": np.array([a["stability_score"] for _, a in anns]),
    }


def edge_value(edge: Any) -> float:
    return {"inf": np.inf, "-inf": -np.inf}.get(edge, edge) if isinstance(edge, str) else float(edge)


def reference_counts(values: np.ndarray, edges: Sequence[Any]) -> List[int]:
    """Counts per bin [lo, hi), every value in exactly one bin."""
    bounds = [edge_value(e) for e in edges]
    counts = [int(np.count_nonzero((values >= lo) & (values < hi))) for lo, hi in zip(bounds[:-1], bounds[1:])]
    assert sum(counts) == values.size  # the bins cover every value
    return counts


def check_stats_json(result: Dict[str, Any], records: Sequence[sa1b.ImageRecord]) -> None:
    values = values_of(records)
    n_masks = sum(len(r) for r in records)
    assert result["images"] == len(records)
    assert result["masks"] == n_masks
    assert result["masks_per_image_mean"] == pytest.approx(n_masks / len(records))
    sizes: Dict[str, int] = {}
    for r in records:
        sizes[f"{r.height}x{r.width}"] = sizes.get(f"{r.height}x{r.width}", 0) + 1
    assert result["image_sizes"] == sizes
    pixels = sum(r.height * r.width for r in records)
    assert result["mask_pixels_fraction"] == pytest.approx(
        sum(a["area"] for r in records for a in r.annotations) / pixels, rel=1e-12)
    assert set(result["histograms"]) == set(values)
    for key, hist in result["histograms"].items():
        assert len(hist["counts"]) == len(hist["edges"]) - 1, key
        assert hist["counts"] == reference_counts(values[key], hist["edges"]), key
        assert [edge_value(e) for e in hist["edges"]] == sorted(edge_value(e) for e in hist["edges"])
    assert result["skipped"] == []
    assert not result.get("failed")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def dicts() -> List[List[Dict[str, Any]]]:
    corpus = corpus_module()
    return [[corpus.make_image(seed, shape=shape, n_masks=n, image_id=i) for seed, shape, n, i in shard]
            for shard in SHARDS]


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory: pytest.TempPathFactory, dicts: List[List[Dict[str, Any]]]) -> Path:
    folder = tmp_path_factory.mktemp("shards")
    for i, shard in enumerate(dicts):
        write_tar(folder / f"sa_{i:06d}.tar", members_for(shard))
    return folder


@pytest.fixture(scope="module")
def shards(shard_dir: Path) -> List[Path]:
    return [shard_dir / f"sa_{i:06d}.tar" for i in range(len(SHARDS))]


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory: pytest.TempPathFactory, dicts: List[List[Dict[str, Any]]]) -> Dict[str, Any]:
    """A shard with one problem of each kind, and what verify must say about each."""
    data = copy.deepcopy(dicts[0])
    first = data[0]
    anns = first["annotations"]
    h, w = first["image"]["height"], first["image"]["width"]
    # annotations with a non-empty mask, so that a bbox change is visible
    a, b, c, d, e = [i for i, ann in enumerate(anns) if 0 < ann["area"]][:5]
    anns[a]["area"] += 1
    anns[b]["bbox"][2] += 1
    anns[d]["id"] = anns[c]["id"]
    short = np.zeros((h, w - 1), dtype=bool)
    short[3:9, 4:20] = True
    anns[e]["segmentation"]["counts"] = sarle.encode(short)["counts"]  # sums to h * (w - 1)
    folder = tmp_path_factory.mktemp("corrupt")
    h2, w2 = data[1]["image"]["height"], data[1]["image"]["width"]
    path = write_tar(folder / "bad.tar", members_for(data, jpeg_sizes={"sa_2": (h2 + 8, w2)}))
    member = re.escape(f"{path}: sa_1.json")
    expected = [
        rf"^{member}: annotation {a} \(id {anns[a]['id']}\): stored area {anns[a]['area']} != decoded"
        rf" area {anns[a]['area'] - 1}$",
        rf"^{member}: annotation {b} \(id {anns[b]['id']}\): stored bbox .*toBbox",
        rf"^{member}: annotation {d} \(id {anns[c]['id']}\): id {anns[c]['id']} repeats annotation {c}$",
        rf"^{member}: annotation {e} \(id {anns[e]['id']}\): ",
        rf"^{re.escape(str(path))}: sa_2\.jpg: image is {h2 + 8}x{w2}, the JSON says {h2}x{w2}$",
    ]
    return {"path": path, "expected": expected, "images": 2, "masks": len(anns) + len(data[1]["annotations"])}


# --------------------------------------------------------------------------- info


def test_info_json(shards: List[Path]) -> None:
    result = run_sarle("info", *shards, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = json.loads(result.stdout)
    records = [r for s in shards for r in records_of(s)]
    assert out["paths"] == [str(s) for s in shards]
    check_stats_json(out, records)
    values = values_of(records)
    q = out["quantiles"]["q"]
    assert q == [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
    for key, column in values.items():
        np.testing.assert_allclose(out["quantiles"][key], np.quantile(column, q), rtol=1e-12, err_msg=key)
    assert out["quantiles"]["predicted_iou"][0] == values["predicted_iou"].min()
    assert out["quantiles"]["stability_score"][-1] == values["stability_score"].max()


def test_info_text(shards: List[Path]) -> None:
    result = run_sarle("info", shards[1])
    assert result.returncode == 0, result.stderr
    records = records_of(shards[1])
    n = sum(len(r) for r in records)
    lines = result.stdout.splitlines()
    assert lines[0] == str(shards[1])
    assert re.search(rf"images: 2\s+masks: {n}\s+masks per image: {n / 2:.1f}", result.stdout)
    assert "96x128 (1)" in result.stdout and "120x180 (1)" in result.stdout
    values = values_of(records)
    for key, label in (("predicted_iou", "predicted_iou"), ("stability_score", "stability_score"),
                       ("area_fraction", "area / image"), ("masks_per_image", "masks per image")):
        row = [line for line in lines if line.strip().startswith(label)]
        assert len(row) == 1, label
        numbers = [float(v) for v in row[0].strip()[len(label):].split()]
        expected = np.quantile(values[key], [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1])
        np.testing.assert_allclose(numbers, expected, rtol=1e-3, err_msg=label)  # printed with 4 digits


def test_info_of_a_json_file_and_a_directory(tmp_path: Path, dicts: List[List[Dict[str, Any]]]) -> None:
    data = dicts[1][1]
    path = tmp_path / "sa_4.json"
    path.write_text(json.dumps(data))
    out = json.loads(run_sarle("info", path, "--json").stdout)
    assert out["images"] == 1 and out["masks"] == len(data["annotations"])
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    for name, content in members_for(dicts[2]):
        (extracted / name).write_bytes(content)
    out = json.loads(run_sarle("info", extracted, "--json").stdout)
    assert out["images"] == 2 and out["masks"] == sum(len(d["annotations"]) for d in dicts[2])


def test_info_sample() -> None:
    result = run_sarle("info", "--sample", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    records = records_of(sa1b.sample_path())
    assert out["paths"] == [sa1b.sample_path()]
    check_stats_json(out, records)
    assert out["images"] == 4


# --------------------------------------------------------------------------- verify


def test_verify_ok(shard_dir: Path, shards: List[Path]) -> None:
    result = run_sarle("verify", shard_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    records = [r for s in shards for r in records_of(s)]
    n = sum(len(r) for r in records)
    assert result.stdout.splitlines() == [f"{', '.join(map(str, shards))}: 6 images, {n} masks checked: OK"]
    result = run_sarle("verify", *shards, "--json")
    assert result.returncode == 0
    out = json.loads(result.stdout)
    assert out == {"paths": [str(s) for s in shards], "images": 6, "masks": n, "ok": True, "problems": []}


def test_verify_sample() -> None:
    result = run_sarle("verify", "--sample")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("checked: OK")


def test_verify_reports_each_problem(corrupt: Dict[str, Any]) -> None:
    result = run_sarle("verify", corrupt["path"])
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (f"{corrupt['path']}: {corrupt['images']} images, {corrupt['masks']} masks checked:"
                        f" {len(corrupt['expected'])} problem(s)")
    problems = [line[2:] for line in lines[1:]]
    assert all(line.startswith("  ") for line in lines[1:])
    assert len(problems) == len(corrupt["expected"]), problems
    for pattern in corrupt["expected"]:
        assert sum(bool(re.search(pattern, p)) for p in problems) == 1, (pattern, problems)


def test_verify_json_lists_problems(corrupt: Dict[str, Any]) -> None:
    result = run_sarle("verify", corrupt["path"], "--json")
    assert result.returncode == 1
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["images"] == corrupt["images"] and out["masks"] == corrupt["masks"]
    assert len(out["problems"]) == len(corrupt["expected"]), out["problems"]
    for pattern in corrupt["expected"]:
        assert sum(bool(re.search(pattern, p)) for p in out["problems"]) == 1, (pattern, out["problems"])


def test_verify_in_process(capsys: pytest.CaptureFixture, corrupt: Dict[str, Any], shards: List[Path],
                           tmp_path: Path, dicts: List[List[Dict[str, Any]]]) -> None:
    assert cli.main(["verify", str(shards[0])]) == 0
    assert capsys.readouterr().out.rstrip().endswith("OK")
    # the same ids in two records of one shard
    twin = copy.deepcopy(dicts[0][0])
    twin["image"]["file_name"] = "sa_7.jpg"
    twin["image"]["image_id"] = 7
    twins = write_tar(tmp_path / "twins.tar", members_for([dicts[0][0], twin]))
    assert cli.main(["verify", str(twins), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    n = len(twin["annotations"])
    assert len(out["problems"]) == n, out["problems"]
    assert all(p.startswith(f"{twins}: sa_7.json: annotation ") and " also in " in p and "sa_1.json" in p
               for p in out["problems"])
    # a corrupt JSON member and a JSON without its JPEG are problems too, not crashes
    members = members_for(dicts[2])
    members[1] = ("sa_5.json", b'{"image": ')
    del members[2]  # sa_6.jpg
    bad = write_tar(tmp_path / "members.tar", members)
    assert cli.main(["verify", str(bad), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 0 and len(out["problems"]) == 2
    assert any(f"{bad}: sa_5.json" in p and "JSON" in p for p in out["problems"])
    assert any(f"{bad}: sa_6.json" in p and "without its JPEG" in p for p in out["problems"])
    # --all and the cap at 50 lines
    assert cli.main(["verify", str(corrupt["path"]), "--all"]) == 1
    assert len(capsys.readouterr().out.splitlines()) == 1 + len(corrupt["expected"])


# --------------------------------------------------------------------------- stats


def test_stats_json_merges_shards(shard_dir: Path, shards: List[Path], capsys: pytest.CaptureFixture) -> None:
    result = run_sarle("stats", *shards, "--json")
    assert result.returncode == 0, result.stderr
    merged = json.loads(result.stdout)
    records = [r for s in shards for r in records_of(s)]
    check_stats_json(merged, records)
    assert merged["paths"] == [str(s) for s in shards]
    # a directory of shards is its tars
    from_dir = json.loads(run_sarle("stats", shard_dir, "--json").stdout)
    assert from_dir == merged
    # the stats of the whole equal the sum of each shard's
    singles = []
    for shard in shards:
        assert cli.main(["stats", str(shard), "--json"]) == 0
        single = json.loads(capsys.readouterr().out)
        check_stats_json(single, records_of(shard))
        singles.append(single)
    assert merged["images"] == sum(s["images"] for s in singles)
    assert merged["masks"] == sum(s["masks"] for s in singles)
    for key, hist in merged["histograms"].items():
        assert hist["edges"] == singles[0]["histograms"][key]["edges"]
        total = np.sum([s["histograms"][key]["counts"] for s in singles], axis=0)
        assert hist["counts"] == total.tolist(), key
    sizes: Dict[str, int] = {}
    for single in singles:
        for size, count in single["image_sizes"].items():
            sizes[size] = sizes.get(size, 0) + count
    assert merged["image_sizes"] == sizes
    # order of the shards does not matter
    assert cli.main(["stats", *map(str, shards[::-1]), "--json"]) == 0
    reversed_ = json.loads(capsys.readouterr().out)
    assert reversed_["histograms"] == merged["histograms"]
    assert reversed_["images"] == merged["images"] and reversed_["image_sizes"] == merged["image_sizes"]


def test_stats_text(shards: List[Path]) -> None:
    result = run_sarle("stats", *shards[:2], "--no-progress")
    assert result.returncode == 0, result.stderr
    records = [r for s in shards[:2] for r in records_of(s)]
    n = sum(len(r) for r in records)
    assert result.stdout.startswith(f"2 shard(s): 4 images, {n} masks, {n / 4:.1f} masks per image")
    for label in ("masks per image:", "mask area / image area:", "predicted_iou:", "stability_score:"):
        assert label in result.stdout
    # the printed bins of predicted_iou add up to the mask count
    section = result.stdout.split("predicted_iou:")[1].split("stability_score:")[0]
    counts = [int(m.group(1)) for m in re.finditer(r"\)\s+(\d+)\s+[\d.]+%", section)]
    assert sum(counts) == n


def test_stats_on_error(tmp_path: Path, dicts: List[List[Dict[str, Any]]], capsys: pytest.CaptureFixture) -> None:
    members = members_for(dicts[1])
    members[3] = ("sa_4.json", b"[1, 2")
    bad = write_tar(tmp_path / "bad.tar", members)
    result = run_sarle("stats", bad, "--json")  # on_error=raise: the shard fails, and says why
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{bad}: sa_4.json" in result.stdout + result.stderr
    assert cli.main(["stats", str(bad), "--json", "--on-error", "skip"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["images"] == 1 and out["masks"] == len(dicts[1][0]["annotations"])
    assert len(out["skipped"]) == 1 and f"{bad}: sa_4.json" in out["skipped"][0]
    assert cli.main(["info", str(bad), "--on-error", "skip"]) == 0
    captured = capsys.readouterr()
    assert "images: 1" in captured.out and "skipped 1 sample" in captured.err and "sa_4.json" in captured.err


# --------------------------------------------------------------------------- render


def read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return np.asarray(picture.convert("RGB"))


def test_render_sample(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = run_sarle("render", "--sample", "-o", out)
    assert result.returncode == 0, result.stderr
    sample = next(iter(sa1b.iter_shard(sa1b.sample_path())))
    record = sample.record
    picture = read_png(out)
    assert picture.shape == (record.height, record.width, 3)
    assert result.stdout.strip() == f"wrote {out}: {sample.key}, {record.width}x{record.height} px, {len(record)} masks"
    # pixels no mask covers are the image's own
    covered = record.masks().any(axis=0)
    np.testing.assert_array_equal(picture[~covered], sample.image()[~covered])
    assert (picture[covered] != sample.image()[covered]).any(axis=-1).all()


def test_render_default_output_name(tmp_path: Path) -> None:
    result = run_sarle("render", "--sample", "--key", "sa_2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.listdir(tmp_path) == ["sa_2.png"]
    sample = [s for s in sa1b.iter_shard(sa1b.sample_path(), images=False) if s.key == "sa_2"][0]
    assert read_png(tmp_path / "sa_2.png").shape == (sample.record.height, sample.record.width, 3)


def test_render_labels_key_and_filters(tmp_path: Path) -> None:
    sample = [s for s in sa1b.iter_shard(sa1b.sample_path(), images=False) if s.key == "sa_3"][0]
    record = sample.record
    pixels = record.height * record.width
    keep = [i for i, a in enumerate(record.annotations)
            if a["predicted_iou"] >= 0.95 and a["area"] >= 500 and a["area"] / pixels <= 0.2]
    assert 0 < len(keep) < len(record)
    out = tmp_path / "labels.png"
    result = run_sarle("render", "--sample", "--key", "sa_3", "--labels", "--min-iou", "0.95", "--min-area",
                       "500", "--max-area-fraction", "0.2", "-o", out)
    assert result.returncode == 0, result.stderr
    assert f"sa_3, {record.width}x{record.height} px, {len(keep)} of {len(record)} masks (label map)" in result.stdout
    picture = read_png(out)
    assert picture.shape == (record.height, record.width, 3)
    # the label-map picture: dark background exactly where none of the kept masks is
    covered = record.masks(indices=keep).any(axis=0)
    background = (picture == np.array([24, 24, 24], np.uint8)).all(axis=-1)
    np.testing.assert_array_equal(background, ~covered)


@pytest.mark.parametrize("option, value, column", [("--min-iou", "0.96", "predicted_iou"),
                                                   ("--min-stability", "0.95", "stability_score"),
                                                   ("--min-area", "2000", "area")])
def test_render_filters_reduce_the_count(tmp_path: Path, option: str, value: str, column: str,
                                         capsys: pytest.CaptureFixture) -> None:
    record = next(iter(sa1b.iter_shard(sa1b.sample_path(), images=False))).record
    kept = sum(a[column] >= float(value) for a in record.annotations)
    assert 0 < kept < len(record)
    assert cli.main(["render", "--sample", option, value, "-o", str(tmp_path / "f.png"), "--no-outline"]) == 0
    assert f"{kept} of {len(record)} masks" in capsys.readouterr().out


def test_render_generated_shard(tmp_path: Path, shards: List[Path], capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r.png"
    assert cli.main(["render", str(shards[0]), "--key", "sa_2", "-o", str(out), "--alpha", "0.7"]) == 0
    sample = [s for s in sa1b.iter_shard(shards[0]) if s.key == "sa_2"][0]
    picture = read_png(out)
    assert picture.shape == (150, 100, 3)
    covered = sample.record.masks().any(axis=0)
    image = sample.image()
    np.testing.assert_array_equal(picture[~covered], image[~covered])
    assert (picture[covered] != image[covered]).any(axis=-1).all()
    assert "sa_2, 100x150 px" in capsys.readouterr().out
    # a filter that keeps nothing draws the image alone
    assert cli.main(["render", str(shards[0]), "--key", "sa_2", "-o", str(out), "--min-iou", "5"]) == 0
    np.testing.assert_array_equal(read_png(out), image)
    assert f"0 of {len(sample.record)} masks" in capsys.readouterr().out


def test_render_jpeg_of_the_wrong_size(corrupt: Dict[str, Any], tmp_path: Path) -> None:
    line = assert_one_line_error(run_sarle("render", corrupt["path"], "--key", "sa_2", "-o", tmp_path / "x.png"),
                                 "render")
    assert "sa_2" in line
    assert not (tmp_path / "x.png").exists()


# --------------------------------------------------------------------------- bench


def test_bench() -> None:
    result = run_sarle("bench", "--repeat", "1")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "4 images" in out and "median of 1" in out
    header = [line for line in out.splitlines() if line.startswith("job")]
    assert len(header) == 1 and "sarle" in header[0] and "pycocotools" in header[0]
    rows = [line for line in out.splitlines() if re.match(r"^(decode|encode|area|IoU)", line)]
    assert len(rows) == 5, out
    for row in rows:
        assert re.search(r"\d+(\.\d+)? (us|ms)", row) and re.search(r"\d+\.\dx", row), row


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("command", ["info", "verify", "stats", "render"])
def test_missing_path_is_a_one_line_error(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "no_such.tar"
    line = assert_one_line_error(run_sarle(command, missing), command)
    assert str(missing) in line


def test_other_errors_are_one_line(tmp_path: Path, shards: List[Path]) -> None:
    line = assert_one_line_error(run_sarle("render", "--sample", "--key", "sa_99", "-o", tmp_path / "x.png"),
                                 "render")
    assert "sa_99" in line
    assert_one_line_error(run_sarle("info"), "info")  # no path and no --sample
    not_a_tar = tmp_path / "x.tar"
    not_a_tar.write_bytes(b"garbage" * 100)
    result = run_sarle("stats", not_a_tar)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(not_a_tar) in result.stderr and "tar" in result.stderr


def test_errors_in_process(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert cli.main(["info", str(tmp_path / "nope")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("sarle info: error: ") and captured.err.count("\n") == 1
    assert cli.main(["render", "--sample", "--key", "nope", "-o", str(tmp_path / "n.png")]) == 1
    assert capsys.readouterr().err.startswith("sarle render: error: ")
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    capsys.readouterr()


def test_version_and_help() -> None:
    result = run_sarle("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"sarle {sarle.__version__}"
    result = run_sarle("--help")
    assert result.returncode == 0
    for command in ("info", "verify", "render", "stats", "bench"):
        assert command in result.stdout
