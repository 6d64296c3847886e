#!/usr/bin/env bash
# bench-pytorch.sh — experiment 6 of `make bench`: one exported problem
# (LeNet, Fashion-MNIST, batch 128, lr learned in 10 windows) recomputed by
# PyTorch (scripts/pytorch_baseline.py: autograd through the unrolled loop,
# and a forward-mode loop over columns as in the official FDS code) beside
# hgbench's engines on the same problem, in float64 (agreement) and float32
# (speed). Raw results: bench/results/pytorch-*.json; Markdown:
# bench/results/pytorch.md. Skipped, with the reason, when Debian's
# python3-torch is not installed. Exit 1 if a run failed.
#
# Speed: every hgbench engine and every PyTorch method runs REPEATS times
# (default 3; QUICK 1) and the tables give the median; a second table holds
# issue 10's goal, PyTorch's time over hgbench's for bptt (against autograd)
# and forward (against the column loop), >= 3x, both timed in this run at
# the same thread count.
#
# The same problem on a GPU (hgbench --device cuda against PyTorch on the
# same GPU, pytorch_baseline.py --device cuda): scripts/bench-gpu.sh's
# pytorch part.
#
# Environment: QUICK=1 (T = 10), THREADS (2), STEPS (T, default 100),
# REPEATS, DATA_DIR.
set -uo pipefail
# Ctrl-C or SIGTERM: stop, leaving none of this script's temporaries (the
# programs it runs clean up their own)
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 130' INT
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 143' TERM
trap 'rm -f bench/results/*.tmp.$$ bench/results/*.err.$$; exit 141' PIPE # bench.sh's tee gone
cd "$(dirname "$0")/.." || exit 1

threads=${THREADS:-2}
steps=${STEPS:-100}
repeats=${REPEATS:-3}
[ "${QUICK:-0}" = 1 ] && steps=${STEPS:-10} repeats=${REPEATS:-1}
py=/usr/bin/python3  # Debian's python3-torch lives in the system interpreter
md=bench/results/pytorch.md
mkdir -p bench/results
status=0

if ! torch=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
  {
    echo "## PyTorch baseline (experiment 6)"
    echo
    echo "**skipped**: Debian's \`python3-torch\` is not installed (\`$py -c 'import torch'\` failed)."
    echo "\`make bench\` installs it through \`HGBENCH_WITH_TORCH=1 scripts/install-deps.sh\`"
    echo "when it runs as root."
    echo
  } > "$md"
  echo "bench-pytorch: skipped: python3-torch not installed" >&2
  exit 0
fi

data=()
[ -n "${DATA_DIR:-}" ] && [ -f "$DATA_DIR/train-images-idx3-ubyte" -o -f "$DATA_DIR/train-images-idx3-ubyte.gz" ] &&
  data=(--data-dir "$DATA_DIR")
problem=(--model lenet --steps "$steps" --batch 128 --val 1000 --learn lr:10 --lr 0.05
         --mom 0.9 --wd 5e-4 --seed 1 --threads "$threads" "${data[@]}")
rows=()
for prec in 64 32; do
  dir=bench/results/pytorch-export-f$prec
  rm -rf "$dir"
  for e in bptt reversible forward; do
    rm -f bench/results/pytorch-hgbench-$e-f$prec.r*.json
    for r in $(seq 1 "$repeats"); do  # run r > 1 only times: pytorch-hgbench-<e>-f<p>.r<r>.json
      out=bench/results/pytorch-hgbench-$e-f$prec.json extra=()
      [ "$r" -gt 1 ] && out=bench/results/pytorch-hgbench-$e-f$prec.r$r.json
      [ "$e" = bptt ] && [ "$r" = 1 ] && extra=(--export "$dir")
      if ! build/hgbench hypergrad --engine "$e" --precision "$prec" "${problem[@]}" "${extra[@]}" \
           --json "$out" > /dev/null; then
        status=1; echo "bench-pytorch: hgbench $e float$prec failed" >&2
      fi
    done
  done
  "$py" scripts/pytorch_baseline.py "$dir" --threads "$threads" --repeats "$repeats" \
    --json "bench/results/pytorch-f$prec.json" || status=1
done

# One Markdown row per method; agreement against hgbench's bptt (the export).
row() {  # label json-file prec
  "$py" - "$@" <<'EOF'
import glob, json, sys
import numpy as np
label, path, prec = sys.argv[1:4]
try:
    d = json.load(open(path))
except (OSError, ValueError) as e:
    print(f"| {label} | float{prec} | **failed**: {e} | | |"); sys.exit(0)
ref = np.load(f"bench/results/pytorch-export-f{prec}/hypergrad.npy")
def err(hg):
    hg = np.asarray(hg, dtype=float)
    return np.max(np.abs(hg - ref)) / max(np.max(np.abs(ref)), 1e-300)
if "methods" in d:  # PyTorch
    for name, m in d["methods"].items():
        what = {"autograd": "PyTorch autograd (unrolled loop)",
                "forward": "PyTorch forward mode, columns looped (FDS code)"}[name]
        if m["status"] != "ok":
            print(f"| {what} | float{prec} | **{m['status']}**: {m.get('error', '')} | | |")
        else:
            print(f"| {what} | float{prec} | {m['time_s']:.2f} | {m['ms_per_step']:.1f} | {m['max_rel_err']:.2g} |")
else:  # hgbench --json, and the repeats' times beside it
    hg = np.concatenate([np.asarray(d["hypergrad"][k]) for k in ("lr", "mom", "wd") if k in d["hypergrad"]])
    t = float(np.median([d["time_s"]] + [json.load(open(r))["time_s"]
                          for r in glob.glob(path[:-len(".json")] + ".r*.json")]))
    print(f"| hgbench {label} | float{prec} | {t:.2f} | {1e3 * t / d['steps']:.1f} | {err(hg):.2g} |")
EOF
}
# Issue 10's goal: hgbench's bptt and forward engines >= 3x faster than
# PyTorch's autograd and forward loop on this problem, in this run.
speed_table() {
  "$py" - "$repeats" "$threads" <<'EOF'
import glob, json, sys
import numpy as np
repeats, threads = sys.argv[1:3]
def hg_ms(e, prec):
    path = f"bench/results/pytorch-hgbench-{e}-f{prec}.json"
    try:
        runs = [json.load(open(p)) for p in [path] + glob.glob(path[:-5] + ".r*.json")]
    except (OSError, ValueError):
        return None
    return 1e3 * float(np.median([r["time_s"] for r in runs])) / runs[0]["steps"]
def pt_ms(name, prec):
    try:
        m = json.load(open(f"bench/results/pytorch-f{prec}.json"))["methods"][name]
    except (OSError, ValueError, KeyError):
        return None
    return m["ms_per_step"] if m.get("status") == "ok" else None
print("Speed against PyTorch (issue 10's goal: hgbench at least 3x faster), ms per inner step,")
print(f"{'one run' if repeats == '1' else f'medians of {repeats} runs'} each, {threads} thread{'' if threads == '1' else 's'} on both sides:")
print()
print("| precision | hgbench engine | ms/step | PyTorch method | ms/step | PyTorch / hgbench | goal >= 3x |")
print("|---|---|--:|---|--:|--:|---|")
for prec in (32, 64):
    for e, name, what in (("bptt", "autograd", "autograd (unrolled loop)"),
                          ("forward", "forward", "forward mode, columns looped")):
        h, p = hg_ms(e, prec), pt_ms(name, prec)
        if h is None or p is None:
            print(f"| float{prec} | {e} | {'%.1f' % h if h else '**failed**'} | {what} | "
                  f"{'%.1f' % p if p else '**failed**'} | | |")
            continue
        r = p / h
        print(f"| float{prec} | {e} | {h:.1f} | {what} | {p:.1f} | {r:.2f}x | "
              f"{'met' if r >= 3 else '**not met** (%.1fx short)' % (3 / r)} |")
EOF
}
{
  echo "## PyTorch baseline (experiment 6)"
  echo
  echo "The same exported problem (\`hgbench hypergrad --export\`: LeNet on Fashion-MNIST, T = $steps,"
  echo "batch 128, lr 0.05 / momentum 0.9 / wd 5e-4, lr learned in 10 windows, seed 1) recomputed by"
  echo "PyTorch $torch ($threads threads) from the exported files alone, beside hgbench's engines. Error:"
  echo "max-norm relative difference of the hypergradient from hgbench's bptt at the same precision."
  echo "Times per hypergradient and per inner step: the median of $repeats run$([ "$repeats" = 1 ] || echo s) of each method."
  echo "$(scripts/machine-line.sh "${COMMIT:-}")"
  echo
  echo "| method | precision | s per hypergradient | ms per step | rel. error vs hgbench bptt |"
  echo "|---|---|--:|--:|--:|"
  for prec in 64 32; do
    for e in bptt reversible forward; do row "$e" "bench/results/pytorch-hgbench-$e-f$prec.json" "$prec"; done
    row pytorch "bench/results/pytorch-f$prec.json" "$prec"
  done
  echo
  speed_table
  echo
  echo "Reproduce: \`build/hgbench hypergrad --engine bptt --precision 64 ${problem[*]} --export DIR\`"
  echo "(and \`--engine reversible\`, \`--engine forward\`, each $repeats times)"
  echo "then \`$py scripts/pytorch_baseline.py DIR --threads $threads --repeats $repeats\`."
  echo
} > "$md.tmp.$$" && mv "$md.tmp.$$" "$md"
# the exports hold the training examples (tens of MiB): not results to keep
rm -rf bench/results/pytorch-export-f32 bench/results/pytorch-export-f64
exit $status
