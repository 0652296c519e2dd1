; A 64 KiB firmware image that reports the CPU's RESET state (Intel SDM Vol. 3 §9.1.1,
; Table 9-1) on the ISA debug console (port 0xE9), one "NAME=hex" line per value, then ends
; through isa-debug-exit (port 0xF4). test/firmware/reset-state.test.ts builds it and runs it
; under vmi386 --bios; qemu.txt is what QEMU prints for the same image, recorded by
; test/firmware/record-qemu.sh.
;
; It starts at F000:FFF0 with CS's base 0xFFFF0000, so every offset of this segment is the
; same offset of the image at the top of 4 GiB; the near jumps keep that base. Nothing is
; written before the registers are saved, and they are saved to RAM (DS = 0) before any PUSH.

bits 16
org 0

SAVE equ 0x600

start:
    mov [SAVE + 0], eax
    mov [SAVE + 4], ebx
    mov [SAVE + 8], ecx
    mov [SAVE + 12], edx
    mov [SAVE + 16], esi
    mov [SAVE + 20], edi
    mov [SAVE + 24], ebp
    mov [SAVE + 28], esp
    ; the stack is 0000:0000 at RESET: the first push lands at 0000:FFFE, which is RAM
    pushfd
    pop dword [SAVE + 32]
    mov eax, cr0
    mov [SAVE + 36], eax

    mov si, names
    xor bx, bx
.saved:
    call print_name
    jc .more
    mov eax, [SAVE + bx]
    call print_hex
    add bx, 4
    jmp .saved
.more:
    mov ax, cs
    call print_word_line
    mov ax, ds
    call print_word_line
    mov ax, ss
    call print_word_line
    mov ax, es
    call print_word_line
    mov ax, fs
    call print_word_line
    mov ax, gs
    call print_word_line
    mov eax, cr2
    call print_name_hex
    mov eax, cr3
    call print_name_hex
    sgdt [SAVE + 40]
    mov eax, [SAVE + 42]
    call print_name_hex
    movzx eax, word [SAVE + 40]
    call print_name_hex
    sidt [SAVE + 40]
    mov eax, [SAVE + 42]
    call print_name_hex
    movzx eax, word [SAVE + 40]
    call print_name_hex
    mov eax, 1
    cpuid
    call print_name_hex
    ; QEMU's debug console reads back 0xE9
    xor eax, eax
    in al, 0xe9
    call print_name_hex
    ; the low alias: the image's last bytes also at 0xFFFF0 (F000:FFF0)
    push ds
    mov ax, 0xf000
    mov ds, ax
    mov eax, [0xfff0]
    pop ds
    call print_name_hex
    ; the ROM below 4 GiB ignores writes: reach it through a 4 GiB DS limit ("unreal" mode, a
    ; descriptor loaded in protected mode and kept after returning to real mode)
    o32 lgdt [cs:gdt_ptr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov bx, 8
    mov ds, bx
    and al, 0xfe
    mov cr0, eax
    xor bx, bx
    mov ds, bx
    mov dword [dword 0xfffffff0], 0x12345678
    mov eax, [dword 0xfffffff0]
    call print_name_hex
    mov al, 0
    out 0xf4, al
.hang:
    hlt
    jmp .hang

; the next name from SI, "NAME="; carry set (and nothing printed) at the end of a list (0 byte)
print_name:
    cs lodsb
    cmp al, 0
    je .end
.loop:
    out 0xe9, al
    cs lodsb
    cmp al, 0
    jne .loop
    mov al, '='
    out 0xe9, al
    clc
    ret
.end:
    stc
    ret

print_name_hex:
    push eax
    call print_name
    pop eax
print_hex:                      ; EAX as 8 hex digits and a newline
    mov cx, 8
    jmp print_digits

print_word_line:                ; AX as 4 hex digits and a newline, after the next name
    push ax
    call print_name
    pop ax
    shl eax, 16
    mov cx, 4
print_digits:
    rol eax, 4
    push eax
    and al, 0x0f
    add al, '0'
    cmp al, '9'
    jbe .digit
    add al, 'a' - '9' - 1
.digit:
    out 0xe9, al
    pop eax
    loop print_digits
    mov al, 10
    out 0xe9, al
    ret

names:
    db "EAX", 0, "EBX", 0, "ECX", 0, "EDX", 0, "ESI", 0, "EDI", 0, "EBP", 0, "ESP", 0, "EFLAGS", 0, "CR0", 0, 0
    db "CS", 0, "DS", 0, "SS", 0, "ES", 0, "FS", 0, "GS", 0, "CR2", 0, "CR3", 0
    db "GDTR.BASE", 0, "GDTR.LIMIT", 0, "IDTR.BASE", 0, "IDTR.LIMIT", 0, "CPUID1.EAX", 0, "IN_E9", 0, "LOW_ALIAS_FFFF0", 0, "ROM_FFFFFFF0_AFTER_WRITE", 0

gdt_ptr:
    dw gdt_end - gdt - 1
    dd 0xffff0000 + gdt
gdt:
    dq 0
    dq 0x00cf92000000ffff       ; flat 4 GiB data, writable
gdt_end:

    times 0xfff0 - ($ - $$) db 0xff
reset_vector:                   ; F000:FFF0, physical 0xFFFFFFF0
    jmp start
    times 0x10000 - ($ - $$) db 0xff
