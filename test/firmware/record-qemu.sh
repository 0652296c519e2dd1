#!/bin/sh
# Records what QEMU prints for the firmware tests, the goldens those tests compare with:
#
#   test/guests/reset-rom/qemu.txt   reset.asm's report of the RESET state under qemu-system-i386
#   test/firmware/seabios-qemu.txt   Debian's SeaBIOS log (its debug console, port 0x402)
#
# SeaBIOS runs on QEMU's "isapc" board, the PC without PCI that vmi386's is (no i440FX, so
# SeaBIOS runs from the writable low alias and finds no PCI devices), with a COM1, with a P6
# CPU that has a TSC (isapc's default is a 486, which has none, and SeaBIOS then skips its
# "CPU Mhz" calibration), and with fw_cfg's DMA interface off, as vmi386 offers none. QEMU never stops SeaBIOS by itself (after
# "No bootable device." it waits for a key forever): it is killed after a few seconds.
#
# Needs nasm, qemu-system-x86 and seabios (Debian packages). Run from anywhere.
set -eu
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

nasm -f bin -o "$scratch/reset.bin" guests/reset-rom/reset.asm
# isa-debug-exit ends the run: QEMU's status is then 1 (the ROM writes 0).
qemu-system-i386 -nodefaults -display none -monitor none -bios "$scratch/reset.bin" \
  -debugcon "file:guests/reset-rom/qemu.txt" -device isa-debug-exit,iobase=0xf4 || [ $? = 1 ]

timeout 10 qemu-system-i386 -M isapc -cpu pentium2,-apic -nodefaults -display none -monitor none -m 128 -serial null \
  -global fw_cfg_io.dma_enabled=false -bios /usr/share/seabios/bios.bin \
  -debugcon "file:firmware/seabios-qemu.txt" -global isa-debugcon.iobase=0x402 || [ $? = 124 ]
