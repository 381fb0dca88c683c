#!/bin/bash
# One command from a fresh Debian 12 machine to a running VM: installs every Debian package the
# project needs, builds cellvm, builds the test guest images (from Debian packages only) and boots
# the demo VM. With CI=true the demo is skipped. Re-running it is cheap: images are cached.
set -euo pipefail
cd "$(dirname "$0")"

# Build and test dependencies. The guest-image builder lists its own in tests/guest/apt-packages.
packages=(
    build-essential meson ninja-build pkg-config clang clang-format
    libseccomp-dev libcap-ng-dev libevent-dev libprotobuf-c-dev protobuf-c-compiler
    liburing-dev libcriterion-dev zlib1g-dev libzstd-dev libjson-c-dev
    acpica-tools qemu-system-x86 qemu-utils iproute2 kmod util-linux procps bc fio cpio python3 python3-yaml
    dmidecode
)
if [ -f tests/guest/apt-packages ]; then
    mapfile -t -O "${#packages[@]}" packages < <(grep -vE '^\s*(#|$)' tests/guest/apt-packages)
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

echo "==> installing Debian packages"
as_root apt-get update -q
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${packages[@]}"

echo "==> building"
if [ -d build ]; then
    meson setup --reconfigure build
else
    meson setup build
fi
ninja -C build

echo "==> building the guest images"
tests/guest/build-images.sh build/tests/nested/images

if [ "${CI:-}" = "true" ]; then
    echo "==> CI=true: demo VM skipped"
    exit 0
fi
echo "==> demo VM"
exec tests/nested/demo.sh --auto
