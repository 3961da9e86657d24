"""Shared pytest configuration: Hypothesis profiles and the ``slow`` tier.

Hypothesis profiles, chosen with the ``HYPOTHESIS_PROFILE`` environment
variable (default ``dev``):

* ``dev``  -- fast local runs, 50 examples per property.
* ``ci``   -- 300 examples, derandomized so that a CI failure reproduces.
* ``slow`` -- 2000 examples; also runs the ``@pytest.mark.slow`` tests.

Timing never fails a test: ``deadline=None`` everywhere.

Tests marked ``@pytest.mark.slow`` are skipped unless they are selected
explicitly (``pytest -m slow``), or ``HYPOTHESIS_PROFILE=slow``, or
``SARLE_SLOW=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Make the helper modules (reference, strategies, common) importable however
# pytest is invoked.
sys.path.insert(0, str(Path(__file__).parent))

_common = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example],
)
settings.register_profile("dev", max_examples=50, **_common)
settings.register_profile("ci", max_examples=300, derandomize=True, print_blob=True, **_common)
settings.register_profile("slow", max_examples=2000, print_blob=True, **_common)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


def _run_slow(config: pytest.Config) -> bool:
    markexpr = config.getoption("markexpr", default="") or ""
    return ("slow" in markexpr and "not slow" not in markexpr) or PROFILE == "slow" or \
        os.environ.get("SARLE_SLOW", "0") not in ("", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _run_slow(config):
        return
    skip = pytest.mark.skip(reason="slow test: run with -m slow, HYPOTHESIS_PROFILE=slow or SARLE_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
