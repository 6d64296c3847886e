#!/usr/bin/env bash
# bench-models.sh — the model section of `make bench` (scripts/bench.sh):
# hgbench-models at float32 and float64, one run per model (a model that
# crashes is recorded as failed and the others still run), raw output kept in
# bench/results/models-f32.txt and models-f64.txt, and the Markdown sections
# (machine and build, speed targets, profile, tables) written to
# bench/results/models.md. Each file is written to a temporary and moved into
# place. Exits 1 if any run failed.
#
# Environment: OMP_NUM_THREADS (threads, default 2), MODELS (default
# "logreg mlp lenet"), BENCH_FLAGS (extra flags for hgbench-models, e.g.
# "--repeats 5").
set -uo pipefail
# Ctrl-C or SIGTERM: stop, leaving none of this script's temporaries (the
# programs it runs clean up their own)
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 141' PIPE # bench.sh's tee gone
cd "$(dirname "$0")/.." || exit 1

models=${MODELS:-logreg mlp lenet}
threads=${OMP_NUM_THREADS:-2}
commit=$(git rev-parse --short HEAD 2>/dev/null) || commit="none (no commit yet)"
# The bench's own outputs do not make the measured code "uncommitted".
[ -n "$(git status --porcelain -- . ':!RESULTS.md' ':!bench/results' 2>/dev/null)" ] &&
  commit+=" with uncommitted changes"
build=$(make -s --no-print-directory print-config | sed -n '1s/^hgbench: //p')
status=0
mkdir -p bench/results

for p in f32 f64; do
  bin=build/$p/hgbench-models out=bench/results/models-$p.txt
  tmp=$out.tmp.$$ err=$out.err.$$
  "$bin" --context-only --threads "$threads" --commit "$commit" > "$tmp" || status=1
  for m in $models; do
    # stdout (rows) to the raw file; stderr (progress, errors) shown and kept.
    # shellcheck disable=SC2086  # BENCH_FLAGS is a list of words
    "$bin" --no-context --model "$m" --threads "$threads" ${BENCH_FLAGS:-} \
      2>&1 >> "$tmp" | tee "$err" >&2
    rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || status=1
    # Exit 1: the binary wrote its own error rows. Anything else: no rows
    # (bad flags, no data, a crash), so record the model as failed here.
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
      why="exit $rc"; [ "$rc" -gt 128 ] && why="killed by signal $((rc - 128))"
      msg=$(grep -v ' ms/call ' "$err" | tail -n 1)
      echo "$m - - - - - - - - - - failed: ${msg:-no message} ($why)" >> "$tmp"
    fi
  done
  rm -f "$err"
  mv "$tmp" "$out"
done

# LeNet float32 at one thread too (issue 10: 1 vs N threads, same run)
raw1=bench/results/models-f32-1thread.txt
if [ "$threads" -gt 1 ]; then
  build/f32/hgbench-models --no-context --model lenet --threads 1 ${BENCH_FLAGS:-} \
    > "$raw1.tmp.$$" 2> /dev/null || status=1
  mv "$raw1.tmp.$$" "$raw1"
fi

# ---- Markdown (bench/results/models.md) ---------------------------------------
raw32=bench/results/models-f32.txt raw64=bench/results/models-f64.txt
ctx() { sed -n "s/^# $1: //p" "$2" | head -n 1; }  # a '# key: value' of a raw file
median() { awk -v m="$1" -v op="$2" '$1 == m && $3 == op && $12 == "ok" { print $6; exit }' "$3"; }
spread() { awk -v m="$1" -v op="$2" '$1 == m && $3 == op && $12 == "ok" { printf "%.3f–%.3f", $7, $8; exit }' "$3"; }

# One markdown table from a raw file.
table() {
  awk '
    function f(x) {
      if (x == "-") return "";
      x += 0
      return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : \
             x >= 1 ? sprintf("%.2f", x) : x >= 0.1 ? sprintf("%.3f", x) : \
             x >= 0.01 ? sprintf("%.4f", x) : sprintf("%.5f", x)
    }
    BEGIN {
      name["loss_grad"] = "loss+grad"; name["hvp"] = "HVP"; name["hvp_block"] = "block HVP"
      print "| model | params | op | k | median ms/call | min–max ms | ms/tangent | × loss+grad | GEMM GFLOP/s |"
      print "|---|--:|---|--:|--:|--:|--:|--:|--:|"
    }
    /^#/ || NF < 12 { next }
    {
      op = ($3 in name) ? name[$3] : $3
      if ($12 == "ok")
        printf "| %s | %s | %s | %s | %s | %s–%s | %s | %s | %s |\n", $1, $2, op,
               ($4 == "-" ? "" : $4), f($6), f($7), f($8), f($9), f($10), f($11)
      else {
        msg = $13; for (i = 14; i <= NF; i++) msg = msg " " $i
        sub(/^hgbench-models: /, "", msg)
        printf "| %s | %s | %s | %s | **%s**: %s | | | | |\n", $1, ($2 == "-" ? "" : $2),
               ($3 == "-" ? "all ops" : op), ($4 == "-" ? "" : $4),
               ($12 == "failed:" ? "failed" : "error"), msg
      }
    }' "$1"
}

# A row's column (6 median ms, 7 min, 8 max, 9 ms per tangent) of a model,
# op and k ("-" for loss_grad) in a raw file.
col() { awk -v m="$1" -v op="$2" -v k="$3" -v c="$4" \
  '$1 == m && $3 == op && $4 == k && $12 == "ok" { print $c; exit }' "$5"; }

# Issue 10's speed goal for LeNet float32, as a measured fact: a median
# against its GEMM floor in this run (floor_ms: the op's GEMM-shaped work at
# the measured ceiling).
target() {  # label op k column floor_ms limit_ratio
  local med; med=$(col lenet "$2" "$3" "$4" "$raw32")
  if [ -z "$med" ] || [ -z "$5" ]; then
    echo "| $1 | ≤ $6x | no measurement (failed, see below) | | **unknown** |"; return
  fi
  awk -v l="$1" -v m="$med" -v f="$5" -v t="$6" 'BEGIN {
    r = m / f
    printf "| %s | %.3f ms | ≤ %sx | %.3f ms (%.2fx) | %s |\n", l, f, t, m, r,
           (r <= t ? "**yes**" : sprintf("**no** (%.2fx the goal)", r / t)) }'
}

# oneDNN 2.6 against our conv kernels, shape by shape (issue 10's
# evaluation; bench/conv_dnnl.c), when libdnnl-dev is installed
# (HGBENCH_WITH_DNNL=1 scripts/install-deps.sh; make bench does it as root).
dnnl_section() {
  echo "### oneDNN against our convolutions (float32, LeNet's conv1 and conv2)"
  echo
  if [ ! -f /usr/include/dnnl.h ]; then
    echo "**skipped**: oneDNN (Debian's \`libdnnl-dev\`) is not installed."
    echo; return
  fi
  if ! make -s --no-print-directory build/f32/hgbench-conv-dnnl > /dev/null 2>&1; then
    echo "**failed**: \`make build/f32/hgbench-conv-dnnl\` did not build."; echo; return
  fi
  local raw=bench/results/conv-dnnl.txt
  if ! build/f32/hgbench-conv-dnnl --threads "$threads" --commit "$commit" \
       --json bench/results/conv-dnnl.json > "$raw.tmp.$$" 2> "$raw.err.$$"; then
    status=1
    echo "**failed**: \`hgbench-conv-dnnl\` exit nonzero: $(tail -n 1 "$raw.err.$$")"
  fi
  mv "$raw.tmp.$$" "$raw"; rm -f "$raw.err.$$"
  echo "Each op by our kernel (the model's: the direct kernel on conv1) and by oneDNN in"
  echo "its own layout (format \`any\`), whose reorders from and to our [C][n][H][W] are"
  echo "counted in its total; medians of repeats in this run, $threads threads. A ratio above"
  echo "1 means oneDNN is faster. The raw table: \`bench/results/conv-dnnl.txt\`; rerun:"
  echo "\`build/f32/hgbench-conv-dnnl --threads $threads\`."
  echo
  python3 scripts/conv-dnnl-table.py bench/results/conv-dnnl.json || echo "(the table could not be drawn)"
  echo
}

cores=$(ctx cores "$raw32")
warnings=$(for p in 32 64; do
  sed -n "s/^# WARNING: /- **WARNING** (float$p): /p" "bench/results/models-f$p.txt" | sort -u; done)

md=bench/results/models.md
tmp=$md.tmp.$$
{
  if [ -n "$warnings" ]; then
    echo "## Warnings"; echo
    echo "$warnings"; echo
    echo "Timings under these warnings do not measure the code's speed: rerun \`make bench\`"
    echo "with an optimised build on an otherwise idle machine."; echo
  fi
  echo "## Machine and build"
  echo
  echo "- CPU: $(ctx cpu "$raw32") — $cores"
  echo "- Caches: $(ctx caches "$raw32")"
  echo "- NUMA nodes: $(ctx 'numa nodes' "$raw32"); memory $(ctx memory "$raw32")"
  echo "- GPUs: $(ctx gpus "$raw32"); other OS devices: $(ctx 'os devices' "$raw32")"
  echo "- Machine record from $(ctx 'topology source' "$raw32"), host \`$(ctx host "$raw32")\`"
  echo "- Compiler: $(ctx compiler "$raw32"); \`make print-config\`: $build"
  echo "- Build: $(ctx build "$raw32")"
  echo "- Commit: $commit"
  echo "- Date: $(ctx date "$raw32")"
  echo "- Threads: $(ctx threads "$raw32")"
  echo "- Data: $(ctx data "$raw32")"
  echo "- Method: $(ctx method "$raw32")"
  echo "- GEMM GFLOP/s: $(ctx 'gemm flops' "$raw32")"
  echo
  echo "## Speed targets (LeNet, float32, batch 128)"
  echo
  echo "Issue 10's goals, each against the GEMM floor measured in this run ($cores, $threads"
  echo "threads). The step is one loss+gradient call (the SGD update itself is not timed)."
  ceil=$(ctx 'gemm ceiling' "$raw32")
  grad_mflop=$(ctx 'grad mflop lenet' "$raw32" | cut -d' ' -f1)
  hvp_mflop=$(ctx 'hvp mflop lenet' "$raw32" | cut -d' ' -f1)
  gfloor="" hfloor=""
  if [ -n "$ceil" ] && [ -n "$grad_mflop" ] && [ -n "$hvp_mflop" ]; then
    awk -v c="${ceil%% *}" -v g="$grad_mflop" -v h="$hvp_mflop" -v line="$ceil" 'BEGIN {
      printf "GEMM ceiling measured in this run: %s. At that rate the GEMM-shaped work\n", line
      printf "of one LeNet loss+gradient (%.1f MFLOP) takes %.2f ms and of one HVP (%.1f MFLOP)\n",
             g, g / c, h
      printf "%.2f ms: the floors on this machine (elementwise work not counted).\n", h / c }'
    gfloor=$(awk -v c="${ceil%% *}" -v g="$grad_mflop" 'BEGIN { printf "%.6f", g / c }')
    hfloor=$(awk -v c="${ceil%% *}" -v h="$hvp_mflop" 'BEGIN { printf "%.6f", h / c }')
  fi
  [ -n "$warnings" ] && echo "This run has warnings (above): its times may be inflated."
  echo
  echo "| LeNet float32 | floor | goal | measured median (× floor) | met |"
  echo "|---|--:|--:|--:|---|"
  target "step (loss+grad)" loss_grad - 6 "$gfloor" 1.5
  target "HVP (model_hvp)" hvp 1 6 "$hfloor" 1.5
  target "block HVP k = 16, per tangent, vs one HVP's floor" hvp_block 16 9 "$hfloor" 1.0
  echo
  if [ "$threads" -gt 1 ] && [ -s "$raw1" ]; then
    echo "### Threads: LeNet float32 at 1 and $threads threads (same run)"
    echo
    echo "| op | k | 1 thread ms | $threads threads ms | speed-up |"
    echo "|---|--:|--:|--:|--:|"
    awk 'NR == FNR { if ($1 == "lenet" && $12 == "ok") one[$3 " " $4] = $6; next }
         $1 == "lenet" && $12 == "ok" && (($3 " " $4) in one) {
           printf "| %s | %s | %.3f | %.3f | %.2fx |\n", $3, ($4 == "-" ? "" : $4),
                  one[$3 " " $4], $6, one[$3 " " $4] / $6 }' "$raw1" "$raw32"
    echo
  fi
  dnnl_section
  if grep -q '^# profile lenet: *[0-9]' "$raw32"; then
    echo "### Where a LeNet step goes (float32, ms per call, by layer and pass)"
    echo
    echo "Forward and backward from loss+grad calls; the R passes from HVP calls (an HVP"
    echo "also runs the forward and the part of the backward its R passes read). In brackets:"
    echo "the GFLOP/s of the layer's GEMM-shaped work in that pass (model_layer_flops),"
    echo "against this run's ceiling of $(awk '/^# gemm ceiling:/ { print $4; exit }' "$raw32") GFLOP/s. A relu below a pool shows 0: the pool"
    echo "does it (fused, the same bytes), and its time is in the pool's row. The first pool's"
    echo "backward passes show 0 as well: conv1's weight gradient reads that pool's delta itself"
    echo "(the same bytes), so their time is in conv1's row."
    echo
    echo "| # | layer | forward | backward | R-forward | R-backward |"
    echo "|--:|---|--:|--:|--:|--:|"
    awk '$1 == "#" && $2 == "profile" && $3 == "lenet:" && $4 ~ /^[0-9]+$/ {
      printf "| %s | %s |", $4, $5
      for (i = 6; i <= 9; i++) {
        mf = (NF >= i + 4) ? $(i + 4) : 0
        if (mf > 0 && $i > 0) printf " %.3f (%.0f) |", $i, mf / $i
        else printf " %.3f |", $i
        tot[i] += $i
      }
      printf "\n" }
      END { printf "| | **total** | %.3f | %.3f | %.3f | %.3f |\n", tot[6], tot[7], tot[8], tot[9] }' "$raw32"
    echo
    # where the gap to the floor is: GEMM-shaped layers against their floor,
    # and the layers with no GEMM-shaped work (relu, pool, flatten)
    awk '/^# gemm ceiling:/ { ceil = $4 }
      $1 == "#" && $2 == "profile" && $3 == "lenet:" && $4 ~ /^[0-9]+$/ && NF >= 13 {
        for (p = 0; p < 2; p++) {  # p 0: forward + backward (the step); 1: R passes
          for (i = 6 + 2 * p; i <= 7 + 2 * p; i++) {
            if ($(i + 4) > 0) { gms[p] += $i; gmf[p] += $(i + 4) } else ems[p] += $i
            if ($(i + 4) > 0 && $i - $(i + 4) / ceil > worst_gap[p]) {
              worst_gap[p] = $i - $(i + 4) / ceil; worst[p] = sprintf("layer %s (%s) %s", $4, $5, (i % 2 == 0 ? (p ? "R-forward" : "forward") : (p ? "R-backward" : "backward")))
            }
          }
        }
      }
      END {
        if (!ceil) exit
        name[0] = "Loss+gradient (forward + backward)"; name[1] = "The R passes of one tangent"
        for (p = 0; p < 2; p++)
          printf "- %s: the GEMM-shaped layers take %.3f ms for %.1f MFLOP (%.0f GFLOP/s, %.0f%% of the ceiling; their floor %.3f ms), the others %.3f ms. The largest gap to its floor: %s, %.3f ms over it.\n", name[p], gms[p], gmf[p], gmf[p] / gms[p], 100 * gmf[p] / gms[p] / ceil, gmf[p] / ceil, ems[p], worst[p], worst_gap[p]
      }' "$raw32"
    echo
  fi
  echo "## Models"
  echo
  # shellcheck disable=SC2016  # the backquotes are markdown
  sed -n 's/^# model \([^:]*\): \(.*params.*\)$/- `\1`: \2/p' "$raw32"
  for p in 32 64; do
    echo
    echo "## float$p"
    echo
    table "bench/results/models-f$p.txt"
  done
  echo
  echo "Reproduce the model tables: \`OMP_NUM_THREADS=$threads bash scripts/bench-models.sh\`"
  echo "(raw results in \`bench/results/models-f32.txt\` and \`models-f64.txt\`, readable by gnuplot)."
  echo
} > "$tmp" && mv "$tmp" "$md"
echo "bench-models: wrote $md, $raw32, $raw64$([ $status -ne 0 ] && echo ' (some runs FAILED, see the tables)')"
exit $status
