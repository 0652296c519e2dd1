; Counts 100 IRQ0s from PIT channel 0 (mode 2, divisor 1193: 1000.15 Hz) through the 8259A,
; waiting in HLT (EBX = 0) or spinning (EBX != 0), then exits through isa-debug-exit with 0x2A.
; An unexpected vector exits with 0x55. Loaded at 0x10000, entered in flat protected mode.
BITS 32
ORG 0x10000
IDT equ 0x20000
start:
  mov esp, 0x9000
  lgdt [gdtr]
  mov edi, IDT
  mov ecx, 256
.fill:
  mov eax, unexpected
  mov [edi], ax
  mov dword [edi+2], 0x8E000008
  shr eax, 16
  mov [edi+6], ax
  add edi, 8
  loop .fill
  mov eax, irq0
  mov [IDT + 0x20*8], ax
  shr eax, 16
  mov [IDT + 0x20*8 + 6], ax
  lidt [idtr]
  ; The PIT first: its control word puts OUT high at once, an edge if the BIOS's square wave was
  ; low, which the PIC's initialization then forgets.
  mov al, 0x34        ; counter 0, LSB then MSB, mode 2, binary
  out 0x43, al
  mov ax, 1193
  out 0x40, al
  mov al, ah
  out 0x40, al
  mov al, 0x11        ; ICW1: edge, cascade, ICW4
  out 0x20, al
  out 0xA0, al
  mov al, 0x20        ; ICW2: vectors 0x20 / 0x28
  out 0x21, al
  mov al, 0x28
  out 0xA1, al
  mov al, 0x04        ; ICW3: slave on IR2 / slave ID 2
  out 0x21, al
  mov al, 0x02
  out 0xA1, al
  mov al, 0x01        ; ICW4: 8086 mode
  out 0x21, al
  out 0xA1, al
  mov al, 0xFE        ; OCW1: only IRQ0
  out 0x21, al
  mov al, 0xFF
  out 0xA1, al
  sti
.wait:
  test ebx, ebx
  jnz .spin
  hlt
.spin:
  cmp dword [ticks], 100
  jb .wait
  cli
  mov al, 0x2A
  out 0xF4, al
  hlt
irq0:
  inc dword [ticks]
  push eax
  mov al, 0x20        ; OCW2: non-specific EOI
  out 0x20, al
  pop eax
  iret
unexpected:
  mov al, 0x55
  out 0xF4, al
  cli
  hlt
align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff
  dq 0x00cf92000000ffff
gdtr:
  dw 23
  dd gdt
idtr:
  dw 256*8-1
  dd IDT
ticks:
  dd 0
