#!/bin/sh
# Builds the test initramfs from the busybox that scripts/fetch-debian.sh fetched:
#   $CACHE/initramfs.cpio   an uncompressed newc cpio archive (the kernel unpacks it without
#                           spending guest time on decompression) holding /init
#                           (scripts/initramfs/init) and /bin/busybox; the applet links are
#                           made by /init at boot.
# The archive is reproducible: fixed owners and times, entries in sorted order. Needs GNU cpio
# (Debian package cpio). CACHE defaults to .cache/debian; the first argument overrides it.
set -eu
cd "$(dirname "$0")/.."
CACHE=${1:-.cache/debian}
command -v cpio >/dev/null || { echo "build-initramfs: needs cpio (Debian package cpio)" >&2; exit 1; }
[ -s "$CACHE/busybox" ] || { echo "build-initramfs: no $CACHE/busybox: run scripts/fetch-debian.sh first" >&2; exit 1; }

STAGE="$CACHE/initramfs.d"
rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/dev" "$STAGE/proc" "$STAGE/sys" "$STAGE/tmp" "$STAGE/root"
cp "$CACHE/busybox" "$STAGE/bin/busybox"
cp scripts/initramfs/init "$STAGE/init"
chmod 755 "$STAGE/init" "$STAGE/bin/busybox"
find "$STAGE" -exec touch -h -d @0 {} +
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) > "$CACHE/initramfs.cpio.tmp"
mv "$CACHE/initramfs.cpio.tmp" "$CACHE/initramfs.cpio"
rm -rf "$STAGE"
echo "build-initramfs: $CACHE/initramfs.cpio ($(wc -c < "$CACHE/initramfs.cpio") bytes)"
