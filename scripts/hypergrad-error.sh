#!/usr/bin/env bash
# hypergrad-error.sh — how far one learning-rate hypergradient is from a
# reference, both from `hgbench hypergrad --json` files. Prints one line:
#   rel_err cosine N
# rel_err = |g - g*| / |g*| and cosine = g.g* / (|g| |g*|) (nan where a norm
# is 0 or a value is not finite), N = the length of g. g is G's
# hypergrad.lr, or with --per-step its per_step.lr (T values: an online run's
# look-ahead values, which its hypergrad sums into one). g* is REF's
# hypergrad.lr reduced to G's layout: entry k is the sum of REF's entries t
# with floor(t N / T_ref) = k, the windows DESIGN.md defines, so a per-step
# reference (--learn lr:T) serves every window count N that divides into it
# that way (the per-step values summed within a window are the window's
# hypergradient). Learning rate only: the sections that use it learn nothing
# else. Exit 3 with a message naming the file if a file or its vector is
# missing, 2 on bad usage.
# Usage: hypergrad-error.sh [--per-step] REF.json G.json
set -uo pipefail
field=hypergrad
[ "${1:-}" = --per-step ] && { field=per_step; shift; }
[ $# -eq 2 ] || { echo "usage: hypergrad-error.sh [--per-step] REF.json G.json" >&2; exit 2; }
ref=$1 g=$2
for f in "$ref" "$g"; do
  [ -r "$f" ] || { echo "hypergrad-error: $f: cannot read it" >&2; exit 3; }
done
vec() {  # file, field: the lr vector, one number a line (null -> nan)
  jq -r --arg f "$2" '.[$f].lr // error("no \($f).lr") | .[] | if . == null then "nan" else . end' "$1" 2>/dev/null
}
r_vals=$(vec "$ref" hypergrad) && [ -n "$r_vals" ] ||
  { echo "hypergrad-error: $ref: no hypergrad.lr (not a hgbench hypergrad --json file learning lr?)" >&2; exit 3; }
g_vals=$(vec "$g" "$field") && [ -n "$g_vals" ] ||
  { echo "hypergrad-error: $g: no $field.lr" >&2; exit 3; }
awk -v rv="$r_vals" -v gv="$g_vals" -v ref="$ref" -v g="$g" '
  function finite(x) { return x == x && x != "nan" && x + 0 < 1e308 && x + 0 > -1e308 }
  BEGIN {
    T = split(rv, r, "\n"); N = split(gv, x, "\n")
    if (N > T) { printf "hypergrad-error: %s has %d values, more than the reference %s (%d)\n", g, N, ref, T > "/dev/stderr"; exit 3 }
    bad = 0
    for (k = 1; k <= N; k++) s[k] = 0
    for (t = 0; t < T; t++) { if (!finite(r[t + 1])) bad = 1; s[int(t * N / T) + 1] += r[t + 1] }
    for (k = 1; k <= N; k++) if (!finite(x[k])) bad = 1
    if (bad) { printf "nan nan %d\n", N; exit 0 }
    d2 = 0; r2 = 0; g2 = 0; gr = 0
    for (k = 1; k <= N; k++) { d = x[k] - s[k]; d2 += d * d; r2 += s[k] * s[k]; g2 += x[k] * x[k]; gr += x[k] * s[k] }
    rel = (r2 > 0) ? sprintf("%.4g", sqrt(d2 / r2)) : "nan"
    cs = (r2 > 0 && g2 > 0) ? sprintf("%.6g", gr / sqrt(r2 * g2)) : "nan"
    printf "%s %s %d\n", rel, cs, N
  }'
