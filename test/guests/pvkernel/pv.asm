; pvkernel: the paravirtual call sites, the trap entry/return path and the scheduler's first
; entry. Mode independent: the VMI modes patch the sites at run time (see patch_sites in
; kernel.c), the native mode runs them as assembled.
;
; Every paravirtual operation is a stub whose 5-byte site is `call native_impl`. A record
; (site address, VMI call number) goes into the table pv_sites_begin..pv_sites_end; patching
; rewrites the site into `call rel32` / `jmp rel32` to the ROM, five NOPs, or leaves it alone.
; Stubs are entered with the kernel's regparm(3) convention (EAX, EDX, ECX, then the stack).

%include "vmi-abi.inc"

KERNEL_DS equ 0x10

section .data
    align 4
global pv_sites_begin, pv_sites_end
pv_sites_begin:

section .text

; PVSITE n: records the address of the next instruction as a site for VMI call n.
%macro PVSITE 1
%%site:
section .data
    dd %%site, %1
section .text
%endmacro

; Register-argument operation: the site is followed by ret, so CALL_REL, JUMP_REL and NOP all
; give the caller the ROM's result.
%macro PVOP 3
global %1
%1:
    PVSITE %2
    call %3
    ret
%endmacro

; Operation with two stack arguments (after EAX, EDX, ECX): they are pushed again so the ROM
; entry sees them right above its return address. Only CALL_REL (or NONE/NOP) can be patched in.
%macro PVOP_STACK2 3
global %1
%1:
    push dword [esp + 8]
    push dword [esp + 8]
    PVSITE %2
    call %3
    add esp, 8
    ret
%endmacro

; Operation with one stack argument.
%macro PVOP_STACK1 3
global %1
%1:
    push dword [esp + 4]
    PVSITE %2
    call %3
    add esp, 4
    ret
%endmacro

    align 16
global pv_stubs_begin
pv_stubs_begin:
PVOP pv_set_cr3, VMI_CALL_SetCR3, native_set_cr3
PVOP pv_get_cr2, VMI_CALL_GetCR2, native_get_cr2
PVOP pv_irq_enable, VMI_CALL_EnableInterrupts, native_irq_enable
PVOP pv_irq_disable, VMI_CALL_DisableInterrupts, native_irq_disable
PVOP pv_save_fl, VMI_CALL_GetInterruptMask, native_save_fl
PVOP pv_restore_fl, VMI_CALL_SetInterruptMask, native_restore_fl
PVOP pv_set_pxe, VMI_CALL_SetPxE, native_set_pxe
PVOP pv_update_pxe, VMI_CALL_UpdatePxE, native_nop
PVOP_STACK2 pv_allocate_page, VMI_CALL_AllocatePage, native_nop
PVOP pv_release_page, VMI_CALL_ReleasePage, native_nop
PVOP pv_inval_page, VMI_CALL_InvalPage, native_invlpg
PVOP pv_flush_tlb, VMI_CALL_FlushTLB, native_flush_tlb
PVOP_STACK1 pv_set_linear_mapping, VMI_CALL_SetLinearMapping, native_nop
PVOP pv_get_cycle_frequency, VMI_CALL_GetCycleFrequency, native_zero64
PVOP pv_get_cycle_counter, VMI_CALL_GetCycleCounter, native_zero64
PVOP_STACK2 pv_set_alarm, VMI_CALL_SetAlarm, native_nop
PVOP pv_set_lazy_mode, VMI_CALL_SetLazyMode, native_nop

; ---- the native implementations
native_set_cr3:
    mov cr3, eax
    ret
native_get_cr2:
    mov eax, cr2
    ret
native_irq_enable:
    sti
    ret
native_irq_disable:
    cli
    ret
native_save_fl:
    pushfd
    pop eax
    ret
native_restore_fl:
    push eax
    popfd
    ret
native_set_pxe:                     ; EAX = entry, EDX = its address, ECX = flags
    mov [edx], eax
    ret
native_invlpg:
    invlpg [eax]
    ret
native_flush_tlb:
    mov eax, cr3
    mov cr3, eax
    ret
native_zero64:
    xor eax, eax
    xor edx, edx
    ret
native_nop:
    ret

; ---- traps: page fault, IRQ0 (vector 0x20), system call (int 0x80)
; The frame is struct rt_frame (rt.h): gs fs es ds, pushad, vector, error, eip cs eflags esp ss.
extern kernel_trap
global pv_trap_pf, pv_trap_irq0, pv_trap_syscall, pv_trap_return
pv_trap_pf:
    push dword 14
    jmp trap_common
pv_trap_irq0:
    push dword 0
    push dword 0x20
    jmp trap_common
pv_trap_syscall:
    push dword 0
    push dword 0x80
trap_common:
    pushad
    push ds
    push es
    push fs
    push gs
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    cld
    push esp
    call kernel_trap
    add esp, 4
pv_trap_return:
    pop gs
    pop fs
    pop es
    pop ds
    popad
    add esp, 8
    PVSITE 33                       ; IRET: the ROM takes the interrupt frame at [esp]
    iretd
    nop
    nop
    nop
    nop

; void sched_start(struct rt_frame *kframe): leaves the boot stack for the trap frame already
; built at kframe and returns through it to ring 3. sched_finish() comes back here.
global sched_start, sched_finish
sched_start:
    push ebp
    push ebx
    push esi
    push edi
    mov [boot_esp], esp
    mov esp, [esp + 20]
    jmp pv_trap_return
sched_finish:
    mov esp, [boot_esp]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

section .data
pv_sites_end:
boot_esp:
    dd 0
