#!/bin/sh
# Downloads Debian bookworm's i386 kernel (686, non-PAE) and busybox-static with apt, into a
# private apt tree under the cache folder (the system's apt configuration and state are not
# touched, and root is not needed), and extracts the two files the Linux boot test needs:
#
#   $CACHE/vmlinuz   the kernel, as Debian ships it (a bzImage)
#   $CACHE/busybox   the statically linked busybox (i386)
#   $CACHE/version   the kernel's package version and release, for logs
#
# Idempotent: does nothing when both files are there. CACHE defaults to .cache/debian in the
# repository; the first argument overrides it. Nothing fetched here is ever committed.
set -eu
cd "$(dirname "$0")/.."
CACHE=${1:-.cache/debian}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)

if [ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/busybox" ]; then
  echo "fetch-debian: cached in $CACHE ($(cat "$CACHE/version" 2>/dev/null || echo '?'))"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "fetch-debian: needs $tool (Debian's apt and dpkg)" >&2; exit 1; }
done
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$KEYRING" ] || { echo "fetch-debian: needs $KEYRING (package debian-archive-keyring)" >&2; exit 1; }

# The Debian mirror: $DEBIAN_MIRROR, else the one this machine's apt uses for bookworm (its
# deb822 debian.sources or its sources.list), so a local mirror or proxy setup is respected.
mirror_from_system() {
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      /(^|\n)Suites:[^\n]*bookworm([ \t]|\n|$)/ {
        for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); print u[1]; exit }
      }' "$f"
  done
  [ -r /etc/apt/sources.list ] && awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($(i + 1) == "bookworm") print $i; break } }' /etc/apt/sources.list
}
MIRROR=${DEBIAN_MIRROR:-$(mirror_from_system | head -n 1)}
[ -n "$MIRROR" ] || { echo "fetch-debian: no Debian bookworm mirror in this machine's apt sources: set DEBIAN_MIRROR" >&2; exit 1; }
# The system's apt proxy, if any (the private configuration below does not read the system's).
eval "$(apt-config shell HTTP_PROXY Acquire::http::Proxy HTTPS_PROXY Acquire::https::Proxy)"

# The kernel comes from the point release (bookworm, bookworm-updates), not bookworm-security:
# a point-release kernel changes a few times a year, which keeps test runs comparable.
#
# A private apt root: its own sources, lists, archive cache and an empty dpkg status, so apt
# resolves bookworm/i386 as if on a fresh i386 system.
APT="$CACHE/apt"
mkdir -p "$APT/etc/apt/apt.conf.d" "$APT/etc/apt/preferences.d" "$APT/etc/apt/sources.list.d" \
  "$APT/var/lib/apt/lists/partial" "$APT/var/cache/apt/archives/partial" "$APT/var/lib/dpkg" "$APT/debs"
: > "$APT/var/lib/dpkg/status"
cat > "$APT/etc/apt/sources.list" <<SOURCES
deb [arch=i386 signed-by=$KEYRING] $MIRROR bookworm main
deb [arch=i386 signed-by=$KEYRING] $MIRROR bookworm-updates main
SOURCES
cat > "$APT/apt.conf" <<CONF
Dir "$APT/";
Dir::State::status "$APT/var/lib/dpkg/status";
Dir::Etc::main "$APT/apt.conf";
Dir::Etc::Parts "$APT/etc/apt/apt.conf.d";
Dir::Etc::sourcelist "$APT/etc/apt/sources.list";
Dir::Etc::sourceparts "$APT/etc/apt/sources.list.d";
Dir::Etc::preferences "$APT/etc/apt/preferences";
Dir::Etc::preferencesparts "$APT/etc/apt/preferences.d";
Dir::Cache "$APT/var/cache/apt";
APT::Architecture "i386";
APT::Architectures { "i386"; };
APT::Sandbox::User "";
Acquire::Languages "none";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
CONF
[ -n "${HTTP_PROXY:-}" ] && echo "Acquire::http::Proxy \"$HTTP_PROXY\";" >> "$APT/apt.conf"
[ -n "${HTTPS_PROXY:-}" ] && echo "Acquire::https::Proxy \"$HTTPS_PROXY\";" >> "$APT/apt.conf"
export APT_CONFIG="$APT/apt.conf"

echo "fetch-debian: apt-get update (bookworm, i386)"
apt-get -q --error-on=any update >/dev/null || { echo "fetch-debian: apt-get update failed (is the mirror $MIRROR reachable?)" >&2; exit 1; }

# linux-image-686 is the metapackage for the current 686 (non-PAE) kernel: its dependency
# names the versioned image package, linux-image-6.1.0-NN-686.
IMAGE=$(apt-cache depends linux-image-686 | sed -n 's/^ *Depends: \(linux-image-6\.1[^ ]*-686\)$/\1/p' | head -n 1)
[ -n "$IMAGE" ] || { echo "fetch-debian: could not resolve linux-image-686's kernel package" >&2; exit 1; }
echo "fetch-debian: downloading $IMAGE and busybox-static"
(cd "$APT/debs" && rm -f ./*.deb && apt-get -q download "$IMAGE" busybox-static >/dev/null)

EXTRACT="$APT/extract"
rm -rf "$EXTRACT" && mkdir -p "$EXTRACT"
for deb in "$APT"/debs/*.deb; do dpkg-deb -x "$deb" "$EXTRACT"; done
KFILE=$(ls "$EXTRACT"/boot/vmlinuz-* | head -n 1)
cp "$EXTRACT/bin/busybox" "$CACHE/busybox.tmp" && chmod 755 "$CACHE/busybox.tmp"
cp "$KFILE" "$CACHE/vmlinuz.tmp"
KVER=$(apt-cache show "$IMAGE" | sed -n 's/^Version: //p' | head -n 1)
BVER=$(apt-cache show busybox-static | sed -n 's/^Version: //p' | head -n 1)
printf '%s %s (%s); busybox-static %s\n' "$IMAGE" "$KVER" "$(basename "$KFILE" | sed 's/^vmlinuz-//')" "$BVER" > "$CACHE/version"
mv "$CACHE/busybox.tmp" "$CACHE/busybox"
mv "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
rm -rf "$EXTRACT" "$APT/debs"
echo "fetch-debian: $(cat "$CACHE/version")"
