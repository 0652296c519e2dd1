; The system-level fuzz harness: a multiboot kernel that runs the sequences of its first boot
; module (written by sequences.ts) in one fixed environment and prints, for every step, what the
; step ended with: the exception or interrupt that reached a handler, with the frame the CPU
; pushed, the registers and the data segment selectors at that moment, on COM1. Ends with
; debug-exit (port 0xF4) after the last sequence. The same binary runs under qemu-system-i386
; and on vmi386; run.ts compares the two.
;
; Environment (fixed physical addresses, identity-mapped; layout.ts holds the same numbers):
;   0x08000  one 16-byte stub per vector: push vector, push record, ret (below 64 KiB so that
;            16-bit gates can reach them)
;   0x20000  ENV, what a sequence may patch and every step end restores from 0x24000:
;            GDT (32 slots), TSS with a 128-byte I/O bitmap, IDT, page directory, the page table
;            of the user region 16-20 MiB
;   0x2C000  the ring-0, ring-1, ring-2 stacks (tops 0x2D000, 0x2E000, 0x2F000), the ring-0
;            step stack (top 0x30000): filled with a pattern before every step
;   0x1000000 the sequence's code; the next 11 user pages filled with a pattern
;   (the boot module sits between the kernel and 16 MiB, so up to about 14 MiB of sequences)
;
; A step starts by IRET at its CPL (CS and SS of that ring, the data segments = SS) with its
; registers and EFLAGS, and ends at the first event that reaches a handler. Every gate points at
; the vector's stub; the handler runs at ring 0, 1 or 2 (whichever the gate's code segment
; says), addresses memory through SS only (flat at rings 0-2), records, restores ENV, and gets
; back to ring 0 through the call gate at 0x50 when it is not there already.

bits 32

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00000001              ; page-aligned modules

STUBS       equ 0x8000
ENV         equ 0x20000
GDT         equ 0x20000
TSS         equ 0x20100
IDT         equ 0x20800
PD          equ 0x21000
PT_USER     equ 0x22000
ENV_END     equ 0x23000
PT_KERNEL   equ 0x23000
PRISTINE    equ 0x24000
HSTACK_TOP  equ 0x2C000
FILL_START  equ 0x2C000
FILL_END    equ 0x31000
STACK0_TOP  equ 0x2D000
STACK1_TOP  equ 0x2E000
STACK2_TOP  equ 0x2F000
STEP_STACK  equ 0x30000
CODE        equ 0x1000000
USER_FILL   equ CODE + 0x1000
USER_FILL_END equ CODE + 0xC000
PATTERN     equ 0x5A5A5A5A
GDT_SLOTS   equ 32
TSS_LIMIT   equ 104 + 128               ; the bitmap covers ports 0-0x3FF; one 0xFF byte after it
MARKER      equ 0x30                    ; the vector every step's code ends with (DPL 3)
RESUME_GATE equ 0x53                    ; call gate to resume0, DPL 3
COM1        equ 0x3F8
SEQ_MAGIC   equ 0x315A4653              ; "SFZ1"

; The record of one step: REC_WORDS dwords, printed as one line.
R_VECTOR    equ 0
R_CS        equ 4
R_SS        equ 8
R_ESP       equ 12                      ; the handler's ESP before the stub pushed anything
R_FRAME     equ 16                      ; 10 dwords from there (fewer at a page end: zeros)
FRAME_WORDS equ 10
R_EAX       equ 56                      ; eax ecx edx ebx ebp esi edi
R_DS        equ 84                      ; ds es fs gs
R_EFLAGS    equ 100                     ; the handler's EFLAGS (IF/TF after the gate)
R_CR2       equ 104
REC_WORDS   equ 27

; every data segment register and SS to the flat ring-0 data segment
%macro KERNEL_SEGMENTS 0
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
%endmacro

section .multiboot progbits alloc noexec nowrite align=4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .text.entry progbits alloc exec nowrite align=16
global _start
_start:
    cli
    cld
    mov esp, HSTACK_TOP
    mov [mb_info], ebx
    call build_env
    lgdt [gdt_desc]
    jmp 0x08:.flat
.flat:
    KERNEL_SEGMENTS
    lidt [idt_desc]
    mov ax, 0x28
    ltr ax
    ; A null LDT from the first step on, as every later step gets it from resume0: multiboot
    ; leaves LDTR undefined, and QEMU's is the reset state (base 0, limit 0xFFFF), so a TI=1
    ; selector in the first step of a boot read linear memory there and faulted differently.
    xor eax, eax
    lldt ax
    ; Mask both PICs: nothing but the steps themselves may raise an event.
    mov al, 0xFF
    out 0x21, al
    out 0xA1, al
    call serial_init
    mov eax, PD
    mov cr3, eax
    mov eax, cr4
    or eax, 0x10                        ; PSE: 4 MiB pages above 8 MiB
    mov cr4, eax
    ; CR0: the multiboot spec leaves all but PE and PG undefined; caches on (CD, NW clear), paging on
    mov eax, cr0
    and eax, 0x9FFFFFFF
    or eax, 0x80000000
    mov cr0, eax
    ; ENV as it is now (TSS descriptor busy after LTR) is what every step end restores.
    mov esi, ENV
    mov edi, PRISTINE
    mov ecx, (ENV_END - ENV) / 4
    rep movsd
    call run_module
    mov esi, msg_end
    call puts
    mov al, 0
    out 0xF4, al
.hang:
    hlt
    jmp .hang

section .text

; ---- the environment --------------------------------------------------------------------------

; gdt_slot index, access, flags(high nibble of byte 6): flat base 0, limit 0xFFFFF pages
%macro FLAT 3
    mov dword [GDT + %1 * 8], 0x0000FFFF
    mov dword [GDT + %1 * 8 + 4], 0x000F0000 | (%2 << 8) | (%3 << 20)
%endmacro

build_env:
    ; everything from ENV to the end of PT_KERNEL starts as zeros
    mov edi, ENV
    mov ecx, (PT_KERNEL + 0x1000 - ENV) / 4
    xor eax, eax
    rep stosd
    FLAT 1, 0x9A, 0xC                   ; 0x08 ring-0 code
    FLAT 2, 0x92, 0xC                   ; 0x10 ring-0 data
    FLAT 3, 0xFA, 0xC                   ; 0x1B ring-3 code
    FLAT 4, 0xF2, 0xC                   ; 0x23 ring-3 data
    FLAT 6, 0xBA, 0xC                   ; 0x31 ring-1 code
    FLAT 7, 0xB2, 0xC                   ; 0x39 ring-1 data
    FLAT 8, 0xDA, 0xC                   ; 0x42 ring-2 code
    FLAT 9, 0xD2, 0xC                   ; 0x4A ring-2 data
    ; 0x28: the TSS, 32-bit available
    mov dword [GDT + 5 * 8], ((TSS & 0xFFFF) << 16) | TSS_LIMIT
    mov dword [GDT + 5 * 8 + 4], 0x00008900 | ((TSS >> 16) & 0xFF)
    ; 0x50: call gate (DPL 3) to resume0, how a handler at ring 1 or 2 gets back to ring 0
    mov eax, resume0
    mov edx, eax
    and eax, 0xFFFF
    or eax, 0x08 << 16
    mov [GDT + 10 * 8], eax
    and edx, 0xFFFF0000
    or edx, 0xEC00
    mov [GDT + 10 * 8 + 4], edx
    ; TSS: the stacks of rings 0-2, the I/O bitmap right after the 104 bytes, all ports denied
    mov dword [TSS + 4], STACK0_TOP
    mov dword [TSS + 8], 0x10
    mov dword [TSS + 12], STACK1_TOP
    mov dword [TSS + 16], 0x39
    mov dword [TSS + 20], STACK2_TOP
    mov dword [TSS + 24], 0x4A
    mov word [TSS + 0x66], 104
    mov edi, TSS + 104
    mov ecx, 129
    mov al, 0xFF
    rep stosb
    ; stubs and IDT: a 32-bit interrupt gate to ring 0 per vector, the marker's with DPL 3
    xor ecx, ecx
.gate:
    mov edi, ecx
    shl edi, 4
    add edi, STUBS
    mov byte [edi], 0x68                ; push imm32 vector
    mov [edi + 1], ecx
    mov byte [edi + 5], 0x68            ; push imm32 record
    mov dword [edi + 6], record
    mov byte [edi + 10], 0xC3           ; ret
    mov eax, edi
    and eax, 0xFFFF
    or eax, 0x08 << 16
    mov [IDT + ecx * 8], eax
    mov edx, edi
    and edx, 0xFFFF0000
    or edx, 0x8E00
    cmp ecx, MARKER
    jne .dpl0
    or edx, 0x6000
.dpl0:
    mov [IDT + ecx * 8 + 4], edx
    inc ecx
    cmp ecx, 256
    jb .gate
    ; paging: 0-4 MiB supervisor (page 0 absent), 4-128 MiB supervisor 4 MiB pages but for
    ; 16-20 MiB, the user region
    mov ecx, 1
.big:
    mov eax, ecx
    shl eax, 22
    or eax, 0x83
    mov [PD + ecx * 4], eax
    inc ecx
    cmp ecx, 32
    jb .big
    mov dword [PD], PT_KERNEL | 3
    mov dword [PD + (CODE >> 22) * 4], PT_USER | 7
    mov ecx, 1
.kpage:
    mov eax, ecx
    shl eax, 12
    or eax, 3
    mov [PT_KERNEL + ecx * 4], eax
    inc ecx
    cmp ecx, 1024
    jb .kpage
    xor ecx, ecx
.upage:
    mov eax, ecx
    shl eax, 12
    or eax, CODE | 7
    mov [PT_USER + ecx * 4], eax
    inc ecx
    cmp ecx, 1024
    jb .upage
    ret

; ---- the sequences ----------------------------------------------------------------------------

run_module:
    mov ebx, [mb_info]
    test dword [ebx], 8                 ; mods fields valid
    jz .nomod
    cmp dword [ebx + 20], 0
    je .nomod
    mov ebx, [ebx + 24]
    mov esi, [ebx]                      ; mod_start
    cmp dword [esi], SEQ_MAGIC
    jne .nomod
    mov eax, [esi + 4]
    mov [seq_count], eax
    add esi, 8
    mov dword [seq_index], 0
.seq:
    mov eax, [seq_index]
    cmp eax, [seq_count]
    jae .done
    ; header: npatch, ncode (dwords), nsteps
    mov eax, [esi]
    mov [npatch], eax
    mov ecx, [esi + 4]
    mov edx, [esi + 8]
    mov [nsteps], edx
    add esi, 12
    mov [patches], esi
    lea esi, [esi + eax * 8]
    mov [code_ptr], esi
    mov [code_words], ecx
    lea esi, [esi + ecx * 4]
    mov dword [step_index], 0
.step:
    mov eax, [step_index]
    cmp eax, [nsteps]
    jae .next
    push esi
    call run_step
    call print_record
    pop esi
    add esi, 11 * 4
    inc dword [step_index]
    jmp .step
.next:
    inc dword [seq_index]
    jmp .seq
.done:
    ret
.nomod:
    mov esi, msg_nomod
    call puts
    ret

; Runs the step at ESI (cpl, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi); returns
; through resume0 when the step's first event has been recorded.
run_step:
    mov [step_ptr], esi
    ; the code page: the sequence's code, then zeros; the user pages and stacks: the pattern
    mov esi, [code_ptr]
    mov edi, CODE
    mov ecx, [code_words]
    rep movsd
    mov ecx, CODE + 0x1000
    sub ecx, edi
    shr ecx, 2
    xor eax, eax
    rep stosd
    mov eax, PATTERN
    mov edi, USER_FILL
    mov ecx, (USER_FILL_END - USER_FILL) / 4
    rep stosd
    mov edi, FILL_START
    mov ecx, (FILL_END - FILL_START) / 4
    rep stosd
    mov edi, rec
    mov ecx, REC_WORDS
    xor eax, eax
    rep stosd
    ; the patches: (address, dword) pairs inside ENV
    mov esi, [patches]
    mov ecx, [npatch]
.patch:
    test ecx, ecx
    jz .patched
    mov edi, [esi]
    cmp edi, ENV
    jb .badpatch
    cmp edi, ENV_END - 4
    ja .badpatch
    mov eax, [esi + 4]
    mov [edi], eax
    add esi, 8
    dec ecx
    jmp .patch
.badpatch:
    mov esi, msg_badpatch
    call puts
    mov al, 1
    out 0xF4, al
.patched:
    xor eax, eax
    mov cr2, eax
    mov eax, cr3
    mov cr3, eax
    mov [saved_esp], esp
    ; the IRET frame and a POPAD image, where POPAD; IRETD leaves ESP as the step wants it
    mov esi, [step_ptr]
    mov ecx, [esi]                      ; cpl
    and ecx, 3
    mov eax, [esi + 28]                 ; step esp
    test ecx, ecx
    jnz .outer
    lea edi, [eax - 44]
    jmp .frame
.outer:
    mov edi, HSTACK_TOP - 0x400
    mov [edi + 44], eax                 ; esp
    mov ax, [ring_ss + ecx * 2]
    movzx eax, ax
    mov [edi + 48], eax                 ; ss
.frame:
    mov eax, [esi + 4]
    add eax, CODE
    mov [edi + 32], eax                 ; eip
    movzx eax, word [ring_cs + ecx * 2]
    mov [edi + 36], eax                 ; cs
    mov eax, [esi + 8]
    mov [edi + 40], eax                 ; eflags
    ; POPAD's order (edi esi ebp esp ebx edx ecx eax, its esp ignored) is the step's reversed
    lea edx, [edi + 28]
    xor ebx, ebx
.reg:
    mov eax, [esi + 12 + ebx * 4]
    mov [edx], eax
    sub edx, 4
    inc ebx
    cmp ebx, 8
    jb .reg
    movzx eax, word [ring_ss + ecx * 2]
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    test ecx, ecx
    jnz .go
    mov ss, ax
.go:
    mov esp, edi
    popad
    iretd

; The handler's common path. Stack: pushad image, the vector, the CPU's frame.
record:
    pushad
    mov ebp, esp
    mov eax, [ss:ebp + 32]
    mov [ss:rec + R_VECTOR], eax
    xor eax, eax
    mov ax, cs
    mov [ss:rec + R_CS], eax
    mov ax, ss
    mov [ss:rec + R_SS], eax
    mov ax, ds
    mov [ss:rec + R_DS], eax
    mov ax, es
    mov [ss:rec + R_DS + 4], eax
    mov ax, fs
    mov [ss:rec + R_DS + 8], eax
    mov ax, gs
    mov [ss:rec + R_DS + 12], eax
    pushfd
    pop eax
    mov [ss:rec + R_EFLAGS], eax
    mov ax, ss
    mov ds, ax
    mov es, ax
    lea esi, [ebp + 36]
    mov [rec + R_ESP], esi
    ; the frame, up to FRAME_WORDS dwords but not past the end of its page (the next one may be
    ; absent when a sequence moved a stack)
    mov ecx, esi
    neg ecx
    and ecx, 0xFFF
    jnz .inpage
    mov ecx, 0x1000
.inpage:
    shr ecx, 2
    cmp ecx, FRAME_WORDS
    jbe .words
    mov ecx, FRAME_WORDS
.words:
    mov edi, rec + R_FRAME
    cld
    rep movsd
    ; eax ecx edx ebx ebp esi edi from the pushad image
    mov eax, [ebp + 28]
    mov [rec + R_EAX], eax
    mov eax, [ebp + 24]
    mov [rec + R_EAX + 4], eax
    mov eax, [ebp + 20]
    mov [rec + R_EAX + 8], eax
    mov eax, [ebp + 16]
    mov [rec + R_EAX + 12], eax
    mov eax, [ebp + 8]
    mov [rec + R_EAX + 16], eax
    mov eax, [ebp + 4]
    mov [rec + R_EAX + 20], eax
    mov eax, [ebp]
    mov [rec + R_EAX + 24], eax
    ; restore ENV (rings 1 and 2 are supervisor for paging, so they may)
    mov esi, PRISTINE
    mov edi, ENV
    mov ecx, (ENV_END - ENV) / 4
    rep movsd
    mov ax, cs
    test al, 3
    jz resume0
    call RESUME_GATE:0

; Back at ring 0: the harness's own segments and stack, as run_step left them.
resume0:
    cli
    KERNEL_SEGMENTS
    mov esp, [saved_esp]
    xor eax, eax
    lldt ax
    mov eax, cr2
    mov [rec + R_CR2], eax
    mov eax, cr3
    mov cr3, eax
    push dword 2
    popfd
    ret

; ---- output -----------------------------------------------------------------------------------

; "seq.step: w0 w1 ... w26"
print_record:
    mov eax, [seq_index]
    call put_hex
    mov al, '.'
    call putc
    mov eax, [step_index]
    call put_hex
    mov al, ':'
    call putc
    xor ebx, ebx
.word:
    mov al, ' '
    call putc
    mov eax, [rec + ebx * 4]
    call put_hex
    inc ebx
    cmp ebx, REC_WORDS
    jb .word
    mov al, 10
    call putc
    ret

; eax in hex, no leading zeros
put_hex:
    push ecx
    push edx
    mov edx, eax
    mov ecx, 28
.skip:
    test ecx, ecx
    jz .digits
    mov eax, edx
    shr eax, cl
    test al, 0xF
    jnz .digits
    sub ecx, 4
    jmp .skip
.digits:
    mov eax, edx
    shr eax, cl
    and eax, 0xF
    mov al, [hexdigits + eax]
    call putc
    sub ecx, 4
    jns .digits
    pop edx
    pop ecx
    ret

serial_init:
    mov dx, COM1 + 1
    mov al, 0
    out dx, al                          ; no interrupts
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                          ; DLAB
    mov dx, COM1
    mov al, 1
    out dx, al                          ; 115200 baud
    mov dx, COM1 + 1
    mov al, 0
    out dx, al
    mov dx, COM1 + 3
    mov al, 3
    out dx, al                          ; 8N1
    ret

putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

puts:
    lodsb
    test al, al
    jz .end
    call putc
    jmp puts
.end:
    ret

section .data
align 4
gdt_desc:
    dw GDT_SLOTS * 8 - 1
    dd GDT
idt_desc:
    dw 256 * 8 - 1
    dd IDT
ring_cs: dw 0x08, 0x31, 0x42, 0x1B
ring_ss: dw 0x10, 0x39, 0x4A, 0x23
hexdigits: db "0123456789abcdef"
msg_end: db "END", 10, 0
msg_nomod: db "NO SEQUENCES", 10, 0
msg_badpatch: db "BAD PATCH", 10, 0

section .bss
align 4
mb_info: resd 1
seq_count: resd 1
seq_index: resd 1
step_index: resd 1
npatch: resd 1
nsteps: resd 1
patches: resd 1
code_ptr: resd 1
code_words: resd 1
step_ptr: resd 1
saved_esp: resd 1
rec: resd REC_WORDS
