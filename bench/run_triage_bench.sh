#!/usr/bin/env bash
# Free-text triage speed, side by side on one core and one after the other: our reader (bench/triage_bench.py in
# the project's .venv) against medspaCy's ConText (bench/medspacy_baseline.py in bench/.venv-medspacy, made here
# from bench/requirements-medspacy.txt), both on bench/triage_messages.json, taking turns --rounds times (3);
# the other arguments go to both, e.g. --seconds 5.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh

rounds=3  # --rounds N: how many times the two take turns (the rest of the arguments go to both benches)
args=()
while (($#)); do
  case $1 in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
((rounds >= 1)) || die "--rounds must be at least 1"

BENCH_VENV=$PWD/bench/.venv-medspacy
BENCH_REQS=bench/requirements-medspacy.txt

# Prints a Python >= 3.12 (medspacy 1.3 pairs with spacy 3.8 only there): $BENCH_PYTHON, then the usual names.
find_bench_python() {
  local cand
  for cand in "${BENCH_PYTHON:-}" python3.12 python3.13 python3 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    if [[ -n $cand ]] && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$cand"
      return 0
    fi
  done
  return 1
}

ensure_venv runtime
# The bench venv is (re)made when missing or when its requirements changed since it was made.
if ! cmp -s "$BENCH_REQS" "$BENCH_VENV/.requirements.txt"; then
  py=$(find_bench_python) || die "the medspaCy baseline needs Python >= 3.12 (set BENCH_PYTHON)"
  rm -rf "$BENCH_VENV"
  log "creating bench/.venv-medspacy with $py"
  "$py" -m venv "$BENCH_VENV"
  "$BENCH_VENV/bin/python" -m pip install -q -r "$BENCH_REQS"
  cp "$BENCH_REQS" "$BENCH_VENV/.requirements.txt"
fi

pin=()
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
  pin=(taskset -c 0)
fi
# rate TEXT PREFIX UNIT: the number before UNIT on the line of TEXT that starts with PREFIX, without commas.
rate() {
  awk -v prefix="$2" -v unit="$3" 'index($0, prefix) == 1 {
    for (i = 1; i < NF; i++) if ($(i + 1) == unit) { gsub(",", "", $i); print $i; exit } }' <<<"$1"
}

ours_run() {
  log "round $round of $rounds: our reader"
  ours_out=$(${pin[@]+"${pin[@]}"} "$VENV/bin/python" bench/triage_bench.py ${args[@]+"${args[@]}"})
  printf '%s\n' "$ours_out"
}
theirs_run() {
  log "round $round of $rounds: medspaCy"
  theirs_out=$(${pin[@]+"${pin[@]}"} "$BENCH_VENV/bin/python" bench/medspacy_baseline.py ${args[@]+"${args[@]}"})
  printf '%s\n' "$theirs_out"
}

# A shared machine's speed drifts by several per cent within a minute, so one run of each, one after the other,
# can put the ratio either side of the goal. The two take turns, each going first every other round, and the
# goal is judged on the median of the rounds' ratios.
figures=""
for ((round = 1; round <= rounds; round++)); do
  if ((round % 2)); then ours_run && theirs_run; else theirs_run && ours_run; fi
  ours=$(rate "$ours_out" "reader" messages/s)
  single=$(rate "$theirs_out" "medspaCy nlp(text)" messages/s)
  piped=$(rate "$theirs_out" "medspaCy nlp.pipe" messages/s)
  [[ -n $ours && -n $single && -n $piped ]] || die "could not read the figures above"
  figures+="$round $ours $single $piped"$'\n'
done

printf '%s' "$figures" | sort -n | awk '
  { ours[NR] = $2; single[NR] = $3; piped[NR] = $4; slowest = $3 > $4 ? $3 : $4; ratio[NR] = $2 / slowest }
  function median(values, n,    sorted, i, j, t) {
    for (i = 1; i <= n; i++) sorted[i] = values[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
    return n % 2 ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
  }
  END {
    print ""
    print "free text, messages/s on one core, same messages (ours: the reader of both languages, every fact)"
    print "round        ours   medspaCy nlp(text)   medspaCy nlp.pipe   ours / the faster medspaCy"
    for (i = 1; i <= NR; i++) printf "%5d  %10.1f  %19.1f  %18.1f  %10.2fx\n", i, ours[i], single[i], piped[i], ratio[i]
    printf "median %10.1f  %19.1f  %18.1f  %10.2fx\n", median(ours, NR), median(single, NR), median(piped, NR), median(ratio, NR)
    printf "goal: ours >= 5 x medspaCy (median of %d rounds) -> %s (%.2fx; rounds from %.2fx to %.2fx)\n", NR,
      (median(ratio, NR) >= 5 ? "met" : "NOT met"), median(ratio, NR), min(ratio, NR), max(ratio, NR)
  }
  function min(values, n,    i, m) { m = values[1]; for (i = 2; i <= n; i++) if (values[i] < m) m = values[i]; return m }
  function max(values, n,    i, m) { m = values[1]; for (i = 2; i <= n; i++) if (values[i] > m) m = values[i]; return m }'
