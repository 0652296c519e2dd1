; Calls one ROM entry point with every general register chosen by the caller, and hands back
; every register it returned with, so the guest can check which ones the call changed. Linux
; patches the interrupt-flag calls inline where only the result may change, and docs/vmi.md promises
; more: every register but the results survives every call.
global rom_call_regs

section .text
; void rom_call_regs(u32 entry, u32 r[9]): in and out, r = EAX EBX ECX EDX ESI EDI EBP; r[7] and
; r[8] are the first and second stack arguments (pushed for every call: a call without stack
; arguments does not look at them, and the caller removes them, as regparm(3) does).
rom_call_regs:
    push ebp
    push ebx
    push esi
    push edi
    mov eax, [esp + 20]
    mov [entry], eax
    mov eax, [esp + 24]
    mov [regs], eax
    push dword [eax + 32]
    push dword [eax + 28]
    mov ebx, [eax + 4]
    mov ecx, [eax + 8]
    mov edx, [eax + 12]
    mov esi, [eax + 16]
    mov edi, [eax + 20]
    mov ebp, [eax + 24]
    mov eax, [eax]
    call [entry]
    add esp, 8
    push eax
    mov eax, [regs]
    mov [eax + 4], ebx
    mov [eax + 8], ecx
    mov [eax + 12], edx
    mov [eax + 16], esi
    mov [eax + 20], edi
    mov [eax + 24], ebp
    pop dword [eax]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

section .bss
entry: resd 1
regs: resd 1
