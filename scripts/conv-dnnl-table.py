#!/usr/bin/env python3
"""conv-dnnl-table.py — the Markdown table of hgbench-conv-dnnl's --json
(our conv kernels against oneDNN, shape by shape) for the models section.

Usage: conv-dnnl-table.py FILE.json. One row per layer, batch, op and k: our
kernel's median, oneDNN's (format `any`: compute, reorders, total), ours over
oneDNN's total (above 1: oneDNN faster), the larger of the two errors against
ours, and whether oneDNN gave the same bytes twice. Exit 2 on a bad file.
"""
import json
import sys


def ms(t):
    return f"{1e3 * t['median_s']:.3g}" if t and t.get("median_s") is not None else ""


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n")[2], file=sys.stderr)
        return 2
    try:
        d = json.load(open(sys.argv[1]))
        rows = d["rows"]
    except (OSError, ValueError, KeyError) as e:
        print(f"conv-dnnl-table.py: {sys.argv[1]}: {e}", file=sys.stderr)
        return 2
    print(f"oneDNN {d.get('onednn', '?')}, {d.get('threads', '?')} threads, "
          f"medians of {d.get('repeats', '?')} repeats; errors within {d.get('tolerance', '?')} "
          f"required ({d.get('failed_checks', '?')} checks failed).")
    print()
    print("| layer | batch | op | k | ours (kernel) ms | oneDNN compute ms | reorders ms | "
          "oneDNN total ms | ours / oneDNN | max error | oneDNN deterministic |")
    print("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        v = r.get("any", {})
        ours = r["ours_time"]["median_s"]
        if v.get("status") != "ok":
            print(f"| {r['layer']} | {r['n']} | {r['op']} | {r['k'] or ''} | "
                  f"{1e3 * ours:.3g} ({r['ours']}) | **{v.get('status', '?')}**: "
                  f"{v.get('message', '')} | | | | | |")
            continue
        tot = v["total"]["median_s"]
        print(f"| {r['layer']} | {r['n']} | {r['op']} | {r['k'] or ''} | {1e3 * ours:.3g} "
              f"({r['ours']}) | {ms(v.get('compute'))} | {ms(v.get('reorder'))} | {ms(v['total'])} | "
              f"{ours / tot:.2f} | {v['max_err']:.2g} | {'yes' if v['deterministic'] else '**no**'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
