#!/usr/bin/env bash
# Install the host packages the VM harness (tests/vm/*.sh) needs, on Debian 12
# or newer. Idempotent: prints nothing and touches nothing when everything is
# already installed. Safe without a terminal or stdin (CI).
#
# Usage: tests/vm/install-deps.sh        (as root, or with sudo available)
set -euo pipefail

# What each package is for:
#   qemu-system-x86         qemu-system-x86_64 to boot the test kernel (TCG)
#   busybox-static          the guest userland (one static binary)
#   cpio                    packs the initramfs
#   binutils                strip, to shrink binaries copied into the guest
#   debian-archive-keyring  verifies the kernel package indices we download
#   ca-certificates         in case the machine's apt mirror is https
PKGS=(qemu-system-x86 busybox-static cpio binutils debian-archive-keyring ca-certificates)

# shellcheck source=scripts/apt-lib.sh
source "$(dirname "$0")/../../scripts/apt-lib.sh"
apt_install "${PKGS[@]}"
