#!/usr/bin/env bash
# Installs what scxtop needs on Debian 12 (bookworm) or newer, as root (or
# with sudo available).
#
# Usage: scripts/install-deps.sh          build and run dependencies
#        scripts/install-deps.sh --test   the same plus what the tests need
#                                         (the qemu VM harness)
#
# Idempotent and quiet when everything is there; works without stdin (CI).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/apt-lib.sh
source scripts/apt-lib.sh

# What each package is for:
#   clang-19         compiles the BPF programs (scx headers need clang >= 18;
#                    bookworm's default clang is 14)
#   libclang-19-dev  bindgen in scx_utils' build script loads libclang
#   libelf-dev, zlib1g-dev, pkg-config, make
#                    libbpf-sys builds the libbpf it links statically
#   util-linux       setpriv, used by the privilege tests
PKGS=(clang-19 libclang-19-dev libelf-dev zlib1g-dev pkg-config make util-linux)

apt_install "${PKGS[@]}"

# Rust: the crates need rustc >= 1.91, newer than Debian 12 ships.
if ! command -v cargo >/dev/null && [[ -x $HOME/.cargo/bin/cargo ]]; then
    export PATH=$HOME/.cargo/bin:$PATH
fi
if ! command -v cargo >/dev/null; then
    echo "install-deps: no cargo on PATH: install Rust >= 1.91 with rustup, then run this again" >&2
    exit 1
fi

if [[ ${1:-} == --test ]]; then
    tests/vm/install-deps.sh
    # The end-to-end tests drive the live view inside tmux; one built from
    # source will do, so look for the command, not the package.
    command -v tmux >/dev/null || apt_install tmux
fi
