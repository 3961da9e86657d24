"""Shared pieces of sarle's fuzz harnesses: the byte provider, findings, known issues.

Nothing here imports sarle, so that a harness run as ``__main__`` can import
this module first and then import sarle inside ``atheris.instrument_imports()``.
Nothing here imports atheris either: the check functions must replay the
committed corpus under plain pytest (``tests/test_fuzz_corpus.py``).

Why not ``atheris.FuzzedDataProvider``
--------------------------------------
The harnesses turn the fuzzer's bytes into structured input with
:class:`Provider`, a small pure-Python provider with the same idea and
naming as atheris' (``ConsumeIntInRange``, ``ConsumeBytes``, ...). It is used
both under atheris and under pytest, so that a committed input means exactly
the same thing everywhere, whatever atheris version (or none) is installed.
A corpus file interpreted differently by a replay than by the fuzz run that
saved it would silently stop testing what it found.

Like LLVM's ``FuzzedDataProvider``, structure (integers, choices) is taken
from the *end* of the input and payload (strings, bytes) from the *front*, so
that mutating one rarely scrambles the other.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

FUZZ_DIR = Path(__file__).resolve().parent
ROOT = FUZZ_DIR.parent

# tests/reference.py is the independent numpy/pure-Python oracle.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


class Finding(AssertionError):
    """An invariant of sarle broke: what the harness exists to find."""


def fail(message: str) -> None:
    raise Finding(message)


#: The only exceptions sarle may raise on bad input.
ALLOWED = (ValueError, TypeError)

#: ``SARLE_FUZZ_STRICT=1`` makes known, reported issues fail again (used to
#: check that a fix works, and by the corpus test for the saved inputs);
#: ``SARLE_FUZZ_STRICT=name,name`` only those issues.
STRICT: Any = os.environ.get("SARLE_FUZZ_STRICT", "")


def is_strict(name: str) -> bool:
    """Whether known issue ``name`` must fail (strict mode) rather than be let through."""
    if STRICT is True or STRICT in ("1", "all"):
        return True
    if not STRICT or STRICT == "0":
        return False
    return name in str(STRICT).split(",")


# --------------------------------------------------------------------------- known issues
#
# A real bug that is reported but not fixed yet would stop every fuzz run at
# once and hide everything behind it. List it here as (name, predicate on the
# exception it raises; ``never`` for wrong values or memory use, which the
# harnesses check by name with ``tolerated(name)``). Outside strict mode a
# matching exception counts as an "error" outcome. Save its inputs as
# fuzz/crashes/<harness>/<name>-...: tests/test_fuzz_corpus.py replays them
# strict for that issue as a strict xfail, so once the bug is fixed the test
# XPASSes and says to delete the entry and rename the inputs fixed-<name>-...
#
# Empty now: the eight issues these harnesses found were fixed in c738b65
# (their inputs are fuzz/crashes/*/fixed-*; see README.md).


def raised_in(error: BaseException, function: str) -> bool:
    """Whether ``error`` was raised in (the last Python frame of) ``function``."""
    tb = error.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return last == function


def never(error: BaseException) -> bool:
    return False


KNOWN_ISSUES: List[Tuple[str, Callable[[BaseException], bool]]] = []


def known_issue(error: BaseException) -> Optional[str]:
    for name, matches in KNOWN_ISSUES:
        if matches(error):
            return name
    return None


class Outcome:
    """Result of one call: ``ok`` with ``value``, or an allowed ``error``."""

    __slots__ = ("ok", "value", "error")

    def __init__(self, ok: bool, value: Any = None, error: Optional[BaseException] = None):
        self.ok, self.value, self.error = ok, value, error

    def __repr__(self) -> str:
        if self.ok:
            return f"ok({_short(self.value)})"
        return f"{type(self.error).__name__}({self.error})"


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call ``fn``: a result, or a ValueError/TypeError; anything else propagates."""
    try:
        return Outcome(True, fn(*args, **kwargs))
    except ALLOWED as error:
        return Outcome(False, error=error)
    except Finding:
        raise
    except Exception as error:  # noqa: BLE001 - sorted below
        name = known_issue(error)
        if name and not is_strict(name):
            return Outcome(False, error=error)
        raise


def _short(value: Any, limit: int = 300) -> str:
    try:
        text = repr(value)
    except Exception as error:  # pragma: no cover - defensive
        text = f"<unrepresentable {type(value).__name__}: {error}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


short = _short


# --------------------------------------------------------------------------- the provider


class Provider:
    """Deterministic structured values from fuzzer bytes (see the module docstring).

    When the input runs out every method still answers (zeros, the low end of
    ranges, empty payloads), so every input is a complete test case.
    """

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.front = 0              # payload cursor
        self.back = len(self.data)  # structure cursor (exclusive)

    def remaining(self) -> int:
        return self.back - self.front

    # -- structure, from the end
    def _byte_from_back(self) -> int:
        if self.back <= self.front:
            return 0
        self.back -= 1
        return self.data[self.back]

    def ConsumeIntInRange(self, lo: int, hi: int) -> int:
        """An integer in ``[lo, hi]``; ``lo`` when the input is exhausted."""
        if hi < lo:
            raise ValueError("empty range")
        span = hi - lo
        if span == 0:
            return lo
        value, bits = 0, 0
        while bits < span.bit_length() and self.back > self.front:
            value = (value << 8) | self._byte_from_back()
            bits += 8
        return lo + value % (span + 1)

    def ConsumeBool(self) -> bool:
        return bool(self.ConsumeIntInRange(0, 1))

    def ConsumeProbability(self) -> float:
        return self.ConsumeIntInRange(0, 2**32 - 1) / (2**32 - 1)

    def PickValueInList(self, values: Sequence[Any]) -> Any:
        return values[self.ConsumeIntInRange(0, len(values) - 1)]

    def ConsumeSmallInt(self, hi: int = 16) -> int:
        return self.ConsumeIntInRange(0, hi)

    def ConsumeInterestingInt(self) -> int:
        """Mostly small, sometimes a boundary of int32/int64/uint64/2**62, sometimes negative."""
        kind = self.ConsumeIntInRange(0, 15)
        if kind < 8:
            return self.ConsumeIntInRange(0, 64)
        if kind < 10:
            return self.ConsumeIntInRange(0, 2**20)
        if kind == 10:
            return -self.ConsumeIntInRange(1, 2**8)
        if kind == 11:
            return self.ConsumeIntInRange(-(2**64), 2**64)
        base = self.PickValueInList(
            [2**15, 2**16, 2**29, 2**31, 2**32, 2**53, 2**62, 2**63, 2**64, 2**70, 2**128]
        )
        delta = self.ConsumeIntInRange(-2, 2)
        value = base + delta
        return -value if kind == 15 else value

    def ConsumeFloat(self) -> float:
        kind = self.ConsumeIntInRange(0, 7)
        if kind == 0:
            return self.PickValueInList([math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, 5e-324])
        if kind < 4:
            return float(self.ConsumeIntInRange(-64, 1024))
        if kind < 6:
            return self.ConsumeIntInRange(-(2**20), 2**20) / 256.0
        import struct

        raw = bytes(self._byte_from_back() for _ in range(8))
        return struct.unpack("<d", raw)[0]

    # -- payload, from the front
    def ConsumeBytes(self, n: int) -> bytes:
        n = max(0, min(n, self.remaining()))
        out = self.data[self.front : self.front + n]
        self.front += n
        return out

    def ConsumeRemainingBytes(self) -> bytes:
        return self.ConsumeBytes(self.remaining())

    def ConsumeSizedBytes(self, hi: int) -> bytes:
        """A payload whose length (0..hi) is itself fuzzed."""
        return self.ConsumeBytes(self.ConsumeIntInRange(0, hi))

    def ConsumeUnicode(self, n: int) -> str:
        """Up to ``n`` characters: ASCII, Latin-1 or arbitrary code points (lone surrogates too)."""
        kind = self.ConsumeIntInRange(0, 3)
        if kind <= 1:
            return self.ConsumeBytes(n).decode("latin-1") if kind else "".join(
                chr(b & 0x7F) for b in self.ConsumeBytes(n)
            )
        raw = self.ConsumeBytes(2 * n)
        return "".join(chr((raw[i] << 8 | raw[i + 1]) % 0x110000 if kind == 2 else
                           (raw[i] << 8 | raw[i + 1]) | 0x10000)
                       for i in range(0, len(raw) - 1, 2))


# --------------------------------------------------------------------------- helpers


def corpus_files(*dirs: str) -> List[Path]:
    """Every file under ``fuzz/<dir>`` (recursively), sorted, no dotfiles."""
    out: List[Path] = []
    for name in dirs:
        base = FUZZ_DIR / name
        if base.is_dir():
            out.extend(p for p in sorted(base.rglob("*")) if p.is_file() and not p.name.startswith("."))
    return out


#: Address-space cap of a fuzz process (bytes): a runaway allocation becomes a
#: MemoryError (a finding) instead of the kernel's OOM killer on a shared machine.
ADDRESS_SPACE_LIMIT = int(os.environ.get("SARLE_FUZZ_AS_LIMIT_MB", "6144")) << 20


def limit_memory(limit: int = ADDRESS_SPACE_LIMIT) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def memory_guarded() -> bool:
    """True when this process cannot allocate more than ~8 GiB (RLIMIT_AS is set).

    Calls known to allocate memory proportional to a fuzzed size rather than
    to their output run only then: without the cap they would bring in the
    OOM killer instead of raising MemoryError.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return False
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return soft != resource.RLIM_INFINITY and soft <= 8 << 30


def main(check: Callable[[bytes], None], argv: Optional[List[str]] = None) -> None:
    """Run ``check`` under atheris (``python fuzz_X.py [libFuzzer flags] [corpus dirs]``)."""
    import atheris  # only needed for fuzzing

    limit_memory()
    atheris.Setup(sys.argv if argv is None else argv, check)
    atheris.Fuzz()
