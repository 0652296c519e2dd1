; Handlers for a ring-0 code segment whose base is 0x1000 (GDT 0x38, set up by corners.c). Its
; gates hold offsets relative to that base, so they name based_right - 0x1000: the hardware
; runs based_right. A CPU that filled CS's descriptor cache from another descriptor (the flat
; ring-0 stack's, base 0) runs what sits 0x1000 lower, based_wrong, which says so.
bits 32
global based_wrong, based_right, based_seen, based_seen_cs

section .text
    align 4096
based_wrong:
.int:                               ; reached through an interrupt gate: back with IRET
    mov dword [based_seen], 2
    iretd
    align 32
.call:                              ; reached through a call gate: back with RET far
    mov dword [based_seen], 2
    retf
    align 4096
based_right:
.int:
    mov dword [based_seen], 1
    mov [based_seen_cs], cs
    iretd
    align 32
.call:
    mov dword [based_seen], 1
    mov [based_seen_cs], cs
    retf

section .bss
    alignb 4
based_seen: resd 1
based_seen_cs: resd 1
