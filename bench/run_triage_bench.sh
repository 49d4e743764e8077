#!/usr/bin/env bash
# Free-text triage speed, side by side on one core and one after the other: our reader (bench/triage_bench.py in
# the project's .venv) against medspaCy's ConText (bench/medspacy_baseline.py in bench/.venv-medspacy, made here
# from bench/requirements-medspacy.txt), both on bench/triage_messages.json. Arguments go to both, e.g. --seconds 5.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
# shellcheck source=scripts/_common.sh
source scripts/_common.sh

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
log "our reader"
ours_out=$(${pin[@]+"${pin[@]}"} "$VENV/bin/python" bench/triage_bench.py "$@")
printf '%s\n' "$ours_out"
log "medspaCy"
theirs_out=$(${pin[@]+"${pin[@]}"} "$BENCH_VENV/bin/python" bench/medspacy_baseline.py "$@")
printf '%s\n' "$theirs_out"

# rate TEXT PREFIX UNIT: the number before UNIT on the line of TEXT that starts with PREFIX, without commas.
rate() {
  awk -v prefix="$2" -v unit="$3" 'index($0, prefix) == 1 {
    for (i = 1; i < NF; i++) if ($(i + 1) == unit) { gsub(",", "", $i); print $i; exit } }' <<<"$1"
}
ours=$(rate "$ours_out" "reader" messages/s)
single=$(rate "$theirs_out" "medspaCy nlp(text)" messages/s)
piped=$(rate "$theirs_out" "medspaCy nlp.pipe" messages/s)
[[ -n $ours && -n $single && -n $piped ]] || die "could not read the figures above"

awk -v ours="$ours" -v single="$single" -v piped="$piped" 'BEGIN {
  print ""
  print "free text, messages/s on one core, same messages (ours: the reader of both languages, every fact)"
  printf "ours                       : %10.1f\n", ours
  printf "medspaCy nlp(text)         : %10.1f   ours/medspaCy = %.1fx\n", single, ours / single
  printf "medspaCy nlp.pipe (batched): %10.1f   ours/medspaCy = %.1fx\n", piped, ours / piped
  printf "goal: ours >= 5 x medspaCy  -> %s (%.1fx nlp(text), %.1fx nlp.pipe)\n",
    (ours >= 5 * single && ours >= 5 * piped) ? "met" : "NOT met", ours / single, ours / piped
}'
