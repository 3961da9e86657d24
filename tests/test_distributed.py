"""Shard jobs on a real ``dask.distributed.LocalCluster`` give the in-process results.

One cluster of two single-threaded worker processes serves the whole module
(its address is what ``--scheduler`` / ``scheduler=`` get); one test lets
sarle start its own (``--workers 2``). The shards are generated here. Every
Dask result is compared with the in-process run: ``stats`` and ``verify``
output, exports byte for byte, retries, and a job during which a worker
process is killed. Each job runs under a time limit, so a hang fails.

The task helpers the workers import live in ``tests/dask_tasks.py``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

pytest.importorskip("distributed")

from dask.distributed import Client, LocalCluster  # noqa: E402

import dask_tasks  # noqa: E402
from sarle import cli, jobs  # noqa: E402
from sarle.export import ExportedShard, read_meta  # noqa: E402
from sarle.jobs import export_task, run_shards, stats_task, verify_task  # noqa: E402
from shards import corpus_module, members_for, write_tar  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

#: Shard i holds images SHARDS[i]: (seed, (h, w), n_masks, image_id).
SHARDS = [
    [(41, (60, 90), 6, 1), (42, (80, 50), 5, 2)],
    [(43, (64, 64), 7, 3), (44, (30, 120), 0, 4)],
    [(45, (100, 70), 4, 5), (46, (48, 48), 2, 6)],
    [(47, (72, 96), 8, 7), (48, (96, 72), 6, 8)],
    [(49, (40, 40), 3, 9), (50, (50, 100), 5, 10)],
    [(51, (90, 60), 6, 11), (52, (1, 1), 2, 12)],
]

#: Seconds a job may take before the test fails (a hang fails instead of blocking).
LIMIT = 60.0

# --------------------------------------------------------------------------- helpers










def within(seconds: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a thread; fail the test if it takes longer than ``seconds``."""
    box: Dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - re-raised below
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{getattr(fn, '__name__', fn)} did not finish within {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def run_main(capsys: pytest.CaptureFixture, *args: Any) -> Tuple[int, str, str]:
    capsys.readouterr()
    code = within(LIMIT, cli.main, [str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def file_bytes(path: Path) -> Dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in sorted(os.listdir(path))}


def exports_of(out: Path) -> Dict[str, Dict[str, bytes]]:
    """Every finished export in ``out``, file by file."""
    return {name: file_bytes(out / name) for name in sorted(os.listdir(out)) if name.endswith(".sarle")}


def hidden_leftovers(out: Path) -> List[str]:
    return sorted(n for n in os.listdir(out) if not n.endswith(".sarle"))


def stats_json(report: jobs.JobReport) -> Dict[str, Any]:
    total = cli.DatasetStats()
    for shard in report.ordered():
        total.merge(shard)
    return total.to_json()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def shard_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = corpus_module()
    folder = tmp_path_factory.mktemp("shards")
    for i, shard in enumerate(SHARDS):
        dicts = [corpus.make_image(seed, shape=shape, n_masks=n, image_id=k) for seed, shape, n, k in shard]
        write_tar(folder / f"sa_{i:06d}.tar", members_for(dicts))
    return folder


@pytest.fixture(scope="module")
def shards(shard_dir: Path) -> List[str]:
    return [str(shard_dir / f"sa_{i:06d}.tar") for i in range(len(SHARDS))]


@pytest.fixture(scope="module")
def problem_shards(tmp_path_factory: pytest.TempPathFactory, shard_dir: Path) -> Dict[str, str]:
    """``problems``: a stored area off by one and a JPEG of the wrong size; ``corrupt``: a tar cut short."""
    corpus = corpus_module()
    folder = tmp_path_factory.mktemp("problems")
    dicts = [corpus.make_image(seed, shape=shape, n_masks=n, image_id=k) for seed, shape, n, k in SHARDS[0]]
    dicts[0]["annotations"][2]["area"] += 1
    problems = write_tar(folder / "sa_000100.tar", members_for(dicts, jpeg_sizes={"sa_2": (81, 50)}))
    data = (shard_dir / "sa_000003.tar").read_bytes()
    corrupt = folder / "sa_000101.tar"
    corrupt.write_bytes(data[: len(data) // 2])
    return {"problems": str(problems), "corrupt": str(corrupt)}


@pytest.fixture(scope="module")
def cluster() -> Any:
    # dashboard_address=":0": Dask's scheduler serves HTTP (/metrics, /health) even without the
    # dashboard, on port 8787 unless told otherwise; a random port keeps 8787 free for the
    # cluster that sarle starts itself in test_cli_workers_starts_a_local_cluster.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster: Any) -> Any:
    with Client(cluster) as connected:
        yield connected


@pytest.fixture
def address(cluster: Any, client: Any) -> str:
    """The scheduler's address, once both workers are up (a killed one is restarted by its nanny)."""
    client.wait_for_workers(2, timeout=30)
    assert len(client.scheduler_info()["workers"]) == 2
    return cluster.scheduler_address


# --------------------------------------------------------------------------- run_shards


def test_the_workers_can_import_the_test_tasks(client: Any, address: str) -> None:
    pids = client.run(dask_tasks.worker_pid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()


def test_run_shards_stats_on_dask_equal_in_process(address: str, shards: List[str]) -> None:
    here = run_shards(stats_task, shards, "raise")
    there = within(LIMIT, run_shards, stats_task, shards, "raise", scheduler=address)
    assert here.failed == {} and there.failed == {}
    assert list(there.results) != [] and sorted(there.results) == sorted(shards)
    for path in shards:
        assert there.results[path].to_json() == here.results[path].to_json(), path
    assert stats_json(there) == stats_json(here)
    assert stats_json(here)["images"] == sum(len(s) for s in SHARDS)
    assert there.where == f"the Dask cluster at {address}"
    assert here.where == "in process"
    # and the per-shard verify results
    here = run_shards(verify_task, shards)
    there = within(LIMIT, run_shards, verify_task, shards, scheduler=address)
    assert there.ordered() == here.ordered()
    assert all(r.problems == [] for r in there.ordered())


def test_on_result_is_called_once_per_shard(address: str, shards: List[str]) -> None:
    seen: List[str] = []
    report = within(LIMIT, run_shards, stats_task, shards, "raise", scheduler=address,
                    on_result=lambda path, result: seen.append(path))
    assert sorted(seen) == sorted(shards)
    assert [r.images for r in report.ordered()] == [len(s) for s in SHARDS]


def test_run_shards_rejects_bad_options(shards: List[str]) -> None:
    with pytest.raises(ValueError, match="not both"):
        run_shards(stats_task, shards, scheduler="tcp://127.0.0.1:1", workers=2)
    with pytest.raises(ValueError, match="retries"):
        run_shards(stats_task, shards, retries=-1)
    with pytest.raises(ValueError, match="workers"):
        run_shards(stats_task, shards, workers=0)
    with pytest.raises(ValueError, match="twice"):
        run_shards(stats_task, [shards[0], shards[0]])


def test_without_dask_the_options_say_what_to_install(shards: List[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails
    with pytest.raises(ValueError, match=r"pip install 'sarle\[dask\]'"):
        run_shards(stats_task, shards, workers=2)
    assert run_shards(stats_task, shards[:1]).failed == {}  # in process needs no Dask


# --------------------------------------------------------------------------- the commands


def test_cli_stats_scheduler_equals_in_process(address: str, shards: List[str], problem_shards: Dict[str, str],
                                               capsys: pytest.CaptureFixture) -> None:
    code, here, err = run_main(capsys, "stats", *shards, "--json")
    assert code == 0, err
    code, there, err = run_main(capsys, "stats", *shards, "--json", "--scheduler", address)
    assert code == 0, err
    assert json.loads(there) == json.loads(here)
    assert json.loads(here)["failed"] == {}
    # a corrupt shard fails, by name, on both; the other shards' numbers are intact
    corrupt = problem_shards["corrupt"]
    with_corrupt = [*shards[:3], corrupt, *shards[3:]]
    code_here, here_bad, err_here = run_main(capsys, "stats", *with_corrupt, "--json", "--retries", 1)
    code_there, there_bad, err_there = run_main(capsys, "stats", *with_corrupt, "--json", "--retries", 1,
                                                "--scheduler", address)
    assert (code_here, code_there) == (1, 1)
    assert json.loads(there_bad) == json.loads(here_bad)
    result = json.loads(there_bad)
    assert list(result["failed"]) == [corrupt]
    assert result["failed"][corrupt].startswith(f"{corrupt}: truncated or corrupt")
    good = json.loads(here)
    assert {k: v for k, v in result.items() if k not in ("paths", "failed")} == \
        {k: v for k, v in good.items() if k not in ("paths", "failed")}
    # text: the failure is on stderr, by name
    code, out, err = run_main(capsys, "stats", *with_corrupt, "--scheduler", address, "--retries", 0)
    assert code == 1
    assert out.startswith(f"{len(with_corrupt)} shard(s): {good['images']} images, {good['masks']} masks")
    assert err.splitlines()[-2] == "failed: 1 shard(s):"
    assert err.splitlines()[-1].startswith(f"  {corrupt}: ")
    assert err.splitlines()[-1].endswith(result["failed"][corrupt])


def test_cli_verify_scheduler_equals_in_process(address: str, shards: List[str], problem_shards: Dict[str, str],
                                                capsys: pytest.CaptureFixture) -> None:
    code, here, err = run_main(capsys, "verify", *shards, "--json")
    assert code == 0, err
    code, there, err = run_main(capsys, "verify", *shards, "--json", "--scheduler", address)
    assert code == 0, err
    assert json.loads(there) == json.loads(here)
    assert json.loads(here)["ok"] is True
    paths = [shards[0], problem_shards["problems"], shards[1], problem_shards["corrupt"], *shards[2:]]
    code_here, here_bad, _ = run_main(capsys, "verify", *paths, "--json")
    code_there, there_bad, _ = run_main(capsys, "verify", *paths, "--json", "--scheduler", address)
    assert (code_here, code_there) == (1, 1)
    assert json.loads(there_bad) == json.loads(here_bad)
    result = json.loads(there_bad)
    assert result["ok"] is False
    problems = result["problems"]
    bad, corrupt = problem_shards["problems"], problem_shards["corrupt"]
    assert any(p.startswith(f"{bad}: sa_1.json: annotation 2 ") and "stored area" in p for p in problems)
    assert f"{bad}: sa_2.jpg: image is 81x50, the JSON says 80x50" in problems
    assert any(p.startswith(f"{corrupt}: truncated or corrupt") for p in problems)
    assert all(p.startswith((bad, corrupt)) for p in problems)  # the good shards have none
    # text output names them too, and counts every image of the good shards
    code, out, _ = run_main(capsys, "verify", *paths, "--scheduler", address, "--all")
    assert code == 1
    assert out.splitlines()[0].endswith(f"{len(problems)} problem(s)")
    assert [line.strip() for line in out.splitlines()[1:]] == problems


def test_cli_export_scheduler_is_byte_identical(address: str, shards: List[str], tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    code, out_here, err = run_main(capsys, "export", *shards, "--out", here, "--size", 96, "--label-map", "--json")
    assert code == 0, err
    code, out_there, err = run_main(capsys, "export", *shards, "--out", there, "--size", 96, "--label-map",
                                    "--json", "--scheduler", address)
    assert code == 0, err
    assert exports_of(there) == exports_of(here)  # meta.json included: same source paths
    assert len(exports_of(there)) == len(shards)
    assert hidden_leftovers(there) == []
    summary_here, summary_there = json.loads(out_here), json.loads(out_there)
    assert summary_there["where"] == f"the Dask cluster at {address}"
    timing = ("seconds", "shard_seconds", "where", "out", "exported")
    assert {k: v for k, v in summary_there.items() if k not in timing} == \
        {k: v for k, v in summary_here.items() if k not in timing}
    assert [os.path.basename(p) for p in summary_there["exported"]] == \
        [os.path.basename(p) for p in summary_here["exported"]]
    for path in summary_there["exported"]:
        ExportedShard(path)
    # a rerun on Dask skips every shard and touches nothing
    code, out_again, err = run_main(capsys, "export", *shards, "--out", there, "--size", 96, "--label-map",
                                    "--json", "--scheduler", address)
    assert code == 0, err
    again = json.loads(out_again)
    assert again["exported"] == [] and again["already_done"] == summary_there["exported"]
    assert exports_of(there) == exports_of(here)


# Another Dask scheduler on this machine (another test session) may hold port 8787; the
# cluster sarle starts then warns and moves to another port (see the next test).
@pytest.mark.filterwarnings("ignore:Port 8787 is already in use:UserWarning")
def test_cli_workers_starts_a_local_cluster(shards: List[str], problem_shards: Dict[str, str],
                                            capsys: pytest.CaptureFixture) -> None:
    paths = [*shards, problem_shards["corrupt"]]
    code_here, here, _ = run_main(capsys, "stats", *paths, "--json", "--retries", 0)
    code_there, there, err = run_main(capsys, "stats", *paths, "--json", "--retries", 0, "--workers", 2)
    assert (code_here, code_there) == (1, 1), err
    assert json.loads(there) == json.loads(here)
    assert list(json.loads(there)["failed"]) == [problem_shards["corrupt"]]


def test_workers_does_not_warn_when_port_8787_is_taken(shards: List[str]) -> None:
    """``--workers N`` starts a private cluster; a dashboard someone runs on 8787 must not matter.

    BUG (sarle/jobs.py, _on_dask: ``LocalCluster(..., dashboard_address=None)``):
    with distributed 2026.8 the scheduler still starts its HTTP server, on the
    default port 8787, so while another Dask scheduler (a notebook's, another
    job's) holds 8787, ``sarle stats --workers 2`` prints ``UserWarning: Port
    8787 is already in use. Perhaps you already have a cluster running?
    Hosting the HTTP server on port N instead`` (under ``-W error`` the run
    fails: ``RuntimeError: Cluster failed to start``). Expected: no warning,
    e.g. ``dashboard_address=":0"`` (a free port) or no HTTP server.
    """
    import socket
    import warnings

    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        try:
            holder.bind(("", 8787))
            holder.listen(1)
        except OSError:
            pass  # already taken by someone else: the same situation
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            report = within(LIMIT, run_shards, stats_task, shards[:2], "raise", workers=1)
    finally:
        holder.close()
    assert report.failed == {}
    ports = [str(w.message).splitlines()[0] for w in caught if "already in use" in str(w.message)]
    assert ports == []


@pytest.mark.parametrize("command", ["stats", "verify", "export"])
def test_a_missing_shard_is_refused_before_the_job(address: str, shards: List[str], tmp_path: Path,
                                                   command: str, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "sa_000404.tar"
    extra = ["--out", tmp_path / "out"] if command == "export" else []
    code, out, err = run_main(capsys, command, shards[0], missing, *extra, "--scheduler", address)
    assert (code, out) == (1, "")
    assert err.strip() == f"sarle {command}: error: {missing}: no such file or directory"
    assert not (tmp_path / "out").exists()


def test_scheduler_and_workers_together_are_refused(shards: List[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["stats", shards[0], "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("on_dask", [False, True], ids=["in process", "dask"])
def test_a_task_that_fails_once_is_retried(on_dask: bool, request: pytest.FixtureRequest, shards: List[str],
                                           tmp_path: Path) -> None:
    where: Dict[str, Any] = {"scheduler": request.getfixturevalue("address")} if on_dask else {}
    expected = run_shards(stats_task, shards, "raise")
    markers = tmp_path / "retried"
    markers.mkdir()
    report = within(LIMIT, run_shards, dask_tasks.flaky_stats, shards, str(markers), retries=1, **where)
    assert report.failed == {}
    assert sorted(os.listdir(markers)) == sorted(os.path.basename(p) + ".tried" for p in shards)
    assert [r.to_json() for r in report.ordered()] == [r.to_json() for r in expected.ordered()]
    # without retries, every shard fails, each reported by name with its error
    markers = tmp_path / "not-retried"
    markers.mkdir()
    report = within(LIMIT, run_shards, dask_tasks.flaky_stats, shards, str(markers), retries=0, **where)
    assert report.results == {}
    assert report.failed == {
        p: f"RuntimeError: first attempt at {os.path.basename(p)} fails" for p in shards
    }


# --------------------------------------------------------------------------- a worker dies


def _kill_a_busy_worker(client: Any, ready: Callable[[Dict[str, List[str]]], Any]) -> Tuple[int, str, List[str]]:
    """SIGKILL the process of a worker once ``ready(processing)`` names one: its pid, address, tasks."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        processing = {addr: [str(k) for k in keys] for addr, keys in client.processing().items()}
        victim = ready(processing)
        if victim:
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            return pid, victim, processing[victim]
        time.sleep(0.02)
    pytest.fail("no task started on a worker within 30 s")


def _wait_for_job(thread: threading.Thread, box: Dict[str, Any]) -> jobs.JobReport:
    thread.join(LIMIT)
    if thread.is_alive():
        pytest.fail(f"the job did not finish within {LIMIT} s of a worker being killed")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _start(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Tuple[threading.Thread, Dict[str, Any]]:
    box: Dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - re-raised in _wait_for_job
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, box


def test_killing_a_worker_mid_stats_job(client: Any, address: str, shards: List[str]) -> None:
    expected = run_shards(stats_task, shards, "raise")
    before = set(client.run(os.getpid).values())
    thread, box = _start(run_shards, dask_tasks.slow_stats, shards, 0.6, scheduler=address, retries=0)

    def busy(processing: Dict[str, List[str]]) -> Any:
        return next((addr for addr, keys in processing.items() if any("slow_stats" in k for k in keys)), None)

    killed, _, tasks = _kill_a_busy_worker(client, busy)
    assert killed in before and tasks
    assert thread.is_alive()  # killed mid-job
    report = _wait_for_job(thread, box)
    # retries=0: the lost task was not a failure; Dask ran it again elsewhere
    assert report.failed == {}
    assert [r.to_json() for r in report.ordered()] == [r.to_json() for r in expected.ordered()]
    client.wait_for_workers(2, timeout=30)  # the nanny restarts the killed worker
    assert killed not in client.run(os.getpid).values()


def test_killing_a_worker_mid_export(client: Any, address: str, shards: List[str], tmp_path: Path) -> None:
    """A worker killed while writing an export: the shard is redone, every export is exact."""
    reference = tmp_path / "reference"
    assert run_shards(export_task, shards, str(reference), 64, True, "raise").failed == {}
    out = tmp_path / "out"
    out.mkdir()
    thread, box = _start(run_shards, dask_tasks.slow_export, shards, str(out), 64, True, 0.4,
                         scheduler=address, retries=0)
    index = {os.path.basename(p)[: -len(".tar")]: i for i, p in enumerate(shards)}

    def writing(processing: Dict[str, List[str]]) -> Any:
        """The worker of a shard whose temporary export directory exists (it is mid-write)."""
        partial = [n for n in os.listdir(out) if n.endswith(".partial")]
        for name in partial:
            shard = name[1:].split(".")[0]
            for addr, keys in processing.items():
                if any(k.startswith(f"sarle-slow_export-{index[shard]}-") for k in keys):
                    return addr
        return None

    _, _, tasks = _kill_a_busy_worker(client, writing)
    assert thread.is_alive() and tasks  # killed mid-job, mid-write
    report = _wait_for_job(thread, box)
    assert report.failed == {}
    assert [r.already_done for r in report.ordered()] == [False] * len(shards)
    assert exports_of(out) == exports_of(reference)
    for name in exports_of(out):
        assert read_meta(str(out / name)) is not None
        ExportedShard(str(out / name))
    # what a killed writer can leave is a hidden temporary directory, never a *.sarle export
    assert all(n.startswith(".") and n.endswith(".partial") for n in hidden_leftovers(out))
    # and the rerun redoes nothing
    again = within(LIMIT, run_shards, export_task, shards, str(out), 64, True, "raise", scheduler=address)
    assert again.failed == {} and all(r.already_done for r in again.ordered())
    client.wait_for_workers(2, timeout=30)
