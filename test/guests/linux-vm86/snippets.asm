; The real-mode code vm86.c runs through Linux's vm86() system calls: each snippet is copied to
; CODE_SEG:0 (linear 0x10000, 64 KiB mapped) and entered there with SS:SP = CODE_SEG:0xfff0.
; Every snippet ends in an exit the kernel reports to the caller: INT 21h and INT 0 are
; revectored (VM86_INTx), INT3 is VM86_TRAP in vm86plus, an instruction the kernel does not
; emulate is VM86_UNKNOWN.

bits 16
section .note.GNU-stack noalloc noexec nowrite progbits
section .rodata

%macro snippet 1
global %1, %1_end
%1:
%endmacro
%macro end 1
%1_end:
%endmacro

; Registers, the stack and the segment registers as the caller's struct gave them.
snippet regs
	mov ax, 0x1234
	mov bx, cs
	mov cx, ss
	mov dx, sp
	push ax
	push bx
	pop si
	pop di
	mov bp, 0x9abc
	int 0x21
end regs

; Memory through DS, ES, FS and GS set in the snippet; 32-bit operands and addresses; a loop
; long enough that timer interrupts land in virtual-8086 mode and the kernel IRETs back into it.
snippet work
	mov ax, cs
	mov ds, ax
	mov es, ax
	add ax, 0x80
	mov fs, ax
	mov gs, ax
	mov dword [0x800], 0x11223344
	mov eax, [0x800]
	mov [es:0x804], eax
	mov word [fs:0x8], 0x5566  ; linear 0x10808
	mov bx, [gs:0x8]
	mov ecx, 3000000
	xor esi, esi
.loop:
	add esi, ecx
	mov edx, ecx
	and edx, 0x3ff
	a32 mov [edx*4 + 0x1000], esi  ; a scaled 32-bit address, below DS's 64 KiB limit
	dec ecx
	jnz .loop
	mov edi, [0x1000 + 4 * 0x3ff]
	int 0x21
end work

; CLI, STI, PUSHF, POPF at IOPL 0: #GP, emulated by the kernel on the virtual IF.
snippet flags
	cli
	pushf
	pop ax
	sti
	pushf
	pop bx
	push word 0x0cd5     ; OF DF SF ZF AF PF CF, IF clear
	popf
	pushf
	pop cx
	int 0x21
end flags

; INT n through the real-mode IVT at linear 0, which the kernel emulates (page 0 mapped by the
; caller): vector 0x30 points at CODE_SEG:0x200, where `handler` is copied; its IRET returns.
snippet ivt_code
	mov ax, 1
	int 0x30
	add ax, 1
	int 0x21
end ivt_code
snippet handler
	mov ax, 0xbeef
	mov bx, sp
	iret
end handler

; Port I/O: OUT to 0x80, which ioperm() allowed, passes through the TSS I/O bitmap; OUT to 0x81
; is #GP, not emulated (VM86_UNKNOWN at the OUT).
snippet ports
	mov al, 0x42
	out 0x80, al
	mov cx, 7
	out 0x81, al
	int 0x21
end ports

; HLT: #GP at CPL 3, not emulated.
snippet halt
	mov ax, 0x4c00
	hlt
	int 0x21
end halt

; INT3: not IOPL-sensitive, so #BP through the IDT; vm86plus reports VM86_TRAP(3).
snippet breakpoint
	mov dx, 0x3333
	int3
	int 0x21
end breakpoint

; DIV by zero: #DE, which vm86plus turns into INT 0 (revectored: VM86_INTx(0) at the DIV).
snippet divide
	mov ax, 100
	xor bx, bx
	div bx
	int 0x21
end divide
