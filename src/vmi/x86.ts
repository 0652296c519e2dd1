// A small i386 code emitter for the ROM's entry points: only the forms the ROM uses, each
// encoded as SDM Vol. 2 gives it, with labels for forward jumps. Absolute operands are linear
// addresses (the ROM runs at fixed addresses above virtual_top).
//
// Every memory operand goes through SS (prefix 36h): the ROM runs at CPL 0, where SS is the
// kernel's flat stack segment, while DS may be anything a user left in it: Linux jumps to the
// ROM's IRET with the user's data segments loaded, null ones on a return to virtual-8086 mode.

export const enum R {
  EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
}

/** Condition codes (the low nibble of Jcc/SETcc). */
export const enum Cc {
  E = 0x4,
  NE = 0x5,
  AE = 0x3,
  B = 0x2,
  A = 0x7,
}

/** The SS segment-override prefix. */
const SS_PREFIX = 0x36;

export class Label {
  at = -1;
  readonly uses: { pos: number; size: 1 | 4 }[] = [];
}

export class Asm {
  private bytes: number[] = [];
  /** Where the code will run: linear address of byte 0 (for no instruction's encoding; for callers' bookkeeping). */
  constructor(readonly origin: number) {}

  get pos(): number {
    return this.bytes.length;
  }

  /** The linear address of the next byte. */
  get here(): number {
    return this.origin + this.bytes.length;
  }

  private b(...xs: number[]): this {
    for (const x of xs) this.bytes.push(x & 0xff);
    return this;
  }
  private d(x: number): this {
    return this.b(x, x >>> 8, x >>> 16, x >>> 24);
  }
  /** Opcode `op` with the ModRM for SS:[disp32] (mod 00, r/m 101). */
  private abs(op: number[], reg: number, addr: number): this {
    return this.b(SS_PREFIX, ...op, (reg << 3) | 5).d(addr);
  }
  private rr(reg: number, rm: number): this {
    return this.b(0xc0 | (reg << 3) | rm);
  }

  label(): Label {
    return new Label();
  }
  bind(l: Label): this {
    if (l.at >= 0) throw new Error("label bound twice");
    l.at = this.pos;
    for (const u of l.uses) this.patch(u.pos, u.size, l.at);
    return this;
  }
  private patch(pos: number, size: 1 | 4, target: number): void {
    const rel = target - (pos + size);
    if (size === 1) {
      if (rel < -128 || rel > 127) throw new Error(`short jump out of range (${rel})`);
      this.bytes[pos] = rel & 0xff;
    } else for (let i = 0; i < 4; i++) this.bytes[pos + i] = (rel >>> (8 * i)) & 0xff;
  }
  private ref(l: Label, size: 1 | 4): this {
    const pos = this.pos;
    for (let i = 0; i < size; i++) this.bytes.push(0);
    if (l.at >= 0) this.patch(pos, size, l.at);
    else l.uses.push({ pos, size });
    return this;
  }

  // ---- control -------------------------------------------------------------------------------
  /** Our hypercall (VMCALL's encoding), legal only in the ROM's code pages. */
  vmcall(): this {
    return this.b(0x0f, 0x01, 0xc1);
  }
  ret(): this {
    return this.b(0xc3);
  }
  iret(): this {
    return this.b(0xcf);
  }
  sysexit(): this {
    return this.b(0x0f, 0x35);
  }
  hlt(): this {
    return this.b(0xf4);
  }
  jcc8(cc: Cc, l: Label): this {
    return this.b(0x70 | cc).ref(l, 1);
  }
  jmp8(l: Label): this {
    return this.b(0xeb).ref(l, 1);
  }
  /** JMP rel32 to a linear address, from code that will run at `this.here`. */
  jmpAbs(target: number): this {
    this.b(0xe9);
    return this.d(target - (this.here + 4));
  }
  /** push imm32; ret: a jump to an absolute address that clobbers no register. */
  pushRet(target: number): this {
    return this.b(0x68).d(target).ret();
  }

  // ---- data movement -------------------------------------------------------------------------
  push(r: R): this {
    return this.b(0x50 + r);
  }
  pop(r: R): this {
    return this.b(0x58 + r);
  }
  movImm(r: R, v: number): this {
    return this.b(0xb8 + r).d(v);
  }
  /** mov r32, [addr] */
  load(r: R, addr: number): this {
    return this.abs([0x8b], r, addr);
  }
  /** mov [addr], r32 */
  store(addr: number, r: R): this {
    return this.abs([0x89], r, addr);
  }
  /** mov byte [addr], imm8 */
  storeByteImm(addr: number, v: number): this {
    return this.abs([0xc6], 0, addr).b(v);
  }
  /** mov dword [addr], imm32 */
  storeImm(addr: number, v: number): this {
    return this.abs([0xc7], 0, addr).d(v);
  }
  /** movzx r32, byte [addr] */
  loadByte(r: R, addr: number): this {
    return this.abs([0x0f, 0xb6], r, addr);
  }
  /** mov r32, [esp + disp8] */
  loadStack(r: R, disp: number): this {
    return this.b(0x8b, 0x44 | (r << 3), 0x24, disp);
  }
  /** mov [base + disp32], r32 (base is not ESP) */
  storeIndexed(base: R, disp: number, r: R): this {
    if (base === R.ESP) throw new Error("storeIndexed: ESP needs a SIB byte");
    return this.b(SS_PREFIX, 0x89, 0x80 | (r << 3) | base).d(disp);
  }
  /** mov dword [base + disp32], imm32 */
  storeIndexedImm(base: R, disp: number, v: number): this {
    if (base === R.ESP) throw new Error("storeIndexedImm: ESP needs a SIB byte");
    return this.b(SS_PREFIX, 0xc7, 0x80 | base).d(disp).d(v);
  }
  /** mov r32, [index*4 + disp32] */
  loadTable(r: R, index: R, table: number): this {
    return this.b(SS_PREFIX, 0x8b, 0x04 | (r << 3), 0x85 | (index << 3)).d(table);
  }
  /** mov [base + index*8 + disp8], r32 */
  storeScaled8(base: R, index: R, disp: number, r: R): this {
    return this.b(SS_PREFIX, 0x89, 0x44 | (r << 3), 0xc0 | (index << 3) | base, disp);
  }
  /** mov dst, src */
  mov(dst: R, src: R): this {
    return this.b(0x89).rr(src, dst);
  }
  /** mov byte [addr], al */
  storeAl(addr: number): this {
    return this.abs([0x88], 0, addr);
  }
  xor(dst: R, src: R): this {
    return this.b(0x31).rr(src, dst);
  }

  // ---- arithmetic ------------------------------------------------------------------------
  /** cmp byte [addr], imm8 */
  cmpByteImm(addr: number, v: number): this {
    return this.abs([0x80], 7, addr).b(v);
  }
  /** cmp r32, imm32 */
  cmpImm(r: R, v: number): this {
    return this.b(0x81).rr(7, r).d(v);
  }
  /** cmp r32, [addr] */
  cmpMem(r: R, addr: number): this {
    return this.abs([0x3b], r, addr);
  }
  /** sub r32, [addr] */
  subMem(r: R, addr: number): this {
    return this.abs([0x2b], r, addr);
  }
  /** add r32, [addr] */
  addMem(r: R, addr: number): this {
    return this.abs([0x03], r, addr);
  }
  andImm(r: R, v: number): this {
    return this.b(0x81).rr(4, r).d(v);
  }
  /** and dword [addr], imm32 */
  andMemImm(addr: number, v: number): this {
    return this.abs([0x81], 4, addr).d(v);
  }
  shlImm(r: R, n: number): this {
    return this.b(0xc1).rr(4, r).b(n);
  }
  /** inc dword [addr] */
  incMem(addr: number): this {
    return this.abs([0xff], 0, addr);
  }
  /** test ah, imm8 (the IF bit of a flags image in EAX is bit 1 of AH) */
  testAhImm(v: number): this {
    return this.b(0xf6, 0xc4, v);
  }
  /** test r8, imm8 where r8 is the low byte of EAX, ECX, EDX or EBX */
  testLowByteImm(r: R.EAX | R.ECX | R.EDX | R.EBX, v: number): this {
    return this.b(0xf6, 0xc0 | r, v);
  }
  /** test r32, r32 */
  test(a: R, b: R): this {
    return this.b(0x85).rr(b, a);
  }
  /** setcc byte [addr] */
  setccMem(cc: Cc, addr: number): this {
    return this.abs([0x0f, 0x90 | cc], 0, addr);
  }

  // ---- system (the ROM runs at the guest kernel's privilege) -----------------------------
  cpuid(): this {
    return this.b(0x0f, 0xa2);
  }
  rdtsc(): this {
    return this.b(0x0f, 0x31);
  }
  rdmsr(): this {
    return this.b(0x0f, 0x32);
  }
  wrmsr(): this {
    return this.b(0x0f, 0x30);
  }
  rdpmc(): this {
    return this.b(0x0f, 0x33);
  }
  wbinvd(): this {
    return this.b(0x0f, 0x09);
  }
  clts(): this {
    return this.b(0x0f, 0x06);
  }
  /** lgdt/lidt/sgdt/sidt [eax] */
  lgdtEax(): this {
    return this.b(0x0f, 0x01, 0x10);
  }
  lidtEax(): this {
    return this.b(0x0f, 0x01, 0x18);
  }
  sgdtEax(): this {
    return this.b(0x0f, 0x01, 0x00);
  }
  sidtEax(): this {
    return this.b(0x0f, 0x01, 0x08);
  }
  /** lldt ax / ltr ax / sldt eax / str eax */
  lldtAx(): this {
    return this.b(0x0f, 0x00, 0xd0);
  }
  ltrAx(): this {
    return this.b(0x0f, 0x00, 0xd8);
  }
  sldtEax(): this {
    return this.b(0x0f, 0x00, 0xc0);
  }
  strEax(): this {
    return this.b(0x0f, 0x00, 0xc8);
  }
  /** mov cr2, eax */
  movCr2Eax(): this {
    return this.b(0x0f, 0x22, 0xd0);
  }

  align(n: number, fill = 0xcc): this {
    while (this.pos % n !== 0) this.b(fill);
    return this;
  }

  /** The code, once every label used has been bound. */
  finish(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}
