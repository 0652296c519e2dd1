/*
 * Enters a test case with every general register and EFLAGS as the case says, and comes back
 * with them recorded. Only the case's own instructions run between the two: the registers are
 * loaded with MOV (which leaves EFLAGS alone) after POPFD, and stored before anything else.
 */
	.intel_syntax noprefix
	.text
	.globl run_case
	.globl case_return
/* void run_case(void): state in the globals in_regs, in_eflags, code_target. */
run_case:
	push ebp
	push ebx
	push esi
	push edi
	mov [host_esp], esp
	push dword ptr [in_eflags]
	popfd
	mov eax, [in_regs + 0]
	mov ecx, [in_regs + 4]
	mov edx, [in_regs + 8]
	mov ebx, [in_regs + 12]
	mov ebp, [in_regs + 20]
	mov esi, [in_regs + 24]
	mov edi, [in_regs + 28]
	mov esp, [in_regs + 16]
	jmp dword ptr [code_target]

/* The case's code ends with JMP [return_target], which lands here. */
case_return:
	mov [out_regs + 16], esp
	mov esp, [host_esp]
	pushfd
	pop dword ptr [out_eflags]
	cld
	mov [out_regs + 0], eax
	mov [out_regs + 4], ecx
	mov [out_regs + 8], edx
	mov [out_regs + 12], ebx
	mov [out_regs + 20], ebp
	mov [out_regs + 24], esi
	mov [out_regs + 28], edi
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

	.section .note.GNU-stack,"",@progbits
