; Multiboot v1 entry, the flat GDT, the exception/interrupt stubs and the ring-3 trampoline.
; Assembled with nasm -f elf32. Shared by every guest.

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00000003          ; bit 0: page-align modules, bit 1: memory info wanted
KERNEL_CS   equ 0x08
KERNEL_DS   equ 0x10
USER_CS     equ 0x1B
USER_DS     equ 0x23
TSS_SEL     equ 0x28

section .multiboot progbits alloc noexec nowrite align=4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .text.entry progbits alloc exec nowrite align=16
global _start
extern rt_main
_start:
    cli
    cld
    mov esp, boot_stack_top
    mov esi, eax                    ; multiboot magic
    mov edi, ebx                    ; multiboot info pointer
    ; The multiboot spec leaves GDTR undefined: load our own before touching a segment register.
    lgdt [gdt_desc]
    jmp KERNEL_CS:.reload
.reload:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    ; Clear .bss (the loader should have done it; do not depend on that).
    mov ebx, edi
    extern __bss_start, __bss_end
    mov edi, __bss_start
    mov ecx, __bss_end
    sub ecx, edi
    shr ecx, 2
    xor eax, eax
    rep stosd
    push ebx
    push esi
    call rt_main                    ; never returns
.hang:
    cli
    hlt
    jmp .hang

; ---------------------------------------------------------------------------------------------
; Interrupt stubs: one per vector. Each pushes a dummy error code where the CPU pushes none
; (SDM Vol. 3 §6.13: 8, 10-14, 17 and 21 push one), then the vector, and joins the common path.
section .text
extern rt_isr_dispatch
%macro STUB 1
isr_stub_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21
    nop
    nop
%else
    push dword 0
%endif
    push dword %1
    jmp isr_common
    align 16
%endmacro

    align 16
global rt_isr_stubs
rt_isr_stubs:
%assign v 0
%rep 256
    STUB v
%assign v v+1
%endrep

isr_common:
    pushad
    push ds
    push es
    push fs
    push gs
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    cld
    push esp                        ; struct rt_frame *
    call rt_isr_dispatch
    add esp, 4
    pop gs
    pop fs
    pop es
    pop ds
    popad
    add esp, 8                      ; vector, error code
    iretd

; ---------------------------------------------------------------------------------------------
; uint32_t rt_call_user(uint32_t (*fn)(uint32_t), uint32_t arg): run fn(arg) in ring 3 on the
; user stack; fn returns through `int 0x81`, whose handler calls rt_user_return(value).
global rt_call_user, rt_user_return, rt_user_exit
extern rt_user_stack_top
rt_call_user:
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_kernel_esp], esp
    mov eax, [esp + 20]             ; fn
    mov ecx, [esp + 24]             ; arg
    mov edx, [rt_user_stack_top]
    sub edx, 8
    mov [edx + 4], ecx
    mov dword [edx], rt_user_exit
    push dword USER_DS              ; SS
    push edx                        ; ESP
    pushfd                          ; EFLAGS
    push dword USER_CS              ; CS
    push eax                        ; EIP
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    iretd
rt_user_exit:
    int 0x81
    ud2                             ; not reached

rt_user_return:                     ; called from the 0x81 handler on the ring-0 stack
    mov eax, [esp + 4]
    mov esp, [saved_kernel_esp]
    mov cx, KERNEL_DS
    mov ds, cx
    mov es, cx
    mov fs, cx
    mov gs, cx
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; ---------------------------------------------------------------------------------------------
section .data
    align 8
; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data, 0x18 ring-3 code, 0x20 ring-3 data,
; 0x28 TSS (filled in by rt_main), 0x30-0x48 spare entries a guest may fill in.
global rt_gdt
rt_gdt:
    dq 0
    dq 0x00CF9A000000FFFF
    dq 0x00CF92000000FFFF
    dq 0x00CFFA000000FFFF
    dq 0x00CFF2000000FFFF
    dq 0
    times 4 dq 0
rt_gdt_end:
global rt_gdt_desc
gdt_desc:
rt_gdt_desc:
    dw rt_gdt_end - rt_gdt - 1
    dd rt_gdt

section .bss
    alignb 16
saved_kernel_esp:
    resd 1
    alignb 4096
boot_stack:
    resb 16384
boot_stack_top:
