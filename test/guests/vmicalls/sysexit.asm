; SYSEXIT through the ROM and back: the ROM's SYSEXIT entry drops to ring 3 at user_code
; (EDX) on the given stack (ECX); user code reports its EFLAGS through int 0x82, a DPL-3 trap
; gate whose target, sysexit_back, returns to sysexit_roundtrip's caller.
global sysexit_roundtrip, sysexit_back

section .text
; u32 sysexit_roundtrip(u32 rom_sysexit, u32 user_stack_top): the user's EFLAGS
sysexit_roundtrip:
    push ebp
    push ebx
    push esi
    push edi
    mov [saved_esp], esp
    mov eax, [esp + 20]
    mov ecx, [esp + 24]
    mov edx, user_code
    jmp eax
user_code:
    pushfd
    pop eax
    int 0x82
    ud2
sysexit_back:
    mov esp, [saved_esp]
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

section .bss
saved_esp: resd 1
