# fig2-text.gp — Figure 2 of the FDS paper from hgbench-fig2's text results
# (scripts/fig2-plot.sh, for bench-gpu.sh; the fig2 section's own plots are
# hgbench-report's, plots/fig2.gp generated from the JSON): the
# hypergradient MSE against the sharing window W (log-log), the greedy MSE as
# a horizontal line, and Theorem 4.1's bound sigma^2/W + eps^2 (W^2-1)/12 with
# the fitted sigma^2, eps^2 (dashed), the fit with the theorem's correlation
# term sigma^2 ((1-c)/W + c) + ... (dotted), and the bound with the directly
# estimated sigma^2, eps^2 (thin).
# Run from the repository root:
#   gnuplot -e "IN='bench/results/fig2.txt'; OUT='bench/results/fig2'" plots/fig2-text.gp
# writes OUT.png and OUT.svg. With STEPS='...' (hgbench-fig2 --steps-out) it
# also writes OUT-steps.png/.svg: the per-step truth +- its across-seed std
# and the greedy mean, against the step (learning rate on the right axis).
# ENGINE='bptt'|'reversible' sets the reverse engine's style; by default it
# is read from the results file. IN32='...' (a float32 run's results, when
# IN is float64) draws its MSE curve and greedy line beside IN's, thinner
# and in the same colours; STEPS32='...' adds its per-step truth.
# Leaves out: per-seed curves (they are in hgbench-fig2 --json).
if (!exists("IN") || !exists("OUT")) {
    print "usage: gnuplot -e \"IN='results.txt'; OUT='prefix'\" plots/fig2-text.gp"
    exit status 2
}
load 'plots/style.gp'
set encoding utf8

if (!exists("ENGINE")) {
    ENGINE = system("sed -n 's/^# engines: non-greedy = \\([a-z]*\\).*/\\1/p' '".IN."' | head -n 1")
}
if (ENGINE eq '') { ENGINE = 'bptt' }
LS = ENGINE_LS(ENGINE)
DATA = system("sed -n 's/^# model: .*data: \\([a-z0-9-]*\\) .*/\\1/p' '".IN."' | head -n 1")

# block 1: greedy_mse greedy_bias2 greedy_var T S_ok sigma2_fit eps2_fit
#          sigma2_est eps2_est W_best mse_best S_greedy_ok sigma2_fit_c c_fit_c eps2_fit_c
stats IN index 1 using 1 nooutput; GREEDY = STATS_min
stats IN index 1 using 4 nooutput; T = int(STATS_min)
stats IN index 1 using 5 nooutput; S = int(STATS_min)
stats IN index 1 using 6 nooutput; S2F = STATS_min
stats IN index 1 using 7 nooutput; E2F = STATS_min
stats IN index 1 using 8 nooutput; S2E = STATS_min
stats IN index 1 using 9 nooutput; E2E = STATS_min
stats IN index 1 using 10 nooutput; WBEST = int(STATS_min)
stats IN index 1 using 13 nooutput; S2C = STATS_min
stats IN index 1 using 14 nooutput; CC = STATS_min
stats IN index 1 using 15 nooutput; E2C = STATS_min
stats IN index 0 using 2 nooutput; YMIN = STATS_min; YMAX = STATS_max
YMIN = YMIN < GREEDY ? YMIN : GREEDY
YMAX = YMAX > GREEDY ? YMAX : GREEDY
PREC = system("sed -n 's/^# date: .*precision: \\(float[0-9]*\\).*/\\1/p' '".IN."' | head -n 1")
# the float32 overlay as loops over zero or one word (none without IN32)
F32 = ''; G32 = ''; S32 = ''
if (exists("STEPS32")) { S32 = STEPS32 }
if (exists("IN32")) {
    F32 = IN32
    stats IN32 index 1 using 1 nooutput; GREEDY32 = STATS_min
    G32 = sprintf('%.17g', GREEDY32)
    stats IN32 index 0 using 2 nooutput
    YMIN = YMIN < STATS_min ? YMIN : STATS_min
    YMAX = YMAX > STATS_max ? YMAX : STATS_max
    YMIN = YMIN < GREEDY32 ? YMIN : GREEDY32
    YMAX = YMAX > GREEDY32 ? YMAX : GREEDY32
}

bound(w, s2, e2) = s2 / w + e2 * (w * w - 1) / 12.0
bound_c(w, s2, c, e2) = s2 * ((1 - c) / w + c) + e2 * (w * w - 1) / 12.0

set logscale xy
set xrange [0.8 : T * 1.25]
# headroom above the curves for the key (top left): 45% of the height
YLO = YMIN / 5
YHI = YMAX * 10 ** (0.8 * log10(YMAX / YLO))
set yrange [YLO : YHI]
set samples 400
set format y '10^{%L}'
set xlabel 'sharing window W (steps averaged per hyperparameter)'
set ylabel 'MSE of per-step learning-rate hypergradients'
set title sprintf("Hypergradient MSE vs sharing window (LeNet, %s, T = %d, S = %d seeds)", DATA, T, S) noenhanced
set key top left box opaque

call 'plots/terminal.gp' 'png'
plot IN index 0 using 1:2 with linespoints ls LS \
         title sprintf('%s %s, window-averaged (min at W = %d)', ENGINE, PREC, WBEST) noenhanced, \
     GREEDY with lines ls 4 title sprintf('greedy %s (one-step look-ahead)', PREC), \
     for [f in F32] f index 0 using 1:2 with linespoints ls LS lw 1 dt 2 pt 6 \
         title sprintf('%s float32 (as the paper ran it)', ENGINE) noenhanced, \
     for [g in G32] (g + 0) with lines ls 4 lw 1 dt 3 title 'greedy float32', \
     bound(x, S2F, E2F) with lines ls 6 dt 2 \
         title sprintf('fit: σ^2/W + ε^2 (W^2-1)/12, σ^2 = %.3g, ε^2 = %.3g', S2F, E2F), \
     bound_c(x, S2C, CC, E2C) with lines ls 6 dt 3 \
         title sprintf('fit with correlation: σ^2 = %.3g, c = %.2f, ε^2 = %.3g', S2C, CC, E2C), \
     bound(x, S2E, E2E) with lines ls 5 lw 1 \
         title sprintf('estimated: σ^2 = %.3g, ε^2 = %.3g', S2E, E2E)
call 'plots/terminal.gp' 'svg'
replot
unset output

if (exists("STEPS")) {
    MAIN = OUT
    OUT = MAIN.'-steps'
    reset
    load 'plots/style.gp'
    set encoding utf8
    set xlabel 'inner step t'
    set ylabel 'hypergradient dL_{val}/da_t'
    set y2label 'learning rate a_t'
    set ytics nomirror
    set y2tics
    set xrange [0 : T - 1]
    set key top left box opaque
    set style fill transparent solid 0.2 noborder
    set title sprintf("Per-step learning-rate hypergradients (LeNet, %s, T = %d, S = %d seeds)", DATA, T, S) noenhanced
    # columns: t lr truth std greedy_mean greedy_std
    call 'plots/terminal.gp' 'png'
    plot STEPS using 1:($3 - $4):($3 + $4) with filledcurves ls LS notitle, \
         STEPS using 1:3 with lines ls LS title sprintf('%s %s: seed mean (truth) ± std', ENGINE, PREC), \
         for [f in S32] f using 1:3 with lines ls LS lw 1 dt 2 \
             title sprintf('%s float32: seed mean', ENGINE), \
         STEPS using 1:5 with lines ls 4 title 'greedy: seed mean', \
         STEPS using 1:2 axes x1y2 with lines ls 5 lw 1 title 'learning rate (right axis)'
    call 'plots/terminal.gp' 'svg'
    replot
    unset output
}
