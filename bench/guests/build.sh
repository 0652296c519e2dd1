#!/bin/sh
# Builds the benchmark's own guests (flat multiboot binaries) from their nasm sources.
# The binaries are committed beside the sources so `npm run bench` needs no assembler.
set -eu
cd "$(dirname "$0")"
NASM=${NASM:-nasm}
for src in *.asm; do
  "$NASM" -f bin -o "${src%.asm}.bin" "$src"
done
