#!/bin/sh
# Builds the system-level fuzz harness (harness.asm) into harness.elf (committed), reproducibly:
# nasm 2.16 and binutils 2.40 (Debian bookworm); the guests' linker script (loaded at 1 MiB,
# multiboot header first).
#
#   build.sh          build harness.elf
#   build.sh check    rebuild into a scratch directory and compare with the committed binary
set -eu
cd "$(dirname "$0")"
export LC_ALL=C SOURCE_DATE_EPOCH=0
NASM=${NASM:-nasm}
LD=${LD:-ld}

build() { # output.elf scratch-dir
  $NASM -f elf32 -o "$2/harness.o" harness.asm
  $LD -m elf_i386 -T ../guests/lib/linker.ld --build-id=none -z noexecstack -z max-page-size=0x1000 \
    -nostdlib -o "$1" "$2/harness.o"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case ${1:-build} in
  build) build harness.elf "$tmp" && echo "built harness.elf" ;;
  check)
    build "$tmp/harness.elf" "$tmp"
    if cmp -s harness.elf "$tmp/harness.elf"; then echo "same: harness.elf"; else echo "DIFFERS: harness.elf"; exit 1; fi
    ;;
  *) echo "usage: build.sh [build|check]" >&2; exit 2 ;;
esac
