# shellcheck shell=bash
# Debian package installation for every script that needs packages. Source it,
# then call apt_install PKG...; it never reads stdin, so it works in CI (root,
# CI=true, no terminal) as well as for a developer with sudo.
#
# apt_install PKG...
#   Installs those of PKG... that dpkg does not list as installed; does nothing,
#   quietly, when all are there. The package lists are refreshed only when they
#   are absent (a fresh image) or when an install from them fails (they are
#   stale): an update is slow and needs the network, and most runs need none.
#   Then the install is tried once more. Returns non-zero, after one line
#   saying what to do, when it cannot install.

# Prints those of PKG... that are not installed, one a line.
apt_missing() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        [[ $status == ii* ]] || printf '%s\n' "$p"
    done
}

apt_install() {
    local who=${0##*/} missing=()
    mapfile -t missing < <(apt_missing "$@")
    ((${#missing[@]})) || return 0

    local sudo=()
    if ((EUID != 0)); then
        if ! command -v sudo >/dev/null; then
            echo "$who: run as root (or install sudo) to install: ${missing[*]}" >&2
            return 1
        fi
        sudo=(sudo)
    fi
    # Through env: sudo resets the environment, and apt's prompts (debconf
    # questions, a held lock) must not wait for an answer that never comes.
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300)

    echo "$who: installing ${missing[*]}" >&2
    # --no-install-recommends: recommends such as qemu's (GUI, firmware, block
    # drivers) are not needed by anything here.
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null ||
        ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >&2; then
        if ! "${apt[@]}" update </dev/null >&2; then
            echo "$who: apt-get update failed: check the machine's apt sources and network, then run this again" >&2
            return 1
        fi
        if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null >&2; then
            echo "$who: cannot install ${missing[*]} even with fresh package lists: see apt-get's message above" >&2
            return 1
        fi
    fi
}
