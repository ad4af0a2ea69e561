#!/bin/sh
# Runs a command as root inside Debian's own kernel under qemu (TCG), for
# what this machine's kernel cannot do (kernel ESP, libreswan's XFRM use).
# The guest sees the host's file system read-only over virtio-9p with a
# tmpfs overlay on top (so it can write anywhere, and nothing reaches the
# host), plus OUTDIR writable at the same path. One boot runs the whole
# command; its exit status is ours.
#
# usage: vm-run.sh [-c CACHE] [-o OUTDIR] [-t SECONDS] [-m MEGS] -- CMD [ARG...]
#   CACHE   kernel package and initramfs (default /var/cache/ipsec-steer-vm,
#           or $IPSEC_STEER_VM_CACHE); fetched with apt-get on first use
#   OUTDIR  writable in the guest at the same path (default: a new temp dir);
#           the guest's console log is kept there as console.log
#   SECONDS whole run, boot included (default 900)
#   MEGS    guest memory (default 1024)
# CMD runs with the caller's working directory and this environment's PATH;
# a few variables are passed on: CI, IPSEC_STEER*, VM_*.
# Exit: CMD's status; 125 when the VM could not be set up or did not say how
# CMD ended (timeout, panic); the reason is printed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
usage() { sed -n '2,20s/^# \{0,1\}//p' "$0" >&2; exit 2; }
die() { echo "vm-run.sh: $*" >&2; exit 125; }

cache=${IPSEC_STEER_VM_CACHE:-/var/cache/ipsec-steer-vm} out='' limit=900 mem=1024
while getopts c:o:t:m:h opt; do
	case $opt in
	c) cache=$OPTARG ;;
	o) out=$OPTARG ;;
	t) limit=$OPTARG ;;
	m) mem=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || usage
[ "$(id -u)" = 0 ] || die "must run as root (the guest mounts the host's root over 9p as root)"

for tool in qemu-system-x86_64:qemu-system-x86 busybox:busybox-static cpio:cpio depmod:kmod apt-get:apt dpkg:dpkg; do
	command -v "${tool%%:*}" >/dev/null 2>&1 ||
		die "${tool%%:*} missing: install Debian's ${tool#*:} (make deps does)"
done
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
[ -n "$out" ] || out=$(mktemp -d /tmp/vm-out.XXXXXX)
mkdir -p "$out"
out=$(cd "$out" && pwd)

. "$here/kernel.sh"
kver=$(fetch_kernel "$cache") || die "cannot get Debian's kernel (see above)"
initrd=$(build_initramfs "$cache" "$kver" "$here/initramfs-init") || die "cannot build the initramfs"

# What the guest runs: guest-init.sh sources this after setting up.
job=$out/.vm
rm -rf "$job"
mkdir -p "$job"
{
	echo "cd $(pwd | sed "s/'/'\\\\''/g; s/^/'/; s/\$/'/")"
	echo "export PATH='$PATH'"
	env | grep -E '^(CI|IPSEC_STEER[A-Z_]*|VM_[A-Z_]*)=' | sed "s/'/'\\\\''/g; s/=/='/; s/\$/'/; s/^/export /" || true
	printf 'exec'
	for a in "$@"; do printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"; done
	echo
} >"$job/cmd"

start=$(date +%s)
set +e
timeout --foreground -k 5 "$limit" qemu-system-x86_64 \
	-accel tcg,thread=multi,tb-size=128 -cpu max -smp 1 -m "$mem" \
	-kernel "$cache/root/boot/vmlinuz-$kver" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 quiet loglevel=3 steer.kver=$kver steer.out=$out steer.cache=$cache steer.init=$here/guest-init.sh" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap" \
	-display none -monitor none -serial stdio -nic none -no-reboot </dev/null 2>&1 | tee "$out/console.log"
set -e
echo "vm-run.sh: guest ran $(($(date +%s) - start)) s" >&2
[ -f "$job/rc" ] || die "the guest did not report an exit status (timeout after ${limit}s, panic or crash; see $out/console.log)"
rc=$(cat "$job/rc")
echo "vm-run.sh: command exited $rc" >&2
exit "$rc"
