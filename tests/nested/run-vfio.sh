#!/bin/bash
# run-vfio.sh [run-nested.sh options] SCRIPT: run-nested.sh with the VFIO bench's L0 devices:
# QEMU's Intel IOMMU (interrupt remapping on), its edu device with a 64-bit DMA mask, and an
# NVMe controller on a 16 MiB image of random data made here; the image's sha256 reaches SCRIPT
# as NVME_SHA. The image lives in this run's own temporary directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cellvm-vfio.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
head -c 16M /dev/urandom >"$tmp/nvme.img"
sha=$(sha256sum "$tmp/nvme.img" | cut -d' ' -f1)
set +e
bash "$here/run-nested.sh" --env "NVME_SHA=$sha" \
	--qemu-arg -device --qemu-arg intel-iommu,intremap=on \
	--qemu-arg -device --qemu-arg edu,dma_mask=0xffffffffffffffff \
	--qemu-arg -drive --qemu-arg "if=none,id=nv,file=$tmp/nvme.img,format=raw" \
	--qemu-arg -device --qemu-arg nvme,drive=nv,serial=CELLVMNV "$@"
