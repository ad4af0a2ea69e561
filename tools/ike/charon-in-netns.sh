#!/bin/sh
# Runs strongSwan's charon inside gateway namespace NETNS with what site.sh
# rendered into CONFDIR, and loads its connections and secrets through
# charon's own vici socket (CONFDIR/charon.vici).
#   CONFDIR/charon.pid   charon's pid
#   CONFDIR/charon.log   charon's log (CONFDIR/charon.out: stdout and stderr)
#
# usage: charon-in-netns.sh [-k | -r] NETNS CONFDIR
#   (none)  start charon and load CONFDIR/swanctl.conf; prints the pid
#   -r      reload: swanctl --load-all again (after site.sh added a site)
#   -k      stop this CONFDIR's charon (SIGTERM, SIGKILL after 3 s)
# env: CHARON (/usr/lib/ipsec/charon), SWANCTL (swanctl), TIMEOUT (10 s)
set -eu

# The one line that knows how to enter a gateway: its network namespace
# plus a private /run, so two charons never share a pid file or socket
# (`ip netns exec` runs in a slave mount namespace: the tmpfs stays there).
# When the tool's exec lands this becomes:
#   in_gateway() { ipsec-steer exec "$netns" -- "$@"; }
in_gateway() { ip netns exec "$netns" sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$@"' in_gateway "$@"; }

usage() { sed -n '2,13s/^# \{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "charon-in-netns.sh: $*" >&2; exit 1; }

mode=start
case ${1:-} in -k) mode=stop; shift ;; -r) mode=reload; shift ;; -h | --help | "") usage ;; esac
[ $# -eq 2 ] || usage
netns=$1
confdir=$(cd "$2" && pwd) || die "no such directory: $2"
charon=${CHARON:-/usr/lib/ipsec/charon}
swanctl=${SWANCTL:-swanctl}
timeout=${TIMEOUT:-10}
pidfile=$confdir/charon.pid
socket=$confdir/charon.vici

# The pid in CONFDIR/charon.pid, if that process is still a charon.
running() {
	[ -f "$pidfile" ] || return 1
	pid=$(cat "$pidfile")
	[ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q charon
}

load() {
	STRONGSWAN_CONF=$confdir/strongswan.conf SWANCTL_DIR=$confdir \
		"$swanctl" --load-all --noprompt --uri "unix://$socket" --file "$confdir/swanctl.conf" \
		>"$confdir/swanctl.out" 2>&1 || { cat "$confdir/swanctl.out" >&2; return 1; }
}

case $mode in
stop)
	running || { rm -f "$pidfile"; exit 0; }
	kill -TERM "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidfile" "$socket"
	exit 0
	;;
reload)
	running || die "no charon running for $confdir"
	load
	exit 0
	;;
esac

[ -f "$confdir/strongswan.conf" ] && [ -f "$confdir/swanctl.conf" ] ||
	die "$confdir has no strongswan.conf/swanctl.conf: run site.sh first"
[ -x "$charon" ] || die "$charon missing (package strongswan-charon)"
command -v "$swanctl" >/dev/null || die "$swanctl missing (package strongswan-swanctl)"
ip netns pids "$netns" >/dev/null 2>&1 || die "no network namespace $netns"
running && die "charon $pid already runs for $confdir"
rm -f "$socket"

in_gateway env STRONGSWAN_CONF="$confdir/strongswan.conf" "$charon" \
	</dev/null >"$confdir/charon.out" 2>&1 &
pid=$!
echo "$pid" >"$pidfile"

i=0
until [ -S "$socket" ]; do
	if ! kill -0 "$pid" 2>/dev/null || [ $i -ge $((timeout * 10)) ]; then
		kill -KILL "$pid" 2>/dev/null || true
		tail -n 20 "$confdir/charon.out" "$confdir/charon.log" >&2 2>/dev/null || true
		die "charon did not open $socket within ${timeout}s"
	fi
	sleep 0.1
	i=$((i + 1))
done
load || die "swanctl --load-all failed (see $confdir/charon.log)"
echo "$pid"
