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

missing=()
for p in "${PKGS[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ $status == ii* ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

SUDO=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}" >&2

apt_install() {
    # Recommends of qemu (GUI, OVMF, block drivers, ...) are not needed here.
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2
}

# Only refresh the machine's package lists when they are missing (fresh image)
# or when the install fails because they are stale.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    "${SUDO[@]}" apt-get update -q </dev/null >&2
    apt_install
elif ! apt_install; then
    "${SUDO[@]}" apt-get update -q </dev/null >&2
    apt_install
fi
