#!/usr/bin/env bash
# gpu-phase-table.sh — Markdown tables of where the time goes, from the raw
# outputs (issue 9; scripts/bench-gpu.sh calls it on its files):
#   hgbench-models output (e.g. bench/results/gpu-models-f32-b128.txt): the
#     per-layer profile, ms per call of each pass, with a total per model;
#   hgbench-engines --out output: each run's phases ("# phases" lines);
#   hgbench hypergrad --json files: the run's phases (<phase>_time_s).
# Each file's kind is told by its content; CPU outputs read the same way.
# Every row names its clock: "CUDA events" (the device's stream time between
# marks) or "host" (wall time; on a device, host times around asynchronous
# launches, said so). Prints to stdout; numbers are the files', unchanged.
#
#   bash scripts/gpu-phase-table.sh FILE...
# Exit 2 without files or with one that is missing or of no known kind.
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: gpu-phase-table.sh FILE... (hgbench-models, hgbench-engines --out, hgbench hypergrad --json)" >&2; exit 2; }
models=() engines=() runs=()
for f in "$@"; do
  [ -r "$f" ] || { echo "gpu-phase-table: $f: not readable" >&2; exit 2; }
  if grep -q '^# profile .*: *[0-9]* [a-z0-9]* ' "$f"; then models+=("$f")
  elif grep -q '^# phases ' "$f"; then engines+=("$f")
  elif grep -q '"inner_time_s":' "$f"; then runs+=("$f")
  else echo "gpu-phase-table: $f: no profile, phases or phase times in it" >&2; exit 2
  fi
done

# precision and batch from a hgbench-models header, else from a name like
# gpu-models-f32-b128.txt, else "?"
if [ ${#models[@]} -gt 0 ]; then
  echo "### Per-layer times (ms per call: loss_grad's forward and backward, hvp's R passes)"
  echo
  echo "| precision | batch | model | layer | type | forward | backward | R-forward | R-backward | clock |"
  echo "|---|--:|---|--:|---|--:|--:|--:|--:|---|"
  for f in "${models[@]}"; do
    awk -v file="$(basename "$f")" '
      function flush_model() {
        if (model == "") return
        printf "| %s | %s | %s | | **total** | **%.4f** | **%.4f** | **%.4f** | **%.4f** | %s |\n",
               prec, batch, model, s[1], s[2], s[3], s[4], clock[model]
        model = ""; s[1] = s[2] = s[3] = s[4] = 0
      }
      BEGIN {
        prec = "?"; batch = "?"
        if (match(file, /-f(32|64)/)) prec = "float" substr(file, RSTART + 2, 2)
        if (match(file, /-b[0-9]+/)) batch = substr(file, RSTART + 2, RLENGTH - 2)
      }
      /^# precision: / { prec = $3 }
      /^# hgbench-models: .* batch [0-9]+$/ { batch = $NF }
      /^# profile / {
        rest = substr($0, 11); i = index(rest, ": ")
        spec = substr(rest, 1, i - 1); body = substr(rest, i + 2)
        if (body ~ /^device times .*CUDA events/) { clock[spec] = "CUDA events"; next }
        if (body ~ /host times around asynchronous launches/) { clock[spec] = "host, around launches"; next }
        n = split(body, a, " ")
        if (n < 6 || a[1] !~ /^[0-9]+$/) next
        if (spec != model) { flush_model(); model = spec }
        if (!(spec in clock)) clock[spec] = "host"
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
               prec, batch, spec, a[1], a[2], a[3], a[4], a[5], a[6], clock[spec]
        for (k = 1; k <= 4; k++) s[k] += a[k + 2]
      }
      END { flush_model() }' "$f"
  done
  echo
fi

if [ ${#engines[@]} -gt 0 ] || [ ${#runs[@]} -gt 0 ]; then
  echo "### Engine phases (seconds per run)"
  echo
  echo "inner: the inner steps (forward mode with its tangents; checkpoint with its recomputed"
  echo "steps); validation: the validation set at w_T; hypergrad: the rest of the hypergradient"
  echo "(the reverse pass, greedy's look-ahead); other: the run's wall time outside them."
  echo
  echo "| precision | engine | T | K | time | inner | validation | hypergrad | other | clock |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|--:|---|"
  for f in "${engines[@]+"${engines[@]}"}"; do
    awk '
      /^# hgbench-engines / { prec = $4; sub(/,$/, "", prec) }
      /^# phases / {
        # "# phases ENGINE T=.. K=..: inner X s, validation Y s, hypergrad Z s, other W s (CLOCK)"
        e = $3; t = $4; k = $5; sub(/^T=/, "", t); sub(/^K=/, "", k); sub(/:$/, "", k)
        v["inner"] = v["validation"] = v["hypergrad"] = v["other"] = ""
        for (i = 6; i + 1 <= NF; i++) if ($(i) in v) v[$(i)] = $(i + 1)
        clock = $0 ~ /CUDA events/ ? "CUDA events" : "host"
        total = v["inner"] + v["validation"] + v["hypergrad"] + v["other"]
        printf "| %s | %s | %s | %s | %.4g | %s | %s | %s | %s | %s |\n", prec ? prec : "?", e, t, k,
               total, v["inner"], v["validation"], v["hypergrad"], v["other"], clock
      }' "$f"
  done
  for f in "${runs[@]+"${runs[@]}"}"; do
    awk '
      function val(line) { sub(/^[^:]*: */, "", line); sub(/,$/, "", line); gsub(/"/, "", line); return line }
      /^  "engine": / { e = val($0) }
      /^  "precision": / { prec = val($0) }
      /^  "steps": / { t = val($0) }
      /^  "time_s": / { time = val($0) }
      /^  "inner_time_s": / { inner = val($0) }
      /^  "validation_time_s": / { valid = val($0) }
      /^  "hypergrad_time_s": / { hyper = val($0) }
      /^  "phase_clock": / { clock = val($0) == "cuda events" ? "CUDA events" : "host" }
      END {
        printf "| %s | %s | %s | | %.4g | %.4g | %.4g | %.4g | %.4g | %s |\n", prec, e, t, time,
               inner, valid, hyper, time - inner - valid - hyper, clock
      }' "$f"
  done
  echo
fi
