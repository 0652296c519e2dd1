/*
 * x86-64 twin of ../trampoline.S for the native cross-check: loads the low 32 bits of every
 * register (zero-extended) and RFLAGS, runs the case's bytes, stores them back.
 */
	.intel_syntax noprefix
	.text
	.globl run_native
	.globl native_return
run_native:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rip + host_rsp], rsp
	push qword ptr [rip + in_rflags]
	popfq
	mov eax, [rip + in_regs + 0]
	mov ecx, [rip + in_regs + 4]
	mov edx, [rip + in_regs + 8]
	mov ebx, [rip + in_regs + 12]
	mov ebp, [rip + in_regs + 20]
	mov esi, [rip + in_regs + 24]
	mov edi, [rip + in_regs + 28]
	mov esp, [rip + in_regs + 16]
	jmp qword ptr [rip + code_target]
native_return:
	mov [rip + out_regs + 16], esp
	mov rsp, [rip + host_rsp]
	pushfq
	pop qword ptr [rip + out_rflags]
	cld
	mov [rip + out_regs + 0], eax
	mov [rip + out_regs + 4], ecx
	mov [rip + out_regs + 8], edx
	mov [rip + out_regs + 12], ebx
	mov [rip + out_regs + 20], ebp
	mov [rip + out_regs + 24], esi
	mov [rip + out_regs + 28], edi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
	.section .note.GNU-stack,"",@progbits
