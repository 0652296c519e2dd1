; io-loop: the exits-per-second micro-guest for `npm run bench`.
;
; A multiboot v1 kernel in the a.out-kludge form (flags bit 16: the header gives the load
; addresses, so a flat binary needs no ELF and no linker). It does ITERATIONS rounds of one
; OUT to the POST port 0x80 and one IN from the CMOS data port 0x71, then writes 0 to the
; isa-debug-exit port 0xF4. Each port access leaves the emulator's core for a host device
; handler, so the run measures that round trip: 2 * ITERATIONS + 1 accesses, 4 instructions
; per round, nothing else (no serial output, interrupts stay off).
;
; Build: sh bench/guests/build.sh (nasm -f bin); the binary is committed beside this file.

bits 32

LOAD_ADDR     equ 0x100000            ; 1 MiB, where multiboot kernels conventionally load
MB_MAGIC      equ 0x1BADB002
MB_AOUT_KLUDGE equ 1 << 16
MB_FLAGS      equ MB_AOUT_KLUDGE
ITERATIONS    equ 1000000
PORT_POST     equ 0x80
PORT_CMOS_DATA equ 0x71
PORT_DEBUG_EXIT equ 0xF4

org LOAD_ADDR

header:                               ; multiboot spec 3.1.1: within the first 8 KiB, 4-aligned
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd header                         ; header_addr
    dd LOAD_ADDR                      ; load_addr: the file's first byte
    dd image_end                      ; load_end_addr
    dd image_end                      ; bss_end_addr: no bss
    dd entry                          ; entry_addr

entry:
    mov ecx, ITERATIONS
.round:
    out PORT_POST, al
    in al, PORT_CMOS_DATA
    dec ecx
    jnz .round

    xor eax, eax
    out PORT_DEBUG_EXIT, al           ; guest code 0: vmi386 and QEMU report exit status 1
.stop:
    cli
    hlt
    jmp .stop

image_end:
