# PNG plots of bench/results/*.dat (run from bench/results by run.sh).
set terminal pngcairo size 900,500 noenhanced
set key autotitle columnhead
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside right
set grid ytics

set output 'datapath.png'
set title 'CPU ns per packet into the gateway namespace (generator + receive path, median)'
set ylabel 'ns per packet'
# From zero: the bars compare whole-path costs, not differences.
set yrange [0:*]
plot for [i=2:7] 'datapath.dat' using i:xtic(1)

set output 'control_plane.png'
set title 'Applying the mesh firewall: seconds by peer pairs (median)'
set ylabel 'seconds (log)'
set logscale y
set yrange [*:*]
plot for [i=2:7] 'nft.dat' using i:xtic(1)
