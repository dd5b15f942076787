#!/usr/bin/env bash
# Fetch (and cache) a Debian kernel with sched_ext for the test VM.
#
# Usage: tests/vm/fetch-kernel.sh [SERIES]   print the path of its vmlinuz (last stdout line)
#        tests/vm/fetch-kernel.sh --list     print the series offered, the default first
#
# The newest package of SERIES is resolved from the suite's Packages index at
# fetch time, downloaded with a private apt configuration (own sources, state
# and cache under the cache dir; the machine's apt sources are never touched),
# unpacked, and checked for CONFIG_SCHED_CLASS_EXT=y.
#
# Cache: ${SCXTOP_VM_CACHE:-$HOME/.cache/scxtop-vm}
#   apt/<suite>/                      private apt state; index refreshed at most every 12 h
#   kernels/<series>/<version>/       vmlinuz, config, package (name and version)
# Env: SCXTOP_VM_MIRROR overrides the Debian mirror URI taken from the machine's apt sources.
set -euo pipefail

# Series offered: "SERIES SUITE", the first line is the default. Adding a series is a line.
SERIES_TABLE="
7.3 trixie-backports
7.2 sid
"
# The cloud flavour: small, and has everything a serial-console VM needs built in.
FLAVOUR=cloud-amd64
INDEX_MAX_AGE_MIN=720 # 12 h
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

log() { echo "$*" >&2; }
die() { echo "fetch-kernel: $*" >&2; exit 1; }

list_series() { awk 'NF { print $1 }' <<<"$SERIES_TABLE"; }

if [[ ${1:-} == --list ]]; then list_series; exit 0; fi
if [[ ${1:-} == -h || ${1:-} == --help ]]; then sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; fi
SERIES=${1:-$(list_series | head -n1)}
SUITE=$(awk -v s="$SERIES" '$1 == s { print $2 }' <<<"$SERIES_TABLE")
[[ -n $SUITE ]] || die "unknown kernel series '$SERIES' (offered: $(list_series | paste -sd' '))"

CACHE=${SCXTOP_VM_CACHE:-$HOME/.cache/scxtop-vm}
APTDIR=$CACHE/apt/$SUITE
KDIR=$CACHE/kernels/$SERIES
mkdir -p "$APTDIR/state/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/sources.list.d" "$APTDIR/preferences.d" "$KDIR"

# One fetch at a time per cache (parallel VM runs share it).
exec 9>"$CACHE/.lock"
flock 9

# The Debian mirror the machine itself uses (deb822 .sources or one-line sources.list);
# the security archive is a different tree, skip it.
mirror_uri() {
    if [[ -n ${SCXTOP_VM_MIRROR:-} ]]; then echo "$SCXTOP_VM_MIRROR"; return; fi
    local uri
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' |
        grep -v -- '-security' | head -n1 || true)
    if [[ -z $uri ]]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            sed -E 's/\[[^]]*\]//' | awk '$1 == "deb" && $3 !~ /-security/ { print $2 }' | head -n1 || true)
    fi
    [[ -n $uri ]] || die "cannot find a Debian mirror in the machine's apt sources; set SCXTOP_VM_MIRROR"
    echo "${uri%/}"
}

# Private apt: our sources, state, lists and cache; the machine's apt.conf.d still
# applies (proxies, mirror quirks such as a snapshot mirror's expired Valid-Until).
sources="Types: deb
URIs: $(mirror_uri)
Suites: $SUITE
Components: main
Targets: Packages
Signed-By: $KEYRING"
if [[ $sources != "$(cat "$APTDIR/sources.list.d/kernel.sources" 2>/dev/null)" ]]; then
    echo "$sources" >"$APTDIR/sources.list.d/kernel.sources"
    rm -f "$APTDIR/index-updated" # another mirror: the cached index says nothing about it
fi
: >"$APTDIR/status" # no installed packages: nothing here is ever installed
: >"$APTDIR/sources.list"
APT=(
    -o "Dir::Etc::sourcelist=$APTDIR/sources.list"
    -o "Dir::Etc::sourceparts=$APTDIR/sources.list.d"
    -o "Dir::Etc::preferences=$APTDIR/preferences"
    -o "Dir::Etc::preferencesparts=$APTDIR/preferences.d"
    -o "Dir::State=$APTDIR/state"
    -o "Dir::State::status=$APTDIR/status"
    -o "Dir::Cache=$APTDIR/cache"
    -o "APT::Architectures::=amd64"
    # The cache is usually under a private $HOME that apt's _apt user cannot enter.
    -o "APT::Sandbox::User=$(id -un)"
)

# Cached versions of this series, newest (by dpkg version order) last.
cached_versions() {
    local d
    for d in "$KDIR"/*/; do
        if [[ -f $d/vmlinuz && -f $d/package ]]; then basename "$d"; fi
    done | sort_versions
}
sort_versions() { # insertion sort with dpkg's comparison; lists are short
    local v out=() i
    while read -r v; do
        i=${#out[@]}
        while ((i > 0)) && dpkg --compare-versions "${out[i - 1]}" gt "$v"; do
            out[i]=${out[i - 1]}
            i=$((i - 1))
        done
        out[i]=$v
    done
    ((${#out[@]} == 0)) || printf '%s\n' "${out[@]}"
}
use_cached() { # VERSION MESSAGE-PREFIX
    log "kernel $SERIES: $2 $(cat "$KDIR/$1/package")"
    echo "$KDIR/$1/vmlinuz"
    exit 0
}
fallback_or_die() { # REASON
    local newest
    newest=$(cached_versions | tail -n1)
    [[ -n $newest ]] || die "$1, and no kernel $SERIES is cached"
    log "fetch-kernel: warning: $1; falling back to the newest cached kernel"
    use_cached "$newest" "using cached"
}

# Refresh the suite's index unless it is younger than 12 h.
stamp=$APTDIR/index-updated
if [[ -z $(find "$stamp" -mmin -"$INDEX_MAX_AGE_MIN" 2>/dev/null) ]]; then
    log "kernel $SERIES: refreshing the $SUITE package index"
    if apt-get "${APT[@]}" -q update --error-on=any </dev/null >"$APTDIR/update.log" 2>&1; then
        touch "$stamp"
    else
        sed 's/^/  apt: /' "$APTDIR/update.log" | tail -n5 >&2
        fallback_or_die "could not refresh the $SUITE index (offline?)"
    fi
fi

# Newest linux-binary-unsigned-<SERIES>.<patch>+debNN-<flavour> in the index (the
# ABI part of the name changes between uploads, so compare versions, not names).
# Reuse the answer while the index is unchanged: parsing sid's index takes ~1.5 s.
resolved=$KDIR/.resolved
if [[ -f $stamp && $resolved -nt $stamp ]]; then
    read -r PKG VERSION <"$resolved"
else
    PKG="" VERSION=""
    while read -r p v; do
        if [[ -z $VERSION ]] || dpkg --compare-versions "$v" gt "$VERSION"; then PKG=$p VERSION=$v; fi
    done < <(
        re="^linux-binary-unsigned-${SERIES//./\\.}\\.[0-9]+\\+deb[0-9]+-$FLAVOUR\$"
        mapfile -t names < <(apt-cache "${APT[@]}" pkgnames "linux-binary-unsigned-$SERIES." 2>/dev/null | grep -E "$re")
        ((${#names[@]} == 0)) || apt-cache "${APT[@]}" show "${names[@]}" 2>/dev/null |
            awk '/^Package: / { p = $2 } /^Version: / { print p, $2 }'
    )
    [[ -z $PKG ]] || echo "$PKG $VERSION" >"$resolved"
fi
[[ -n $PKG ]] || fallback_or_die "no linux-binary-unsigned-$SERIES.*-$FLAVOUR package in $SUITE"

if [[ -f $KDIR/$VERSION/vmlinuz ]]; then
    use_cached "$VERSION" "using cached"
fi

log "kernel $SERIES: downloading $PKG $VERSION"
work=$(mktemp -d "$KDIR/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The kernel config ships in linux-base-<abi> (same version), not beside vmlinuz.
BASE=linux-base-${PKG#linux-binary-unsigned-}
if ! (cd "$work" && apt-get "${APT[@]}" -q download "$PKG=$VERSION" "$BASE=$VERSION" </dev/null >"$work/download.log" 2>&1); then
    sed 's/^/  apt: /' "$work/download.log" | tail -n5 >&2
    fallback_or_die "could not download $PKG $VERSION"
fi
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
vmlinuz=$(find "$work/root" -path '*/usr/lib/modules/*/vmlinuz*' -type f | head -n1)
config=$(find "$work/root" -path '*/usr/lib/modules/*/config' -type f | head -n1)
[[ -n $vmlinuz ]] || die "no usr/lib/modules/*/vmlinuz* in $PKG $VERSION"
[[ -n $config ]] || die "no usr/lib/modules/*/config in $BASE $VERSION"
grep -qx 'CONFIG_SCHED_CLASS_EXT=y' "$config" ||
    die "$PKG $VERSION is built without CONFIG_SCHED_CLASS_EXT=y; refusing it"

# Publish atomically, then drop all but the two newest versions of this series
# (the previous one may still be about to boot in a parallel run).
mkdir "$work/k"
mv "$vmlinuz" "$work/k/vmlinuz"
mv "$config" "$work/k/config"
echo "$PKG $VERSION" >"$work/k/package"
mv "$work/k" "$KDIR/$VERSION"
cached_versions | head -n -2 | while read -r old; do rm -rf "${KDIR:?}/$old"; done
log "kernel $SERIES: cached $PKG $VERSION in $KDIR/$VERSION"
echo "$KDIR/$VERSION/vmlinuz"
