#!/bin/sh
# gbench-table.sh — Google Benchmark's JSON output (--benchmark_out=FILE
# --benchmark_out_format=json, e.g. of hgbench-micro) as Markdown: a few
# context lines, then one table row per benchmark:
#
#   benchmark | median | stddev | min–max | reps | counters
#
# Times are the real (wall-clock) time per iteration in the benchmark's unit.
# With --benchmark_report_aggregates_only=true the file holds mean, median,
# stddev and cv rows only: median and stddev are Google Benchmark's, min–max
# is not available ("–"). With per-repetition rows, median, stddev (sample)
# and min–max are computed here from them. Counters are the median row's
# (or the median over repetitions); those named per_* are seconds per unit
# (GB_COUNTER_TIME_PER_UNIT in bench/gbench_shim.h) and are printed as
# times; busy_* (cores other processes used) with two decimals. A benchmark
# that reported an error gets its message instead of numbers. The
# "/real_time" suffix of the names is dropped.
#
# Usage: scripts/gbench-table.sh [--no-context] FILE.json > table.md
# Exit status: 0 a table was written, 1 the file has no benchmarks (or is
# not Google Benchmark's JSON), or is truncated (a run cut short: the table
# of what finished is written, with a warning), 2 bad usage or the file
# cannot be read. Benchmarks that reported an error do not change it.
#
# POSIX sh and awk only (Debian's default awk is mawk): Google Benchmark's
# JSON writer puts one key per line, which is what this walks; it is not a
# general JSON parser.
set -u

context=1
if [ "${1-}" = "--no-context" ]; then
  context=0
  shift
fi
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: gbench-table.sh [--no-context] FILE.json  (Google Benchmark JSON output)" >&2
  exit 2
fi
file=$1
if [ ! -e "$file" ]; then
  echo "gbench-table.sh: $file: no such file (run the benchmark with --benchmark_out=$file --benchmark_out_format=json)" >&2
  exit 2
fi
if [ ! -r "$file" ] || [ -d "$file" ]; then
  echo "gbench-table.sh: $file: cannot read it" >&2
  exit 2
fi

awk -v context="$context" -v file="$file" '
# Depth of brackets after the line, counting outside strings only.
function depth_change(s,    t) {
  t = s
  gsub(/"([^"\\]|\\.)*"/, "", t)
  return gsub(/[\[{]/, "", t) - gsub(/[\]}]/, "", t)
}
function unquote(v) {
  if (v ~ /^".*"$/) {
    v = substr(v, 2, length(v) - 2)
    gsub(/\\"/, "\"", v); gsub(/\\\//, "/", v); gsub(/\\\\/, "\\", v)
  }
  return v
}
function load_avg(s,    n, a, i, out) {
  gsub(/[\[\] ]/, "", s)
  n = split(s, a, ",")
  for (i = 1; i <= n; i++) out = out (i > 1 ? " " : "") sprintf("%.2f", a[i])
  return out
}
function md(s) { gsub(/\|/, "\\|", s); return s }
# A time in seconds, printed in a unit that suits it.
function fmt_seconds(v,    a) {
  v += 0
  a = v < 0 ? -v : v
  if (a >= 1 || a == 0) return fmt_num(v) " s"
  if (a >= 1e-3) return fmt_num(v * 1e3) " ms"
  if (a >= 1e-6) return fmt_num(v * 1e6) " µs"
  return fmt_num(v * 1e9) " ns"
}
function fmt_unit(u) { return u == "us" ? "µs" : u }
# About 4 significant digits, no exponent for the magnitudes of timings.
function fmt_num(v,    a) {
  v += 0
  a = v < 0 ? -v : v
  if (a >= 1e6 || (a < 1e-3 && a > 0)) return sprintf("%.4g", v)
  if (a >= 1000) return sprintf("%.0f", v)
  if (a >= 100) return sprintf("%.1f", v)
  if (a >= 10) return sprintf("%.2f", v)
  return sprintf("%.3f", v)
}
function fmt_si(v,    a) {
  v += 0
  a = v < 0 ? -v : v
  if (a >= 1e9) return fmt_num(v / 1e9) "G"
  if (a >= 1e6) return fmt_num(v / 1e6) "M"
  if (a >= 1e3) return fmt_num(v / 1e3) "k"
  return fmt_num(v)
}
function fmt_counter(name, v) {
  if (name ~ /^per_/) return fmt_seconds(v)
  if (name ~ /^busy_/) return sprintf("%.2f", v)
  if (name ~ /_per_second$/) return fmt_si(v) "/s"
  return fmt_num(v)
}
# Median of the n values in a[1..n] (sorts a).
function median(a, n,    i, j, t) {
  for (i = 2; i <= n; i++) {
    t = a[i]
    for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
    a[j + 1] = t
  }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# One benchmark object, fields in f[], done: file it under its run name.
function take(    r, k, c, n) {
  r = ("run_name" in f) ? f["run_name"] : f["name"]
  sub(/\/real_time$/, "", r)
  if (!(r in seen)) { seen[r] = 1; order[++nruns] = r }
  if (f["time_unit"] != "") unit[r] = f["time_unit"]
  if (f["error_occurred"] == "true") {
    err[r] = ("error_message" in f) ? f["error_message"] : "error"
    return
  }
  if (f["label"] != "") label[r] = f["label"]
  if (f["run_type"] == "aggregate") {
    k = f["aggregate_name"]
    if (k == "median" || k == "stddev" || k == "cv" || k == "mean") agg[r, k] = f["real_time"]
    reps[r] = f["repetitions"]
    if (k == "median")
      for (c = 1; c <= nkeys; c++)
        if (!(keys[c] in known)) {
          if (!((r, keys[c]) in cseen)) { cseen[r, keys[c]] = 1; cname[r, ++ncnt[r]] = keys[c] }
          cmed[r, keys[c]] = f[keys[c]]
        }
    return
  }
  n = ++nit[r]
  it[r, n] = f["real_time"]
  for (c = 1; c <= nkeys; c++)
    if (!(keys[c] in known)) {
      if (!((r, keys[c]) in cseen)) { cseen[r, keys[c]] = 1; cname[r, ++ncnt[r]] = keys[c] }
      cval[r, keys[c], ++cn[r, keys[c]]] = f[keys[c]]
    }
}

BEGIN {
  split("name family_index per_family_instance_index run_name run_type repetitions " \
        "repetition_index threads aggregate_name aggregate_unit iterations real_time " \
        "cpu_time time_unit error_occurred error_message label", kk, " ")
  for (i in kk) known[kk[i]] = 1
}

{
  line = $0
  d0 = depth
  depth += depth_change(line)
  if (d0 == 1 && line ~ /^[ \t]*"context":/) { section = "context"; next }
  if (d0 == 1 && line ~ /^[ \t]*"benchmarks":/) { section = "benchmarks"; next }
  if (d0 == 1) section = ""
  if (section == "benchmarks" && d0 == 2 && depth == 3) { split("", f); nkeys = 0; inobj = 1; next }
  if (section == "benchmarks" && inobj && depth == 2) { take(); nbench++; inobj = 0; next }
  if (!match(line, /^[ \t]*"([^"\\]|\\.)*": */)) next
  key = line; sub(/^[ \t]*"/, "", key); sub(/": *.*$/, "", key)
  val = substr(line, RLENGTH + 1); sub(/,[ \t\r]*$/, "", val); sub(/[ \t\r]+$/, "", val)
  if (section == "context" && d0 == 2 && val !~ /^[\[{]$/) {
    ctx[++nctx] = key; ctxv[key] = unquote(val)
  } else if (section == "benchmarks" && inobj && d0 == 3) {
    if (!(key in f)) keys[++nkeys] = key
    f[key] = unquote(val)
  }
}

END {
  if (nbench == 0) {
    printf "gbench-table.sh: %s: no benchmarks in it (not Google Benchmark JSON output, " \
           "or the run was cut short or matched nothing)\n", file > "/dev/stderr"
    exit 1
  }
  if (context) {
    printf "Google Benchmark run of %s, %s", ctxv["executable"], ctxv["date"]
    printf " on %s (%s CPUs at %s MHz, CPU scaling %s, load average %s); library build: %s.\n\n",
      ctxv["host_name"], ctxv["num_cpus"], ctxv["mhz_per_cpu"],
      ctxv["cpu_scaling_enabled"] == "true" ? "on" : "off", load_avg(ctxv["load_avg"]),
      ctxv["library_build_type"]
    for (i = 1; i <= nctx; i++)
      if (!(ctx[i] ~ /^(date|host_name|executable|num_cpus|mhz_per_cpu|cpu_scaling_enabled|load_avg|library_build_type)$/))
        printf "- %s: %s\n", ctx[i], md(ctxv[ctx[i]])
    if (nctx) printf "\n"
  }
  print "| benchmark | median | stddev | min–max | reps | counters |"
  print "|---|--:|--:|--:|--:|---|"
  for (i = 1; i <= nruns; i++) {
    r = order[i]; u = fmt_unit(unit[r])
    if (r in err) {
      printf "| %s | **error**: %s | | | | |\n", md(r), md(err[r])
      nerr++
      continue
    }
    med = sd = mm = "–"; n = "–"
    if ((r, "median") in agg) {
      med = fmt_num(agg[r, "median"]) " " u
      if ((r, "stddev") in agg)
        sd = sprintf("%s %s (%.1f%%)", fmt_num(agg[r, "stddev"]), u, 100 * agg[r, "cv"])
      n = reps[r]
    }
    if (nit[r] > 0) {
      m = nit[r]; lo = hi = it[r, 1] + 0; s = 0
      for (j = 1; j <= m; j++) {
        v[j] = it[r, j] + 0; s += v[j]
        if (v[j] < lo) lo = v[j]
        if (v[j] > hi) hi = v[j]
      }
      if (!((r, "median") in agg)) {
        mean = s / m; ss = 0
        for (j = 1; j <= m; j++) ss += (v[j] - mean) ^ 2
        med = fmt_num(median(v, m)) " " u
        if (m > 1) sd = sprintf("%s %s (%.1f%%)", fmt_num(sqrt(ss / (m - 1))), u, mean ? 100 * sqrt(ss / (m - 1)) / mean : 0)
        n = m
      }
      if (m > 1) mm = fmt_num(lo) "–" fmt_num(hi) " " u
    }
    cs = ""
    for (j = 1; j <= ncnt[r]; j++) {
      c = cname[r, j]
      if ((r, c) in cmed) x = cmed[r, c]
      else {
        m = cn[r, c]
        for (q = 1; q <= m; q++) w[q] = cval[r, c, q] + 0
        x = median(w, m)
      }
      cs = cs (cs == "" ? "" : ", ") c " " fmt_counter(c, x + 0)
    }
    if (r in label) cs = cs (cs == "" ? "" : ", ") md(label[r])
    printf "| %s | %s | %s | %s | %s | %s |\n", md(r), med, sd, mm, n, md(cs)
  }
  if (nerr) printf "gbench-table.sh: %d benchmark(s) reported an error (see the table)\n", nerr > "/dev/stderr"
  if (depth != 0) {
    printf "\n**Warning: %s ends before its JSON closes: the run was cut short; the " \
           "table holds the benchmarks that finished.**\n", file
    printf "gbench-table.sh: %s is truncated (the run was cut short): partial table\n", file > "/dev/stderr"
    exit 1
  }
}
' "$file"
