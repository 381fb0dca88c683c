# shellcheck shell=bash
# Helpers for build-images.sh (sourced, bash): Debian package fetching, kernel module resolution,
# copying host binaries with their libraries, cpio archives.  Each function dies with a message
# naming what it could not do, since a failed image build is read by someone running a test.

die() {
	echo "build-images: $*" >&2
	exit 1
}
note() { echo "build-images: $*" >&2; }

APT_UPDATED=0
# Debian's container images switch apt's binary package cache off, which costs a second for
# every apt-cache call; keeping one in the download cache makes a cached rebuild fast.  Callers
# set APT_CACHE_DIR before the first apt call.
apt_opts() {
	echo "-o Dir::Cache::pkgcache=$APT_CACHE_DIR/apt-pkgcache.bin -o Dir::Cache::srcpkgcache=$APT_CACHE_DIR/apt-srcpkgcache.bin"
}

# apt_show PKG: apt's record of PKG's candidate version, empty if apt does not know PKG.
apt_show() {
	mkdir -p "$APT_CACHE_DIR"
	# shellcheck disable=SC2046 # options are words
	apt-cache $(apt_opts) show --no-all-versions "$1" 2>/dev/null
}

# deb_resolve PKG: prints "NAME VERSION" of what installing PKG would bring.  A kernel
# metapackage (linux-image-cloud-amd64) is followed to the versioned linux-image-* package it
# depends on, since only that one holds files.  Runs `apt-get update` once (as root) when the
# package lists do not know the package, as on a fresh machine.
deb_resolve() {
	local pkg=$1 info ver dep
	info=$(apt_show "$pkg")
	if [ -z "$info" ] && [ "$APT_UPDATED" = 0 ] && [ "$(id -u)" = 0 ]; then
		note "apt does not know $pkg, running apt-get update"
		# shellcheck disable=SC2046
		apt-get $(apt_opts) update -qq >&2 || die "apt-get update failed"
		APT_UPDATED=1
		info=$(apt_show "$pkg")
	fi
	ver=$(echo "$info" | sed -n 's/^Version: //p' | head -n 1)
	[ -n "$ver" ] || die "apt has no package $pkg (run apt-get update?)"
	case "$pkg" in
	linux-image-[0-9]*) ;;
	linux-image-*)
		dep=$(echo "$info" | sed -n 's/^Depends: //p' | head -n 1 | tr ',' '\n' |
			sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
		[ -n "$dep" ] || die "metapackage $pkg depends on no versioned linux-image package"
		deb_resolve "$dep"
		return
		;;
	esac
	echo "$pkg $ver"
}

# deb_fetch CACHE NAME VERSION: path of NAME_VERSION's .deb in CACHE, downloading it if absent.
# The file name escapes the epoch colon, so the cached file is matched by its control fields.
deb_fetch() {
	local cache=$1 name=$2 ver=$3 f
	mkdir -p "$cache"
	for f in "$cache/${name}"_*.deb; do
		[ -e "$f" ] || continue
		if [ "$(dpkg-deb -f "$f" Package)" = "$name" ] && [ "$(dpkg-deb -f "$f" Version)" = "$ver" ]; then
			echo "$f"
			return
		fi
	done
	note "downloading $name=$ver"
	# Sandbox user root: _apt cannot write into a cache under root's build directory.
	# shellcheck disable=SC2046
	(cd "$cache" && apt-get $(apt_opts) download -q -o APT::Sandbox::User=root "$name=$ver" >&2) ||
		die "apt-get download $name=$ver failed"
	for f in "$cache/${name}"_*.deb; do
		[ "$(dpkg-deb -f "$f" Version)" = "$ver" ] && echo "$f" && return
	done
	die "downloaded $name=$ver but cannot find its .deb in $cache"
}

# kernel_tree DEB DIR: extracts a linux-image .deb into DIR, runs depmod (the package's
# modules.dep is written at install time, not shipped) and prints the kernel release.
kernel_tree() {
	local deb=$1 dir=$2 rel
	dpkg-deb -x "$deb" "$dir" || die "cannot extract $deb"
	rel=$(ls "$dir/lib/modules")
	if [ -z "$rel" ] || [ "$(echo "$rel" | wc -l)" -ne 1 ]; then
		die "$deb: expected one kernel release in lib/modules"
	fi
	depmod -b "$dir" "$rel" || die "depmod failed for $rel"
	echo "$rel"
}

# mods_order MODDIR NAME...: the modules NAME need, dependencies first, each once, as paths
# relative to MODDIR.  Names compare with '-' and '_' equal, as modprobe does.  A module that is
# built into the kernel (modules.builtin) is skipped; one that is neither is an error.
mods_order() {
	local dir=$1
	shift
	awk -v want="$*" '
	function norm(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p); return p }
	FILENAME ~ /modules\.builtin$/ { builtin[norm($1)] = 1; next }
	{
		sub(/:$/, "", $1)
		m = norm($1); path[m] = $1; ndeps[m] = NF - 1
		for (i = 2; i <= NF; i++) dep[m, i - 1] = norm($i)
	}
	# modules.dep lists every (transitive) dependency; load each before the module itself.
	function visit(m,    i) {
		if (m in done) return
		done[m] = 1
		for (i = ndeps[m]; i >= 1; i--) visit(dep[m, i])
		print path[m]
	}
	END {
		n = split(want, w, " ")
		for (k = 1; k <= n; k++) {
			m = norm(w[k])
			if (m in path) visit(m)
			else if (!(m in builtin)) { print "no module " w[k] > "/dev/stderr"; exit 1 }
		}
	}' "$dir/modules.builtin" "$dir/modules.dep" || die "cannot resolve modules: $*"
}

# install_mods MODDIR ROOT NAME...: copies the modules NAME need into ROOT/lib/modules as flat,
# uncompressed NAME.ko files and writes the load order to ROOT/etc/cellvm-modules.  Busybox
# insmod reads plain ELF only, so compressed modules are unpacked here.
install_mods() {
	local dir=$1 root=$2 rel base
	shift 2
	mkdir -p "$root/lib/modules" "$root/etc"
	: >"$root/etc/cellvm-modules"
	for rel in $(mods_order "$dir" "$@"); do
		base=${rel##*/}
		base=${base%%.ko*}
		case "$rel" in
		*.ko) cp "$dir/$rel" "$root/lib/modules/$base.ko" ;;
		*.ko.xz) xz -dc "$dir/$rel" >"$root/lib/modules/$base.ko" ;;
		*.ko.zst) zstd -qdc "$dir/$rel" >"$root/lib/modules/$base.ko" ;;
		*.ko.gz) gzip -dc "$dir/$rel" >"$root/lib/modules/$base.ko" ;;
		*) die "unknown module format: $rel" ;;
		esac || die "cannot unpack $rel"
		echo "$base" >>"$root/etc/cellvm-modules"
	done
}

# install_busybox DEB ROOT: busybox-static from its .deb at ROOT/bin/busybox, with a symlink per
# applet.  The applet list contains busybox itself, which must not become a link to itself.
install_busybox() {
	local deb=$1 root=$2 tmp applet
	tmp=$(mktemp -d)
	dpkg-deb -x "$deb" "$tmp" || die "cannot extract $deb"
	mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin"
	cp "$tmp/bin/busybox" "$root/bin/busybox"
	rm -rf "$tmp"
	for applet in $("$root/bin/busybox" --list-full); do
		[ "$applet" != bin/busybox ] || continue
		[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
	done
}

# host_libs FILE...: the shared libraries (and the dynamic loader) FILE needs on this host.
host_libs() {
	# "lib => /path (addr)" lines, and the loader's "/path (addr)"; not the "FILE:" headers that
	# ldd prints when given several files.
	ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' | sort -u
}

# copy_host ROOT FILE [DEST]: copies FILE (symlinks followed) to ROOT/DEST, DEST defaulting to
# FILE's own path, and the libraries it needs to their host paths.
copy_host() {
	local root=$1 file=$2 dest=${3:-$2} lib
	mkdir -p "$root/$(dirname "$dest")"
	# DEST may be a busybox applet link: replace the link, never write through it.
	rm -f "$root/$dest"
	cp -L "$file" "$root/$dest" || die "cannot copy $file"
	for lib in $(host_libs "$file"); do
		[ -e "$root/$lib" ] && continue
		mkdir -p "$root/$(dirname "$lib")"
		cp -L "$lib" "$root/$lib" || die "cannot copy $lib"
	done
}

# mkcpio DIR OUT gzip|lz4: a compressed newc archive of DIR owned by root, as the kernel unpacks
# it.  lz4 means the legacy frame, the only LZ4 format the kernel's initramfs unpacker reads.
mkcpio() {
	local z
	case "$3" in
	gzip) z="gzip -n -6" ;;
	lz4) z="lz4 -l -q -c" ;;
	*) die "mkcpio: unknown compression $3" ;;
	esac
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
		$z >"$2.tmp" || die "cannot write $2"
	mv "$2.tmp" "$2"
}
