#!/usr/bin/env bash
# Run every sarle fuzz harness for SECONDS each (default 60), one after the other.
#
#   fuzz/run.sh [SECONDS] [HARNESS...]      e.g.  fuzz/run.sh 120 codec
#
# Each harness starts from its committed corpus (fuzz/corpus/<harness>/, only
# read) plus the inputs earlier local runs found (fuzz/.work/<harness>/corpus/,
# not committed). An input that fails is written to
# fuzz/.work/<harness>/artifacts/; copy it to fuzz/crashes/<harness>/ under a
# name saying what it found, and commit it.
#
# Exits non-zero when a harness found something (an exception other than
# ValueError/TypeError, a broken invariant, a hang over 10 s, more than 2 GiB
# of memory). Appends one line per harness to fuzz/RUNS.md.
#
# Environment: PYTHON (default: python3) must have sarle and atheris
# installed; SARLE_FUZZ_STRICT=1 also fails on the known issues listed in
# fuzz/_common.py; SARLE_FUZZ_SEED=N fixes libFuzzer's random seed (CI does,
# so that a rerun of the same commit makes the same inputs; without it each
# run explores anew).
set -u -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
SECONDS_EACH="${1:-60}"
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -eq 0 ] && HARNESSES=(codec sa1b)

if ! [[ "$SECONDS_EACH" =~ ^[0-9]+$ ]] || [ "$SECONDS_EACH" -lt 1 ]; then
    echo "usage: $0 [SECONDS] [codec|sa1b ...]" >&2
    exit 2
fi
if ! "$PYTHON" -c "import atheris, sarle" 2>/dev/null; then
    echo "$0: $PYTHON cannot import atheris and sarle (pip install atheris; pip install -e .)" >&2
    exit 2
fi

RUNS="$HERE/RUNS.md"
if [ ! -f "$RUNS" ]; then
    printf '# Fuzz runs\n\nOne line per harness run, appended by `fuzz/run.sh`.\n\n' > "$RUNS"
    printf '| date (UTC) | sarle | harness | version | seconds | executions | exec/s | result |\n' >> "$RUNS"
    printf '|---|---|---|---|---|---|---|---|\n' >> "$RUNS"
fi

status=0
for harness in "${HARNESSES[@]}"; do
    script="$HERE/fuzz_${harness}.py"
    if [ ! -f "$script" ]; then
        echo "$0: no harness $script" >&2
        exit 2
    fi
    work="$HERE/.work/$harness"
    mkdir -p "$work/corpus" "$work/artifacts"
    log="$work/last.log"
    started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    t0="$(date +%s)"
    # Which harness version ran: the check code and the known-issue list.
    # Which sarle: the commit, "+" when src/ has uncommitted changes.
    sarle_rev="$(git -C "$HERE/.." log -1 --format=%h 2>/dev/null || echo '?')"
    [ -n "$(git -C "$HERE/.." status --porcelain -- src 2>/dev/null)" ] && sarle_rev="$sarle_rev+"
    version="$(cat "$script" "$HERE/_common.py" $([ "$harness" = sa1b ] && echo "$HERE/fuzz_codec.py") | sha1sum | cut -c1-8)"
    echo "== $harness: ${SECONDS_EACH}s (log: $log)"
    # New inputs go to the first directory (the work corpus); the committed one is only read.
    "$PYTHON" "$script" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        ${SARLE_FUZZ_SEED:+-seed="$SARLE_FUZZ_SEED"} \
        "$work/corpus" "$HERE/corpus/$harness" > "$log" 2>&1
    rc=$?
    elapsed=$(( $(date +%s) - t0 ))
    execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    if [ -z "$execs" ]; then   # killed before the final stats: the last status line
        execs="$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')"
    fi
    execs="${execs:-0}"
    rate=$(( elapsed > 0 ? execs / elapsed : execs ))
    if [ $rc -eq 0 ]; then
        result="clean"
        [ -n "${SARLE_FUZZ_STRICT:-}" ] && result="clean (strict: $SARLE_FUZZ_STRICT)"
    else
        artifact="$(ls -t "$work/artifacts" 2>/dev/null | head -n 1)"
        reason="$(grep -m1 -E 'Finding|Error|Exception|ERROR: libFuzzer' "$log" | cut -c1-120 | tr '|' '/')"
        result="FOUND (rc $rc${artifact:+, $artifact}${SARLE_FUZZ_STRICT:+, strict: $SARLE_FUZZ_STRICT}): ${reason:-see log}"
        status=1
        echo "!! $harness: $result"
        echo "   log: $log"
        [ -n "$artifact" ] && echo "   input: $work/artifacts/$artifact -> copy to fuzz/crashes/$harness/<what-it-found>-$artifact"
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$started" "$sarle_rev" "$harness" "$version" "$elapsed" "$execs" "$rate" "$result" >> "$RUNS"
    echo "   $harness: $execs executions in ${elapsed}s ($rate/s): $result"
done

# Total clean time recorded so far (seconds, per harness).
awk -F'|' '/^\| [0-9]/ && $9 ~ /clean/ {
        gsub(/ /, "", $4); t[$4] += $6; all += $6
    }
    END { for (h in t) printf "   clean so far: %s %ds (%.1f min)\n", h, t[h], t[h] / 60;
          printf "   clean so far: all %ds (%.1f min)\n", all, all / 60 }' "$RUNS"
exit $status
