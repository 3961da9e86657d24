"""Replay the committed fuzz corpus and every saved failing input (no atheris needed).

``fuzz/corpus/<harness>/*`` and ``fuzz/crashes/<harness>/*`` go through the
very check functions the fuzz harnesses run (``fuzz_codec.check_codec``,
``fuzz_sa1b.check_sa1b``), so a regression on anything the fuzzer ever
reached, or ever broke, fails here.

Saved inputs of *known, reported, unfixed* sarle issues are named after the
issue (``fuzz/_common.py: KNOWN_ISSUES``). The harnesses let those issues
through by default, so they must pass like everything else; strict for
their own issue (``SARLE_FUZZ_STRICT=<issue>``) they must still fail, which
is checked in a subprocess under the fuzzers' address-space cap: once an
issue is fixed that check fails and says to delete the issue from
``KNOWN_ISSUES`` and rename its inputs ``fixed-<issue>-...`` (from then on
they must pass strictly, like every other input). ``harness-...`` inputs
broke a harness (since fixed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "fuzz"
sys.path.insert(0, str(FUZZ))

import _common  # noqa: E402
import fuzz_codec  # noqa: E402
import fuzz_sa1b  # noqa: E402

CHECKS = {"codec": fuzz_codec.check_codec, "sa1b": fuzz_sa1b.check_sa1b}
KNOWN = [name for name, _ in _common.KNOWN_ISSUES]


def _inputs(kind: str):
    out = []
    for harness in CHECKS:
        base = FUZZ / kind / harness
        if base.is_dir():
            out.extend((harness, p) for p in sorted(base.iterdir()) if p.is_file() and not p.name.startswith("."))
    return out


CORPUS = _inputs("corpus")
CRASHES = _inputs("crashes")


def _known_issue(path: Path):
    for name in KNOWN:
        if path.name.startswith(name + "-") or path.name == name:
            return name
    return None


def _id(item) -> str:
    harness, path = item
    return f"{harness}/{path.name}"


def test_corpus_is_there():
    assert {h for h, _ in CORPUS} == set(CHECKS), "fuzz/corpus/codec and fuzz/corpus/sa1b must not be empty"
    total = sum(p.stat().st_size for _, p in CORPUS)
    assert total < 300_000, f"the committed corpus is {total} bytes; keep it under 300 kB"


@pytest.mark.parametrize("item", CORPUS + CRASHES, ids=_id)
def test_replay(item, monkeypatch):
    """Every corpus input and every saved failing input passes the harness's checks."""
    harness, path = item
    monkeypatch.setattr(_common, "STRICT", False)
    CHECKS[harness](path.read_bytes())


def test_crash_names():
    """A saved input is named after a known issue, or says it was a harness bug or a fixed one."""
    for harness, path in CRASHES:
        name = path.name
        assert _known_issue(path) or name.startswith(("harness-", "fixed-")), (
            f"fuzz/crashes/{harness}/{name}: name it <known-issue>-..., harness-... or fixed-..."
        )


KNOWN_CRASHES = [item for item in CRASHES if _known_issue(item[1])]


@pytest.fixture(scope="module")
def strict_results():
    """Replay each known issue's inputs, strict for that issue, in one capped subprocess."""
    files = [str(p) for _, p in KNOWN_CRASHES]
    if not files:
        return {}
    proc = subprocess.run(
        [sys.executable, str(FUZZ / "replay.py"), "--strict-by-name", "--json", *files],
        capture_output=True, text=True, timeout=120, cwd=str(ROOT),
    )
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            results[entry["file"]] = entry
    missing = [f for f in files if f not in results]
    assert not missing, f"replay.py gave no result for {missing}:\n{proc.stderr[-3000:]}"
    return results


ISSUES_WITH_INPUTS = sorted({_known_issue(path) for _, path in KNOWN_CRASHES})


def test_known_issues_still_reproduce(strict_results):
    """Strict for its own issue, some saved input of each known issue still hits it.

    When none does any more, the issue is fixed: delete its KNOWN_ISSUES entry
    and rename its inputs fixed-<issue>-..., so the fuzzers check it again.
    """
    for issue in ISSUES_WITH_INPUTS:
        entries = [strict_results[str(p)] for _, p in KNOWN_CRASHES if _known_issue(p) == issue]
        assert any(not e["ok"] for e in entries), (
            f"known issue {issue} no longer reproduces with any of its {len(entries)} inputs: "
            f"it looks fixed; remove it from KNOWN_ISSUES in fuzz/_common.py and rename its "
            f"inputs fuzz/crashes/*/fixed-{issue}-..."
        )


def test_every_known_issue_has_inputs():
    """Each KNOWN_ISSUES entry keeps at least one saved input that shows it."""
    assert set(KNOWN) == set(ISSUES_WITH_INPUTS), (
        f"known issues without an input in fuzz/crashes/: {sorted(set(KNOWN) - set(ISSUES_WITH_INPUTS))}"
    )
