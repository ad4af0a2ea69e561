#!/bin/sh
# Renders the strongSwan configuration of one site-to-site connection of a
# gateway into CONFDIR:
#   CONFDIR/strongswan.conf      charon's settings (plugins, ports, vici socket, log)
#   CONFDIR/swanctl.conf         includes conf.d/*.conf (written once)
#   CONFDIR/conf.d/NAME.conf     the connection and its PSK (mode 0600)
#   CONFDIR/lo-addresses         -a addresses, put on lo in the namespace
# or, with -D libreswan, libreswan's (pluto's):
#   CONFDIR/ipsec.conf           config setup (log) + every conn (one per site)
#   CONFDIR/ipsec.secrets        the PSKs (mode 0600)
# Run it once per remote site; then charon-in-netns.sh (pluto-in-netns.sh)
# starts the daemon and loads everything (or, when it runs, reloads it).
#
# usage: site.sh -d CONFDIR -l LOCAL_P -r REMOTE_P -L LOCAL_TS -R REMOTE_TS
#                (-k PSK | -K PSK_FILE) [-a LOCAL_ADDR] [-n NAME]
#                [-p IKE_PORT,NATT_PORT] [-s none|trap|start]
#                [-D strongswan|libreswan] [-e libipsec|kernel] [-u yes|no]
#   LOCAL_TS/REMOTE_TS: comma-separated subnets (10.1.0.0/24,10.3.0.0/24)
#   LOCAL_ADDR: an unused address of LOCAL_TS for the gateway namespace's
#     lo: with kernel-libipsec, strongSwan 5.9.8 sources its route into
#     ipsec0 from it, and without one the CHILD_SA fails ("unable to install
#     IPsec policies (SPD) in kernel")
#   NAME: connection and child name; default REMOTE_P with . and : as -
#   -e: ESP in user space over TUN (strongSwan's kernel-libipsec, default;
#     for kernels without ESP) or in the kernel (XFRM)
#   -u: force ESP into UDP even without a NAT (default yes; kernel-libipsec
#     cannot send raw ESP)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,30s/^# \{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "site.sh: $*" >&2; exit 2; }

confdir='' local='' remote='' local_ts='' remote_ts='' psk='' name='' lo_addr=''
ports=500,4500 start=none daemon=strongswan esp=libipsec encap=yes
while getopts d:l:r:L:R:k:K:a:n:p:s:D:e:u:h opt; do
	case $opt in
	d) confdir=$OPTARG ;;
	l) local=$OPTARG ;;
	r) remote=$OPTARG ;;
	L) local_ts=$OPTARG ;;
	R) remote_ts=$OPTARG ;;
	k) psk=$OPTARG ;;
	K) psk=$(head -n1 "$OPTARG") || die "cannot read $OPTARG" ;;
	a) lo_addr=$OPTARG ;;
	n) name=$OPTARG ;;
	p) ports=$OPTARG ;;
	s) start=$OPTARG ;;
	D) daemon=$OPTARG ;;
	e) esp=$OPTARG ;;
	u) encap=$OPTARG ;;
	*) usage ;;
	esac
done
for v in "$confdir" "$local" "$remote" "$local_ts" "$remote_ts" "$psk"; do
	[ -n "$v" ] || usage
done
[ -n "$name" ] || name=$(echo "$remote" | tr '.:' '--')

# Values go into the templates literally; refuse what would break them.
addr='^[0-9A-Fa-f.:]+$'
nets='^[0-9A-Fa-f.:/,]+$'
echo "$local" | grep -Eq "$addr" || die "bad local address: $local"
echo "$remote" | grep -Eq "$addr" || die "bad remote address: $remote"
echo "$local_ts" | grep -Eq "$nets" || die "bad local subnets: $local_ts"
echo "$remote_ts" | grep -Eq "$nets" || die "bad remote subnets: $remote_ts"
[ -z "$lo_addr" ] || echo "$lo_addr" | grep -Eq "$addr" || die "bad local address for lo: $lo_addr"
echo "$name" | grep -Eq '^[a-z0-9-]+$' || die "bad name: $name"
echo "$ports" | grep -Eq '^[0-9]+,[0-9]+$' || die "bad ports: $ports (IKE,NATT)"
case $start in none | trap | start) ;; *) die "bad start action: $start" ;; esac
case $daemon in strongswan | libreswan) ;; *) die "bad daemon: $daemon" ;; esac
case $esp in libipsec | kernel) ;; *) die "bad ESP mode: $esp" ;; esac
case $encap in yes | no) ;; *) die "bad encapsulation: $encap (yes or no)" ;; esac
[ "$esp$encap" != libipsecno ] || die "kernel-libipsec only sends ESP in UDP (-u yes)"
[ "$daemon$esp" != libreswanlibipsec ] || die "libreswan needs kernel ESP (-e kernel)"
case $psk in *'"'* | *\\*) die 'PSK must not contain a double quote or a backslash' ;; esac
[ ${#psk} -ge 8 ] || die "PSK shorter than 8 characters"

mkdir -p "$confdir/conf.d"
confdir=$(cd "$confdir" && pwd)

# render TEMPLATE OUT: replaces @KEY@ by the environment's KEY, literally.
render() {
	awk 'match($0, /@[A-Z_]+@/) {
		out = ""
		while (match($0, /@[A-Z_]+@/)) {
			key = substr($0, RSTART + 1, RLENGTH - 2)
			out = out substr($0, 1, RSTART - 1) ENVIRON[key]
			$0 = substr($0, RSTART + RLENGTH)
		}
		$0 = out $0
	} { print }' "$1" >"$2.tmp"
	mv "$2.tmp" "$2"
}

export CONFDIR="$confdir" NAME="$name" LOCAL="$local" REMOTE="$remote"
export LOCAL_TS="$local_ts" REMOTE_TS="$remote_ts" PSK="$psk" START_ACTION="$start"
export IKE_PORT="${ports%,*}" NATT_PORT="${ports#*,}" ENCAP="$encap"
ESP_PLUGIN=''
[ "$esp" = kernel ] || ESP_PLUGIN=kernel-libipsec
export ESP_PLUGIN
export IKE_PROPOSALS="${IKE_PROPOSALS:-aes128-sha256-modp2048}"
export ESP_PROPOSALS="${ESP_PROPOSALS:-aes128-sha256-modp2048}"

umask 077
if [ -n "$lo_addr" ] && ! grep -qx "$lo_addr" "$confdir/lo-addresses" 2>/dev/null; then
	echo "$lo_addr" >>"$confdir/lo-addresses"
fi
if [ "$daemon" = libreswan ]; then
	[ "$IKE_PORT,$NATT_PORT" = 500,4500 ] || die "the libreswan lab speaks on ports 500 and 4500 only"
	# libreswan's encapsulation=no lets it pick raw ESP when there is no NAT.
	[ "$encap" = yes ] || export ENCAP=auto
	[ -f "$confdir/ipsec.conf" ] || render "$here/ipsec-setup.conf.in" "$confdir/ipsec.conf"
	sed -i "/^# conn $name begin/,/^# conn $name end/d" "$confdir/ipsec.conf"
	render "$here/ipsec-conn.conf.in" "$confdir/conn.tmp"
	cat "$confdir/conn.tmp" >>"$confdir/ipsec.conf" && rm -f "$confdir/conn.tmp"
	touch "$confdir/ipsec.secrets"
	sed -i "/^$local $remote : /d" "$confdir/ipsec.secrets"
	echo "$local $remote : PSK \"$psk\"" >>"$confdir/ipsec.secrets"
	echo "$confdir/ipsec.conf"
	exit 0
fi
render "$here/strongswan.conf.in" "$confdir/strongswan.conf"
render "$here/swanctl.conf.in" "$confdir/conf.d/$name.conf"
[ -f "$confdir/swanctl.conf" ] || printf '%s\n' \
	'# Every site of this gateway; site.sh writes one file per remote site.' \
	'include conf.d/*.conf' >"$confdir/swanctl.conf"
echo "$confdir/conf.d/$name.conf"
