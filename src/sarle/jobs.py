"""Shard jobs, run in this process or on a Dask cluster: one task per shard.

The tasks (:func:`stats_task`, :func:`verify_task`, :func:`export_task`) are
plain top-level functions of a shard path, so a Dask worker can run them;
:func:`run_shards` runs one over many shards and returns every shard's
result in the order the shards were given, so reducing them gives exactly
what a single-process run gives.

Where the tasks run:

- default: in this process, one shard after the other;
- ``workers=N``: a ``dask.distributed.LocalCluster`` of N single-threaded
  worker processes, started for the run and closed after it;
- ``scheduler="tcp://host:8786"``: a running Dask scheduler (a cluster you
  started with ``dask scheduler`` / ``dask worker``, dask-jobqueue or
  Kubernetes); the workers need sarle installed and the shard paths
  readable.

A shard whose task raises is retried (``retries`` times), then reported in
:attr:`JobReport.failed` with the error; Dask also reruns the tasks of a
worker that dies. Nothing is silently dropped.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

__all__ = ["JobReport", "run_shards", "stats_task", "verify_task", "export_task"]


# --------------------------------------------------------------------------- tasks


def stats_task(path: str, on_error: str = "raise", progress: Any = None) -> Any:
    """The :class:`sarle.cli.DatasetStats` of one shard."""
    from .cli import shard_stats

    return shard_stats(path, keep_values=False, on_error=on_error, progress=progress)


@dataclass
class VerifyResult:
    """What ``sarle verify`` found in one shard."""

    path: str
    images: int = 0
    masks: int = 0
    problems: List[str] = field(default_factory=list)


def verify_task(path: str, progress: Any = None) -> VerifyResult:
    """Check every record of one shard (see :func:`sarle.cli.verify_record`)."""
    from .cli import verify_shard

    return verify_shard(path, progress=progress)


def export_task(
    path: str, out_dir: str, long_side: int, label_map: bool, on_error: str, progress: Any = None
) -> Any:
    """Export one shard (see :func:`sarle.export.export_shard`)."""
    from .export import export_shard

    return export_shard(
        path, out_dir, long_side=long_side, label_map=label_map, on_error=on_error, progress=progress
    )


# --------------------------------------------------------------------------- running


@dataclass
class JobReport:
    """Results of :func:`run_shards`, in the order the shards were given."""

    paths: List[str]
    results: Dict[str, Any] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    where: str = "in process"

    def ordered(self) -> List[Any]:
        """The results of the shards that succeeded, in the given order."""
        return [self.results[p] for p in self.paths if p in self.results]


def run_shards(
    task: Callable[..., Any],
    paths: Sequence[str],
    *args: Any,
    scheduler: Optional[str] = None,
    workers: Optional[int] = None,
    retries: int = 2,
    on_result: Optional[Callable[[str, Any], None]] = None,
    progress: Any = None,
) -> JobReport:
    """Run ``task(path, *args)`` for every shard; see the module docstring.

    ``on_result(path, result)`` is called as each shard finishes. In
    process, ``progress`` is also passed to the task (``progress=``) for
    per-image progress; Dask workers report per shard only. Failures after
    ``retries`` retries are in ``report.failed``.
    """
    if scheduler is not None and workers is not None:
        raise ValueError("give --scheduler or --workers, not both")
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    paths = [os.fspath(p) for p in paths]
    if len(set(paths)) != len(paths):
        raise ValueError("a shard is listed twice")
    start = time.perf_counter()
    if scheduler is None and workers is None:
        report = _in_process(task, paths, args, retries, on_result, progress)
    else:
        report = _on_dask(task, paths, args, scheduler, workers, retries, on_result)
    report.seconds = time.perf_counter() - start
    return report


def _error_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if not isinstance(error, (ValueError, TypeError, OSError)):
        text = f"{type(error).__name__}: {text}"
    return text


def _in_process(
    task: Callable[..., Any],
    paths: List[str],
    args: tuple,
    retries: int,
    on_result: Optional[Callable[[str, Any], None]],
    progress: Any,
) -> JobReport:
    report = JobReport(paths)
    for path in paths:
        for attempt in range(retries + 1):
            try:
                result = task(path, *args, progress=progress)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as error:  # noqa: BLE001 - reported by name, never dropped
                if attempt == retries:
                    report.failed[path] = _error_line(error)
                continue
            report.results[path] = result
            if on_result:
                on_result(path, result)
            break
    return report


def _on_dask(
    task: Callable[..., Any],
    paths: List[str],
    args: tuple,
    scheduler: Optional[str],
    workers: Optional[int],
    retries: int,
    on_result: Optional[Callable[[str, Any], None]],
) -> JobReport:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError(
            "--scheduler and --workers need Dask: pip install 'sarle[dask]'"
        ) from None
    report = JobReport(paths)
    cluster = None
    if scheduler is None:
        import dask

        # Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which makes glibc hand
        # every large mask buffer back to the OS and fault it in again: exports ran about
        # 2x slower per task than in process. Workers here keep glibc's default.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
        client = Client(cluster)
        report.where = f"a local Dask cluster of {workers} worker processes"
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise ValueError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
        report.where = f"the Dask cluster at {scheduler}"
    try:
        futures = {}
        for index, path in enumerate(paths):
            future = client.submit(
                task, path, *args, retries=retries, pure=False, key=f"sarle-{task.__name__}-{index}-{os.getpid()}-{time.time_ns()}"
            )
            futures[future] = path
        for future in as_completed(list(futures)):
            path = futures[future]
            if future.status == "finished":
                result = future.result()
                report.results[path] = result
                if on_result:
                    on_result(path, result)
            else:
                try:
                    error = future.exception()
                except Exception as lost:  # noqa: BLE001 - e.g. a cancelled future
                    error = lost
                report.failed[path] = _error_line(error) if error else f"task {future.status}"
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return report
