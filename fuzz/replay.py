"""Replay fuzz inputs through the harnesses' check functions (no atheris needed).

    python fuzz/replay.py fuzz/crashes/codec/some-input      # traceback if it fails
    python fuzz/replay.py --strict fuzz/crashes/*/*          # known issues fail too
    python fuzz/replay.py --json FILE...                      # one JSON line per file
    python fuzz/replay.py --strict-by-name fuzz/crashes/*/*   # each known issue's inputs fail

The harness is chosen by the directory (``.../codec/...`` or ``.../sa1b/...``).
The process runs under the same address-space cap as a fuzz run
(``_common.limit_memory``), so an input that makes sarle allocate without
bound fails with MemoryError here instead of waking the OOM killer.
Exit status: 0 when every input passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def harness_of(path: Path) -> str:
    parts = set(Path(path).resolve().parts)
    for name in ("codec", "sa1b"):
        if name in parts:
            return name
    raise ValueError(f"{path}: not under a codec/ or sa1b/ directory")


def known_issue_of(name: str):
    """The KNOWN_ISSUES entry a saved input is named after (``<issue>-...``), or None."""
    import _common

    for issue, _ in _common.KNOWN_ISSUES:
        if name == issue or name.startswith(issue + "-"):
            return issue
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--strict", nargs="?", const="1", default="",
                        help="known issues fail too (all, or a comma-separated list of names)")
    parser.add_argument("--json", action="store_true", help="one JSON line per input")
    parser.add_argument("--strict-by-name", action="store_true",
                        help="strict for the known issue each file is named after (<issue>-...)")
    args = parser.parse_args()
    if args.strict:
        os.environ["SARLE_FUZZ_STRICT"] = args.strict
    import _common

    _common.STRICT = args.strict
    _common.limit_memory()
    import numpy as np

    np.seterr(all="ignore")
    import fuzz_codec
    import fuzz_sa1b

    checks = {"codec": fuzz_codec.check_codec, "sa1b": fuzz_sa1b.check_sa1b}
    failed = 0
    for path in args.files:
        check = checks[harness_of(path)]
        if args.strict_by_name:
            _common.STRICT = known_issue_of(path.name) or ""
        try:
            check(path.read_bytes())
            error = None
        except BaseException as exc:  # noqa: BLE001 - reporting is the point
            if isinstance(exc, KeyboardInterrupt):
                raise
            error = exc
            failed += 1
        if args.json:
            print(json.dumps({"file": str(path), "ok": error is None,
                              "error": None if error is None else f"{type(error).__name__}: {error}"[:2000]}),
                  flush=True)
        elif error is None:
            print(f"ok    {path}")
        else:
            print(f"FAIL  {path}: {type(error).__name__}: {str(error)[:500]}")
            traceback.print_exception(error)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
