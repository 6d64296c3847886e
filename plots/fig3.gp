# fig3.gp — Figure 3 of the FDS paper from `hgbench hpo` tables (scripts/fig3.sh):
#   OUT-schedules.png/.svg  the learned learning-rate schedule of each method
#                           against the inner step: at its best outer step (by
#                           validation accuracy; top panel) and at its last
#                           (bottom), with the cosine baseline's schedule
#   OUT-accuracy.png/.svg   validation (solid) and test (dotted) accuracy per outer
#                           step of each method, the cosine baseline's as
#                           horizontal lines
# Run from the repository root:
#   gnuplot -e "IN='bench/results/fig3-fashion-mnist'; OUT='plots/fig3-fashion-mnist'; \
#               DATA='fashion-mnist'" plots/fig3.gp
# reads IN-greedy.txt, IN-nongreedy.txt, IN-fds.txt and IN-cosine.txt (hpo's
# stdout: index 0 the per-outer-step table, index 1 the schedules per inner
# step). Optional: NOTE, a line under the title (fig3.sh states the settings);
# SPAN, what T covers (default 'one epoch').
# Leaves out: momentum and weight decay (fixed in this figure), per-seed spread.
if (!exists("IN") || !exists("OUT")) {
    print "usage: gnuplot -e \"IN='bench/results/fig3-DATA'; OUT='plots/fig3-DATA'\" plots/fig3.gp"
    exit status 2
}
if (!exists("DATA")) { DATA = '' }
if (!exists("NOTE")) { NOTE = '' }
if (!exists("SPAN")) { SPAN = 'one epoch' }
load 'plots/style.gp'
set encoding utf8
set datafile missing '-'

# the methods: name, file suffix, line style (plots/style.gp: bptt, forward, greedy)
F(m) = IN.'-'.m.'.txt'
LSG = ENGINE_LS('greedy'); LSN = ENGINE_LS('bptt'); LSF = ENGINE_LS('forward')
LSC = ENGINE_LS('plain')
KF = system("sed -n 's/^# learned: lr:\\([0-9]*\\).*/\\1/p' '".F('fds')."' | head -n 1")
T = system("sed -n 's/^# inner: T = \\([0-9]*\\) steps.*/\\1/p' '".F('fds')."' | head -n 1")
# the outer steps the schedules table holds: "best (outer step B) and final (outer step L)"
STEP(m, which) = system("sed -n 's/^# schedules per inner step: best (outer step \\([0-9]*\\)) and final (outer step \\([0-9]*\\)).*/\\".which."/p' '".F(m)."' | head -n 1")
LRC = system("sed -n 's/^# inner: .*initial schedule cosine (lr \\([^,]*\\),.*/\\1/p' '".F('cosine')."' | head -n 1")

# the cosine baseline's accuracies: its table's one row
stats F('cosine') index 0 using 3 nooutput; CVAL = STATS_max
stats F('cosine') index 0 using 4 nooutput; CTEST = STATS_max

TITLE = sprintf("FDS Fig. 3: LeNet on %s, T = %s steps (%s), learned learning rates%s", \
                DATA, T, SPAN, NOTE eq '' ? '' : "\n".NOTE)
set title TITLE noenhanced

# ---- (a) schedules: two panels, at each method's best outer step and at its last
set xlabel 'inner step t'
set key top right box opaque font ',8' samplen 2
set xrange [0:T - 1]
set yrange [0:*]
LAST = STEP('fds', 2)
do for [fmt in 'png svg'] {
    OUT0 = OUT
    OUT = OUT0.'-schedules'
    call 'plots/terminal.gp' fmt
    # twice the height: two panels
    if (fmt eq 'svg') { set terminal svg size 800,860 dynamic enhanced font 'Helvetica,12' } \
    else { set terminal pngcairo size 800,860 enhanced font 'Helvetica,10' }
    set multiplot layout 2,1
    set ylabel 'learning rate, best outer step'
    plot F('greedy') index 1 using 1:2 with lines ls LSG \
           title sprintf('greedy (K = T, look-ahead on val): step %s', STEP('greedy', 1)), \
         F('nongreedy') index 1 using 1:2 with lines ls LSN \
           title sprintf('non-greedy, no sharing (K = T): step %s', STEP('nongreedy', 1)), \
         F('fds') index 1 using 1:2 with lines ls LSF \
           title sprintf('FDS (K = %s): step %s', KF, STEP('fds', 1)), \
         F('cosine') index 1 using 1:2 with lines ls LSC title sprintf('cosine baseline (max %s)', LRC)
    unset title
    set ylabel sprintf('learning rate, last outer step (%s)', LAST)
    plot F('greedy') index 1 using 1:5 with lines ls LSG title 'greedy', \
         F('nongreedy') index 1 using 1:5 with lines ls LSN title 'non-greedy', \
         F('fds') index 1 using 1:5 with lines ls LSF title sprintf('FDS (K = %s)', KF), \
         F('cosine') index 1 using 1:2 with lines ls LSC title 'cosine baseline'
    unset multiplot
    unset output
    OUT = OUT0
    set title TITLE noenhanced
}

# ---- (b) accuracy per outer step ----------------------------------------------
set xlabel 'outer step'
set ylabel 'accuracy'
set key inside top center horizontal maxcols 4 box opaque font ',8' width -2 samplen 2
set autoscale x
stats F('nongreedy') index 0 using 1 nooutput; SMAX = STATS_max
set xrange [0:SMAX > 0 ? SMAX : 1]
set xtics SMAX <= 10 ? 1 : SMAX <= 25 ? 2 : 5
# the interesting range: from 0.3 below the baseline (earlier points, at lr = 0, are
# near chance and drawn at the bottom edge)
YMIN = floor((CVAL - 0.3) * 10) / 10.0
YMIN = YMIN < 0 ? 0 : YMIN
set yrange [YMIN:1]
clipy(y) = y < YMIN ? YMIN : y
set label 1 sprintf("points below %.1f (outer step 0: every lr = 0) drawn at %.1f", YMIN, YMIN) \
    at graph 0.02, graph 0.04 font ',9' noenhanced
do for [fmt in 'png svg'] {
    OUT0 = OUT
    OUT = OUT0.'-accuracy'
    call 'plots/terminal.gp' fmt
    plot F('greedy') index 0 using 1:(clipy($3)) with linespoints ls LSG title 'greedy val', \
         F('greedy') index 0 using 1:(clipy($4)) with lines ls LSG dt 3 lw 1 title 'greedy test', \
         F('nongreedy') index 0 using 1:(clipy($3)) with linespoints ls LSN title 'non-greedy val', \
         F('nongreedy') index 0 using 1:(clipy($4)) with lines ls LSN dt 3 lw 1 title 'non-greedy test', \
         F('fds') index 0 using 1:(clipy($3)) with linespoints ls LSF title sprintf('FDS (K = %s) val', KF), \
         F('fds') index 0 using 1:(clipy($4)) with lines ls LSF dt 3 lw 1 title 'FDS test', \
         CVAL with lines ls LSC title sprintf('cosine (max %s) val %.3f', LRC, CVAL), \
         CTEST with lines ls LSC dt 3 lw 1 title sprintf('cosine test %.3f', CTEST)
    unset output
    OUT = OUT0
}
unset label 1
