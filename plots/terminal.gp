# terminal.gp — sets the output of the current plot: call 'plots/terminal.gp' 'png'|'svg'
# with OUT (a path without extension) defined by the caller.
if (ARG1 eq 'svg') { set terminal svg size 800,500 dynamic enhanced font 'Helvetica,12'; set output OUT.'.svg' } \
else { set terminal pngcairo size 800,500 enhanced font 'Helvetica,10'; set output OUT.'.png' }
