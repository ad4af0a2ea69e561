# Sourced by vm-run.sh: Debian's kernel for the guest, and its initramfs.

# Modules the initramfs loads to reach the host's root (the rest come from
# the full module tree once it is mounted).
INITRAMFS_MODULES="virtio_pci 9pnet_virtio 9p overlay"

# fetch_kernel CACHE: the package linux-image-amd64 depends on, downloaded
# and unpacked into CACHE/root (modules indexed with depmod). Prints the
# kernel release. Reuses what is there when it is the same package.
fetch_kernel() {
	c=$1
	pkg=$(kernel_package) || return 1
	if [ ! -f "$c/root/.package" ] || [ "$(cat "$c/root/.package")" != "$pkg" ]; then
		echo "vm-run.sh: fetching $pkg into $c" >&2
		rm -rf "$c/deb" "$c/root.new"
		mkdir -p "$c/deb" "$c/root.new"
		(cd "$c/deb" && apt-get download "$pkg" >&2) ||
			{ echo "apt-get download $pkg failed" >&2; return 1; }
		dpkg -x "$c"/deb/*.deb "$c/root.new" || return 1
		kv=$(ls "$c/root.new/lib/modules")
		depmod -b "$c/root.new" "$kv" || return 1
		echo "$pkg" >"$c/root.new/.package"
		rm -rf "$c/root" "$c/deb" && mv "$c/root.new" "$c/root"
	fi
	ls "$c/root/lib/modules"
}

# The kernel image package of Debian's default flavour (apt lists are
# refreshed once when they do not know it).
kernel_package() {
	p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
	if [ -z "$p" ]; then
		apt-get update >&2 || true
		p=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
	fi
	[ -n "$p" ] || { echo "no linux-image-amd64 in apt's lists" >&2; return 1; }
	echo "$p"
}

# build_initramfs CACHE KVER INIT: busybox, INIT as /init, and the modules
# (in load order, listed in /modules) that mount the host's root. Prints
# its path; rebuilt when INIT or busybox changed.
build_initramfs() {
	c=$1 kv=$2 init=$3
	img=$c/initramfs-$kv.cpio.gz
	if [ -f "$img" ] && [ "$img" -nt "$init" ] && [ "$img" -nt "$(command -v busybox)" ]; then
		echo "$img"
		return 0
	fi
	d=$(mktemp -d)
	mkdir -p "$d/bin" "$d/mnt" "$d/proc" "$d/sys" "$d/dev" "$d/lib/modules"
	cp "$(command -v busybox)" "$d/bin/busybox"
	cp "$init" "$d/init"
	chmod 755 "$d/init"
	for m in $INITRAMFS_MODULES; do
		modprobe -d "$c/root" -S "$kv" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
	done | awk '!seen[$0]++' | while read -r ko; do
		cp "$ko" "$d/lib/modules/"
		echo "/lib/modules/$(basename "$ko")" >>"$d/modules"
	done
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$img.tmp" || { rm -rf "$d"; return 1; }
	rm -rf "$d"
	mv "$img.tmp" "$img"
	echo "$img"
}
