# Sourced by charon-in-netns.sh and pluto-in-netns.sh: what starting and
# stopping an IKE daemon in a gateway has in common. Expects $pidfile,
# $confdir, $netns, in_gateway() and die() from the script.

# True when $pidfile names a live process called $1; sets $pid.
running() {
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile")
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

# site.sh -a: addresses of the local subnets, on lo inside the namespace.
add_addresses() {
	[ -f "$confdir/lo-addresses" ] || return 0
	while read -r a; do
		[ -z "$a" ] || (in_gateway ip addr replace "$a" dev lo) || die "cannot add $a to lo in $netns"
	done <"$confdir/lo-addresses"
}

# stop_daemon NAME SOCKET: SIGTERM (the daemon sends its DELETEs), SIGKILL
# after 3 s; the pid file and control socket go too. Exits 0.
stop_daemon() {
	running "$1" || { rm -f "$pidfile"; exit 0; }
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile" "$2"
	exit 0
}
