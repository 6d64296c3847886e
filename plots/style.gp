# style.gp — the one style every hgbench plot loads: one colour and one dash
# pattern per engine (and per reference line), the same in PNG and SVG.
#   load 'plots/style.gp'      then  ... with lines ls ENGINE_LS('bptt')
set style line 1 lc rgb '#1b6ca8' lw 2 dt 1 pt 7  ps 0.8   # bptt
set style line 2 lc rgb '#d1495b' lw 2 dt 2 pt 5  ps 0.8   # reversible
set style line 3 lc rgb '#2e8b57' lw 2 dt 3 pt 9  ps 0.9   # forward (FDS, Forward-HG)
set style line 4 lc rgb '#edae49' lw 2 dt 4 pt 11 ps 0.9   # greedy
set style line 5 lc rgb '#555555' lw 1.5 dt 5 pt 1 ps 0.8  # plain training / baselines
set style line 6 lc rgb '#7b3294' lw 1.5 dt 6 pt 3 ps 0.8  # fitted bounds, formulas
set style line 7 lc rgb '#00798c' lw 2 dt 1 pt 13 ps 0.9   # PyTorch
set style line 8 lc rgb '#8c564b' lw 2 dt 1 pt 15 ps 0.9   # checkpoint
ENGINE_LS(e) = e eq 'bptt' ? 1 : e eq 'reversible' ? 2 : e eq 'forward' ? 3 : \
               e eq 'greedy' ? 4 : e eq 'plain' ? 5 : e eq 'pytorch' ? 7 : \
               e eq 'checkpoint' ? 8 : 6
set grid lc rgb '#dddddd' lt 1
set key top left box opaque
set border lw 1
# Terminals: callers set OUT (a path without extension) and call
#   call 'plots/terminal.gp' 'png'  /  'svg'
