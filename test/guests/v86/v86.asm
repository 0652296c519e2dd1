; The virtual-8086 guest's real-mode program (run at 0700:0000 with DS = ES = 0800h, SS:SP =
; 0900:1000h) and the ring-0 trampolines that enter and leave it.
BITS 32
KERNEL_DS equ 0x10

section .data
global v86_code, v86_code_end
v86_code:
BITS 16
    mov ax, 0x1234
    mov [0x10], ax              ; 0800:0010 = linear 8010h: real-mode segments
    mov bx, 0x0900
    mov es, bx
    mov [es:0x20], bx           ; linear 9020h
    cli                         ; IOPL-sensitive: #GP(0) unless IOPL = 3
    sti
    pushf
    pop cx                      ; FLAGS as the program sees them
    push cx
    popf
    mov ah, 0x4c
    int 0x21                    ; IOPL < 3: #GP(0); IOPL = 3: through the IDT to ring 0
    mov [0x12], ax
    mov al, 0x55
    out 0x80, al                ; the TSS has no I/O bitmap: #GP(0) whatever IOPL is
    in al, 0x61
    mov [0x14], al
    lar ax, bx                  ; #UD in virtual-8086 mode, as ARPL, LSL, VERR, SLDT...
    xor bl, bl
    div bl                      ; #DE from virtual-8086 mode
    jmp 0x0700:(after - v86_code)
after:
    mov [0x16], cx
    hlt                         ; privileged: #GP(0), the monitor ends the run
v86_code_end:
BITS 32

section .bss
v86_saved_esp: resd 1

section .text
global v86_run, v86_leave
; void v86_run(u32 eflags): IRETD to 0700:0000 in virtual-8086 mode with these EFLAGS.
v86_run:
    push ebp
    push ebx
    push esi
    push edi
    mov [v86_saved_esp], esp
    mov eax, [esp + 20]
    push dword 0                ; GS
    push dword 0                ; FS
    push dword 0x0800           ; DS
    push dword 0x0800           ; ES
    push dword 0x0900           ; SS
    push dword 0x1000           ; ESP
    push eax                    ; EFLAGS
    push dword 0x0700           ; CS
    push dword 0                ; EIP
    iretd
; void v86_leave(void): called from the monitor's handler on the ring-0 stack; back to v86_run's caller.
v86_leave:
    mov esp, [v86_saved_esp]
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret
