// The i386 instruction set as this emulator implements it: one row per instruction form, in the
// notation of the SDM's opcode map (Vol. 2 Appendix A: Eb, Gv, Iz, Jb, ...). gen/generate.ts
// derives from these rows the core's length, block-end, LOCK and prefix tables, the JIT's map
// and the oracle's encodings and undefined-flag masks (docs/instruction-table.md). Plain data, so
// that any TypeScript consumer (a JIT tier, a disassembler) can import it as it is.

/** The six status flags by letter (SDM Vol. 1 §3.4.3.1), plus DF and IF. */
export const FLAG_BITS: Record<string, number> = { C: 0x1, P: 0x4, A: 0x10, Z: 0x40, S: 0x80, I: 0x200, D: 0x400, O: 0x800 };

/** EFLAGS bits from letters: "OSZAPC" → 0x8d5. */
export function flagMask(letters: string): number {
  let m = 0;
  for (const ch of letters) {
    const b = FLAG_BITS[ch];
    if (b === undefined) throw new Error(`unknown flag letter "${ch}" in "${letters}"`);
    m |= b;
  }
  return m;
}

/**
 * Flags an instruction leaves undefined (SDM Vol. 2 "Flags Affected"; Vol. 1 Appendix A).
 * `byCount`: shifts and rotates, whose masked count decides: a count of 0 affects no flag, OF is
 * undefined unless the count is 1, and with `cfAtSize` CF is undefined once the count reaches
 * the operand size.
 */
export interface UndefinedFlags {
  flags: string;
  byCount?: true;
  cfAtSize?: true;
  /** Where the SDM says so. */
  sdm: string;
}

/** Who may execute the instruction (SDM Vol. 3 §5.9 and the instruction pages). */
export type Privilege =
  /** CPL 0 only, else #GP(0). */
  | "cpl0"
  /** CPL <= IOPL in protected mode (CLI, STI). */
  | "iopl"
  /** IOPL 3 in virtual-8086 mode (PUSHF, POPF, INT n). */
  | "v86-iopl"
  /** CPL <= IOPL, else the TSS I/O bitmap (IN, OUT, INS, OUTS). */
  | "io"
  /** #UD in real and virtual-8086 mode. */
  | "protected";

export interface InstructionRow {
  /** The opcode byte, or 0x0Fxx for the two-byte map. */
  opcode: number;
  /** Consecutive opcodes the row covers: 8 for a register in the low bits (+r), 16 for a condition (cc). */
  span?: number;
  /** ModRM.reg as an opcode extension (/digit) of a group opcode. */
  digit?: number;
  /** The SDM's mnemonic in lower case; for +cc rows the cc-less stem (jcc, setcc, cmovcc). */
  mnemonic: string;
  /**
   * Operands in the SDM's opcode-map notation, comma-separated: E/G/M/R/S/C/D take a ModRM byte;
   * Ib/Jb one immediate byte, Iw two, Iz/Jz/Iv one of the operand size, Ap a far pointer, Ob/Ov
   * a moffs of the address size; b/w/v/z give the size (v: 16 or 32 by operand size).
   */
  operands: string;
  /** A ModRM byte that the operands do not show (x87 escapes, hint NOPs). */
  modrm?: true;
  /** The executor's function for this form, and its constant arguments. */
  handler: string;
  args?: string[];
  /**
   * The form's operation as one expression, for a form whose shape has an operand-access
   * template (OPERATION_TEMPLATES in gen/generate.ts: `Gv,Ev`, `Gv,Eb`, `Gv,Ew`, `Gv,Ev,Ib`,
   * `Gv,Ev,Iz`): over `e` (the E operand), `g` (the G register before), `i` (the immediate, Ib
   * sign-extended) and `sz` (the operand size); its value goes to G (`g` to leave it as it was), its flags (if any) through
   * the operation's lazy record. The generator then writes `handler` and `fastHandler` themselves
   * (assembly/generated/handlers.ts), both around this one expression.
   */
  operation?: string;
  /** Flags by letter (OSZAPC, D, I): read, written (defined), undefined. */
  reads?: string;
  writes?: string;
  undefinedFlags?: UndefinedFlags;
  /** May transfer control (a jump, call, return, interrupt, HLT): ends a decoded block. */
  jump?: true;
  /** LOCK is legal with a memory destination (SDM Vol. 2 LOCK); otherwise LOCK is #UD. */
  lock?: true;
  privilege?: Privilege;
  /** The run loop's fast path executes it (some forms: "register" or "32-bit"). */
  fast?: true | "register" | "32-bit";
  /**
   * The fast path's handler for the form (assembly/fastpath.ts), and its constant arguments after
   * `p`, the host address of the byte after the opcode (`op`: the opcode byte; `cc`: its
   * condition, a constant per case). Set exactly when `fast` is (docs/instruction-table.md: why
   * the fast path has handlers of its own).
   */
  fastHandler?: string;
  fastArgs?: string[];
  /** The fast path's handler for the form after an operand-size prefix (0x66), `p` at its ModRM. */
  fastHandler16?: string;
  /**
   * The JIT's emitter for the form (`EMITTERS` in src/jit/instructions.ts: the WebAssembly it
   * becomes), and its constant arguments: names from src/jit/emitter-args.ts, `op` the opcode
   * byte, `cc` its condition. The JIT compiles 32-bit code, without prefixes unless `jitArgs16`
   * says; a row without `jit` runs through the interpreter from inside a unit (docs/jit.md).
   */
  jit?: string;
  jitArgs?: string[];
  /**
   * The JIT also compiles the form after an operand-size prefix (0x66), 16-bit, with these
   * arguments for its emitter (Iz is then two bytes).
   */
  jitArgs16?: string[];
  /** The JIT compiles only the register form (ModRM.mod 3); a memory form ends the unit before it. */
  jitForm?: "register";
  /**
   * What the oracle generator needs beyond the notation: shift and rotate `counts` to try,
   * `offsets` for a bit-offset register operand (kept near the memory operand, which it moves),
   * `skip`, a category of ORACLE_SKIP when the table sweep cannot run the row under qemu-i386
   * (privileged rows are skipped by their `privilege` alone), and `skipRegister`, one when only
   * the register form of an E operand cannot be run. SWEEP_SKIPS below sets the last three.
   */
  oracle?: { counts?: number[]; offsets?: number[]; skip?: OracleSkip; skipRegister?: OracleSkip };
  /** Why the row is as it is, when the SDM alone does not say. */
  note?: string;
}

/**
 * Why the oracle's table sweep (test/oracle/sweep.ts, golden/sweep.jsonl) leaves a row out, by
 * category. Every other row is swept: each operand size and each register and memory form runs
 * under qemu-i386, so a new row is tested once its golden cases are recorded.
 */
export const ORACLE_SKIP = {
  privileged:
    "CPL- or IOPL-dependent, or reads descriptors: the harness runs at CPL 3 under Linux's GDT, the oracle test runs the core at CPL 0 in a flat protected mode, so the two cannot agree",
  segment:
    "loads or stores a segment register: the selectors and descriptors of Linux's user mode are not the core's flat ones",
  far:
    "a far transfer or an interrupt: it loads CS or goes through the IDT (INT 80h is Linux's system call), which user mode does not share with the core",
  indirect:
    "a near transfer whose target comes from the stack, a register or memory: it must land in the case's code, which the callret group builds per case",
  prepared:
    "reads memory through a register the notation does not name (XLAT's EBX, ENTER's and LEAVE's EBP) or loads EFLAGS bits user mode cannot hold (POPF): the misc and stack groups prepare that state",
  system:
    "reads machine state that differs by design between qemu-user and the core (GDTR, IDTR, CR0, CPUID, counters), is the core's own hypercall, or is a fast system call qemu-user turns into the host's",
  qemu:
    "QEMU 7.2 raises #UD where the core executes the form: TEST's undocumented F6/F7 /1 alias of /0 (SDM Vol. 2 Appendix A, Table A-6), and the register forms of the prefetch hints 0F 0D and 0F 18, which the core takes as hint NOPs; there is no oracle to record",
  x87: "an x87 escape or its state image: test/fpu checks the x87 against its own golden files; the harness records no FPU state",
} as const;
export type OracleSkip = keyof typeof ORACLE_SKIP;

/** An instruction prefix (SDM Vol. 2 §2.1.1). */
export interface PrefixRow {
  byte: number;
  name: string;
  group: 1 | 2 | 3 | 4;
  /** The fast path takes the `fastHandler16` forms after this prefix (operand size). */
  fast16?: true;
  /**
   * The prefix changes nothing in a compiled unit, which runs only while DS and SS are flat
   * (docs/jit.md): an override to either selects the same addresses and checks. The JIT decodes
   * the instruction after it as if it were not there.
   */
  jitNoOp?: true;
}

export const PREFIXES: PrefixRow[] = [
  { byte: 0xf0, name: "lock", group: 1 },
  { byte: 0xf2, name: "repne", group: 1 },
  { byte: 0xf3, name: "rep", group: 1 },
  { byte: 0x26, name: "es", group: 2 },
  { byte: 0x2e, name: "cs", group: 2 },
  { byte: 0x36, name: "ss", group: 2, jitNoOp: true },
  { byte: 0x3e, name: "ds", group: 2, jitNoOp: true },
  { byte: 0x64, name: "fs", group: 2 },
  { byte: 0x65, name: "gs", group: 2 },
  { byte: 0x66, name: "operand-size", group: 3, fast16: true },
  { byte: 0x67, name: "address-size", group: 4 },
];

// ---- undefined flags, per mnemonic -----------------------------------------------------------

const LOGIC_UNDEFINED: UndefinedFlags = { flags: "A", sdm: "SDM Vol. 2 AND/OR/XOR/TEST: OF = CF = 0, AF undefined" };
const SHIFT_UNDEFINED: UndefinedFlags = {
  flags: "A", byCount: true, cfAtSize: true,
  sdm: "SDM Vol. 2B SAL/SAR/SHL/SHR: count 0 affects no flag; AF undefined; OF only for count 1; CF undefined for SHL/SHR once the count reaches the operand size",
};
const SAR_UNDEFINED: UndefinedFlags = {
  flags: "A", byCount: true,
  sdm: "SDM Vol. 2B SAL/SAR/SHL/SHR: count 0 affects no flag; AF undefined; OF only for count 1 (SAR's CF stays defined: the sign bit)",
};
const ROTATE_UNDEFINED: UndefinedFlags = {
  flags: "", byCount: true,
  sdm: "SDM Vol. 2B RCL/RCR/ROL/ROR: only CF and OF; count 0 affects neither; OF undefined unless the count is 1",
};
const DOUBLE_SHIFT_UNDEFINED: UndefinedFlags = {
  flags: "A", byCount: true,
  sdm: "SDM Vol. 2B SHLD/SHRD: count 0 affects nothing; AF undefined; OF undefined unless the count is 1",
};
const MUL_UNDEFINED: UndefinedFlags = { flags: "SZAP", sdm: "SDM Vol. 2A MUL/IMUL: CF and OF defined; SF ZF AF PF undefined" };
const DIV_UNDEFINED: UndefinedFlags = { flags: "OSZAPC", sdm: "SDM Vol. 2A DIV/IDIV: all six undefined" };
const BT_UNDEFINED: UndefinedFlags = { flags: "OSAP", sdm: "SDM Vol. 2A BT/BTS/BTR/BTC: CF is the bit; ZF unaffected; OF SF AF PF undefined" };
const BSF_UNDEFINED: UndefinedFlags = {
  flags: "OSAPC",
  sdm: "SDM Vol. 2A BSF/BSR: ZF defined; CF OF SF AF PF undefined (a zero source leaves the destination as it was, as QEMU, AMD and real CPUs do)",
};
const NONE: UndefinedFlags = { flags: "", sdm: "SDM Vol. 2: all six flags defined by the result" };

// ---- the one-byte map --------------------------------------------------------------------------

const rows: InstructionRow[] = [];
const add = (r: InstructionRow): void => void rows.push(r);

const ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"] as const;
const ALU_CONST = ["ALU_ADD", "ALU_OR", "ALU_ADC", "ALU_SBB", "ALU_AND", "ALU_SUB", "ALU_XOR", "ALU_CMP"];
ALU.forEach((mn, i) => {
  const logic = mn === "and" || mn === "or" || mn === "xor";
  const flags = {
    reads: mn === "adc" || mn === "sbb" ? "C" : undefined,
    writes: "OSZAPC",
    undefinedFlags: logic ? LOGIC_UNDEFINED : NONE,
  };
  const lock = mn === "cmp" ? undefined : (true as const);
  const op = ALU_CONST[i];
  // Byte ALU forms: CMP also with a memory operand, the others on registers only.
  const fastAlu8 = mn === "cmp"
    ? { fast: true as const, fastHandler: "fastCmp8", fastArgs: ["op"] }
    : { fast: "register" as const, fastHandler: "fastAlu8Reg", fastArgs: ["op"] };
  add({ opcode: i * 8, mnemonic: mn, operands: "Eb,Gb", handler: "aluEG", args: [op, "SIZE_8"], ...flags, lock, ...fastAlu8, jit: "aluEG", jitArgs: [op, "SIZE_8"] });
  add({ opcode: i * 8 + 1, mnemonic: mn, operands: "Ev,Gv", handler: "aluEG", args: [op, "opsz"], ...flags, lock, fast: "32-bit", fastHandler: "fastAlu32", fastArgs: [op, "true"], jit: "aluEG", jitArgs: [op, "SIZE_32"] });
  add({ opcode: i * 8 + 2, mnemonic: mn, operands: "Gb,Eb", handler: "aluGE", args: [op, "SIZE_8"], ...flags, ...fastAlu8, jit: "aluGE", jitArgs: [op, "SIZE_8"] });
  add({ opcode: i * 8 + 3, mnemonic: mn, operands: "Gv,Ev", handler: "aluGE", args: [op, "opsz"], ...flags, fast: "32-bit", fastHandler: "fastAlu32", fastArgs: [op, "false"], jit: "aluGE", jitArgs: [op, "SIZE_32"] });
  add({ opcode: i * 8 + 4, mnemonic: mn, operands: "AL,Ib", handler: "aluAI", args: [op, "SIZE_8"], ...flags, jit: "aluAI", jitArgs: [op, "SIZE_8"] });
  add({ opcode: i * 8 + 5, mnemonic: mn, operands: "eAX,Iz", handler: "aluAI", args: [op, "opsz"], ...flags, fast: "32-bit", fastHandler: "fastAluEaxImm", fastArgs: ["op"], jit: "aluAI", jitArgs: [op, "SIZE_32"] });
  add({ opcode: 0x80, digit: i, mnemonic: mn, operands: "Eb,Ib", handler: "aluEI", args: ["op"], ...flags, lock, fast: mn === "cmp" ? true : "register", fastHandler: "fastGroup1Eb", jit: "aluEI", jitArgs: [op, "SIZE_8"] });
  add({ opcode: 0x81, digit: i, mnemonic: mn, operands: "Ev,Iz", handler: "aluEI", args: ["op"], ...flags, lock, fast: "register", fastHandler: "fastAluEvImmReg", fastArgs: ["op"], jit: "aluEI", jitArgs: [op, "SIZE_32"] });
  add({ opcode: 0x82, digit: i, mnemonic: mn, operands: "Eb,Ib", handler: "aluEI", args: ["op"], ...flags, lock, note: "80's alias in 32-bit code (SDM Vol. 2 Appendix A, Table A-2)" });
  add({ opcode: 0x83, digit: i, mnemonic: mn, operands: "Ev,Ib", handler: "aluEI", args: ["op"], ...flags, lock, fast: "register", fastHandler: "fastAluEvImmReg", fastArgs: ["op"], jit: "aluEI", jitArgs: [op, "SIZE_32"] });
});

for (const [seg, name] of [[0x06, "ES"], [0x0e, "CS"], [0x16, "SS"], [0x1e, "DS"]] as const) {
  add({ opcode: seg, mnemonic: "push", operands: name, handler: "pushSreg", args: ["op"] });
}
for (const [seg, name] of [[0x07, "ES"], [0x17, "SS"], [0x1f, "DS"]] as const) {
  add({ opcode: seg, mnemonic: "pop", operands: name, handler: "popSreg", args: ["op"], note: seg === 0x17 ? "POP SS holds interrupts off for one instruction" : undefined });
}
add({ opcode: 0x27, mnemonic: "daa", operands: "", handler: "decimalAdjust", args: ["false"], reads: "AC", writes: "SZAPC", undefinedFlags: { flags: "O", sdm: "SDM Vol. 2A DAA: OF undefined" } });
add({ opcode: 0x2f, mnemonic: "das", operands: "", handler: "decimalAdjust", args: ["true"], reads: "AC", writes: "SZAPC", undefinedFlags: { flags: "O", sdm: "SDM Vol. 2A DAS: OF undefined" } });
add({ opcode: 0x37, mnemonic: "aaa", operands: "", handler: "aaa", args: ["false"], reads: "A", writes: "AC", undefinedFlags: { flags: "OSZP", sdm: "SDM Vol. 2A AAA: AF CF defined; OF SF ZF PF undefined" } });
add({ opcode: 0x3f, mnemonic: "aas", operands: "", handler: "aaa", args: ["true"], reads: "A", writes: "AC", undefinedFlags: { flags: "OSZP", sdm: "SDM Vol. 2A AAS: AF CF defined; OF SF ZF PF undefined" } });

const INC_DEC_FLAGS = { writes: "OSZAP", undefinedFlags: { flags: "", sdm: "SDM Vol. 2A INC/DEC: CF unaffected, the others by the result" } };
add({ opcode: 0x40, span: 8, mnemonic: "inc", operands: "Zv", handler: "incDecReg", args: ["op"], ...INC_DEC_FLAGS, fast: "32-bit", fastHandler: "fastIncDecReg", fastArgs: ["op"], jit: "incDecReg", jitArgs: ["op", "INC"] });
add({ opcode: 0x48, span: 8, mnemonic: "dec", operands: "Zv", handler: "incDecReg", args: ["op"], ...INC_DEC_FLAGS, fast: "32-bit", fastHandler: "fastIncDecReg", fastArgs: ["op"], jit: "incDecReg", jitArgs: ["op", "DEC"] });
add({ opcode: 0x50, span: 8, mnemonic: "push", operands: "Zv", handler: "pushReg", args: ["op"], fast: "32-bit", fastHandler: "fastPushReg", fastArgs: ["op"], jit: "pushReg", jitArgs: ["op"] });
add({ opcode: 0x58, span: 8, mnemonic: "pop", operands: "Zv", handler: "popReg", args: ["op"], fast: "32-bit", fastHandler: "fastPopReg", fastArgs: ["op"], jit: "popReg", jitArgs: ["op"] });
add({ opcode: 0x60, mnemonic: "pusha", operands: "", handler: "pusha" });
add({ opcode: 0x61, mnemonic: "popa", operands: "", handler: "popa" });
add({ opcode: 0x62, mnemonic: "bound", operands: "Gv,Ma", handler: "bound" });
add({ opcode: 0x63, mnemonic: "arpl", operands: "Ew,Gw", handler: "arpl", writes: "Z", privilege: "protected" });
add({ opcode: 0x68, mnemonic: "push", operands: "Iz", handler: "pushImm", jit: "pushImm" });
add({ opcode: 0x69, mnemonic: "imul", operands: "Gv,Ev,Iz", handler: "imulGvEvIz", operation: "imulTrunc(sz, e, i)", writes: "OC", undefinedFlags: MUL_UNDEFINED, fast: "32-bit", fastHandler: "fastImulGvEvIz", jit: "imulGEI" });
add({ opcode: 0x6a, mnemonic: "push", operands: "Ib", handler: "pushImm8", jit: "pushImm" });
add({ opcode: 0x6b, mnemonic: "imul", operands: "Gv,Ev,Ib", handler: "imulGvEvIb", operation: "imulTrunc(sz, e, i)", writes: "OC", undefinedFlags: MUL_UNDEFINED, fast: "32-bit", fastHandler: "fastImulGvEvIb", jit: "imulGEI" });
add({ opcode: 0x6c, mnemonic: "ins", operands: "Yb,DX", handler: "stringInOut", args: ["op"], reads: "D", privilege: "io" });
add({ opcode: 0x6d, mnemonic: "ins", operands: "Yz,DX", handler: "stringInOut", args: ["op"], reads: "D", privilege: "io" });
add({ opcode: 0x6e, mnemonic: "outs", operands: "DX,Xb", handler: "stringInOut", args: ["op"], reads: "D", privilege: "io" });
add({ opcode: 0x6f, mnemonic: "outs", operands: "DX,Xz", handler: "stringInOut", args: ["op"], reads: "D", privilege: "io" });
add({ opcode: 0x70, span: 16, mnemonic: "jcc", operands: "Jb", handler: "jccRel8", args: ["op"], reads: "OSZPC", jump: true, fast: true, fastHandler: "fastJccRel8", fastArgs: ["cc"], jit: "jcc", jitArgs: ["cc"] });

const TEST_FLAGS = { writes: "OSZAPC", undefinedFlags: LOGIC_UNDEFINED };
add({ opcode: 0x84, mnemonic: "test", operands: "Eb,Gb", handler: "testEG", args: ["SIZE_8"], ...TEST_FLAGS, fast: true, fastHandler: "fastTestEbGb", jit: "aluEG", jitArgs: ["ALU_TEST", "SIZE_8"] });
add({ opcode: 0x85, mnemonic: "test", operands: "Ev,Gv", handler: "testEG", args: ["opsz"], ...TEST_FLAGS, fast: "32-bit", fastHandler: "fastTestEvGv", jit: "aluEG", jitArgs: ["ALU_TEST", "SIZE_32"] });
add({ opcode: 0x86, mnemonic: "xchg", operands: "Eb,Gb", handler: "xchgEG", args: ["SIZE_8"], lock: true, note: "locked whether or not LOCK is given" });
add({ opcode: 0x87, mnemonic: "xchg", operands: "Ev,Gv", handler: "xchgEG", args: ["opsz"], lock: true });
add({ opcode: 0x88, mnemonic: "mov", operands: "Eb,Gb", handler: "movEG", args: ["SIZE_8"], fast: true, fastHandler: "fastMovEbGb", jit: "movEG", jitArgs: ["SIZE_8"] });
add({ opcode: 0x89, mnemonic: "mov", operands: "Ev,Gv", handler: "movEG", args: ["opsz"], fast: "32-bit", fastHandler: "fastMovEvGv", fastHandler16: "fastMovEwGw", jit: "movEG", jitArgs: ["SIZE_32"], jitArgs16: ["SIZE_16"] });
add({ opcode: 0x8a, mnemonic: "mov", operands: "Gb,Eb", handler: "movGE", args: ["SIZE_8"], fast: true, fastHandler: "fastMovGbEb", jit: "movGE", jitArgs: ["SIZE_8"] });
add({ opcode: 0x8b, mnemonic: "mov", operands: "Gv,Ev", handler: "movGE", args: ["opsz"], fast: "32-bit", fastHandler: "fastMovGvEv", fastHandler16: "fastMovGwEw", jit: "movGE", jitArgs: ["SIZE_32"], jitArgs16: ["SIZE_16"] });
add({ opcode: 0x8c, mnemonic: "mov", operands: "Ew,Sw", handler: "movESreg" });
add({ opcode: 0x8d, mnemonic: "lea", operands: "Gv,M", handler: "lea", fast: "32-bit", fastHandler: "fastLea", jit: "lea" });
add({ opcode: 0x8e, mnemonic: "mov", operands: "Sw,Ew", handler: "movSregE", note: "MOV SS holds interrupts off for one instruction" });
add({ opcode: 0x8f, digit: 0, mnemonic: "pop", operands: "Ev", handler: "popE" });
add({ opcode: 0x90, mnemonic: "nop", operands: "", handler: "nop", fast: true, fastHandler: "fastNop", jit: "nop", note: "PAUSE with F3" });
add({ opcode: 0x91, span: 7, mnemonic: "xchg", operands: "Zv,eAX", handler: "xchgAxReg", args: ["op"], note: "91–97: 90 (XCHG eAX, eAX) is NOP" });
add({ opcode: 0x98, mnemonic: "cbw", operands: "", handler: "cbw" });
add({ opcode: 0x99, mnemonic: "cwd", operands: "", handler: "cwd" });
add({ opcode: 0x9a, mnemonic: "call", operands: "Ap", handler: "callFarImm", jump: true });
add({ opcode: 0x9b, mnemonic: "wait", operands: "", handler: "fpuWait" });
add({ opcode: 0x9c, mnemonic: "pushf", operands: "", handler: "pushf", reads: "OSZAPCDI", privilege: "v86-iopl" });
add({ opcode: 0x9d, mnemonic: "popf", operands: "", handler: "popf", writes: "OSZAPCDI", privilege: "v86-iopl" });
add({ opcode: 0x9e, mnemonic: "sahf", operands: "", handler: "sahf", writes: "SZAPC" });
add({ opcode: 0x9f, mnemonic: "lahf", operands: "", handler: "lahf", reads: "SZAPC" });
add({ opcode: 0xa0, mnemonic: "mov", operands: "AL,Ob", handler: "movAccMoffs", args: ["SIZE_8"] });
add({ opcode: 0xa1, mnemonic: "mov", operands: "eAX,Ov", handler: "movAccMoffs", args: ["opsz"], jit: "movAccMoffs" });
add({ opcode: 0xa2, mnemonic: "mov", operands: "Ob,AL", handler: "movMoffsAcc", args: ["SIZE_8"] });
add({ opcode: 0xa3, mnemonic: "mov", operands: "Ov,eAX", handler: "movMoffsAcc", args: ["opsz"], jit: "movMoffsAcc" });
for (const [op, mn, operands] of [
  [0xa4, "movs", "Yb,Xb"], [0xa5, "movs", "Yv,Xv"], [0xa6, "cmps", "Xb,Yb"], [0xa7, "cmps", "Xv,Yv"],
  [0xaa, "stos", "Yb,AL"], [0xab, "stos", "Yv,eAX"], [0xac, "lods", "AL,Xb"], [0xad, "lods", "eAX,Xv"],
  [0xae, "scas", "AL,Yb"], [0xaf, "scas", "eAX,Yv"],
] as const) {
  const compares = mn === "cmps" || mn === "scas";
  // The JIT compiles LODS (DS:ESI, flat in a unit); the others address ES, which a unit does not require flat.
  const jit = mn === "lods" ? { jit: "lods", jitArgs: [op === 0xac ? "SIZE_8" : "SIZE_32"] } : {};
  add({ opcode: op, mnemonic: mn, operands, handler: "stringMove", args: ["op"], reads: compares ? "D" : "D", writes: compares ? "OSZAPC" : undefined, undefinedFlags: compares ? NONE : undefined, ...jit });
}
add({ opcode: 0xa8, mnemonic: "test", operands: "AL,Ib", handler: "testAI", args: ["SIZE_8"], ...TEST_FLAGS, jit: "aluAI", jitArgs: ["ALU_TEST", "SIZE_8"] });
add({ opcode: 0xa9, mnemonic: "test", operands: "eAX,Iz", handler: "testAI", args: ["opsz"], ...TEST_FLAGS, jit: "aluAI", jitArgs: ["ALU_TEST", "SIZE_32"] });
add({ opcode: 0xb0, span: 8, mnemonic: "mov", operands: "Zb,Ib", handler: "movRegImm8", args: ["op"], jit: "movRegImm", jitArgs: ["op", "SIZE_8"] });
add({ opcode: 0xb8, span: 8, mnemonic: "mov", operands: "Zv,Iv", handler: "movRegImm", args: ["op"], fast: "32-bit", fastHandler: "fastMovRegImm", fastArgs: ["op"], jit: "movRegImm", jitArgs: ["op", "SIZE_32"] });

const SHIFTS = [["rol", 0], ["ror", 1], ["rcl", 2], ["rcr", 3], ["shl", 4], ["shr", 5], ["sal", 6], ["sar", 7]] as const;
for (const [mn, digit] of SHIFTS) {
  const undefinedFlags = mn === "sar" ? SAR_UNDEFINED : mn.startsWith("r") ? ROTATE_UNDEFINED : SHIFT_UNDEFINED;
  const flags = {
    reads: mn === "rcl" || mn === "rcr" ? "C" : undefined,
    writes: mn.startsWith("r") ? "OC" : "OSZAPC",
    undefinedFlags,
    oracle: { counts: [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 0xff] },
    note: mn === "sal" ? "/6 is SHL's alias (undocumented; SDM Vol. 2 Appendix A, Table A-6)" : undefined,
  };
  for (const [op, operands, count] of [
    [0xc0, "Eb,Ib", "imm8"], [0xc1, "Ev,Ib", "imm8"], [0xd0, "Eb,1", "one"], [0xd1, "Ev,1", "one"], [0xd2, "Eb,CL", "cl"], [0xd3, "Ev,CL", "cl"],
  ] as const) {
    const fast = op === 0xc1 || op === 0xd1 || op === 0xd3 ? ("register" as const) : undefined;
    const fastHandler = fast && (op === 0xc1 ? { fastHandler: "fastShiftRegImm", fastHandler16: "fastShiftReg16Imm" } : { fastHandler: "fastShiftReg", fastArgs: ["op"] });
    // The JIT compiles SHL/SAL, SHR, SAR, ROL and ROR of a register (RCL and RCR are the
    // interpreter's), 32-bit, and 16-bit after 0x66 where the count is a constant.
    const jitEmitter = ({ 0xc1: "shiftImm", 0xd1: "shiftOne", 0xd3: "shiftCl" } as Record<number, string>)[op];
    const sub = `SHIFT_${mn === "sal" ? "SHL" : mn.toUpperCase()}`;
    const jit = jitEmitter && digit !== 2 && digit !== 3
      ? { jit: jitEmitter, jitArgs: [sub, "SIZE_32"], ...(op !== 0xd3 ? { jitArgs16: [sub, "SIZE_16"] } : {}), jitForm: "register" as const }
      : {};
    add({ opcode: op, digit, mnemonic: mn, operands, handler: "shiftGroup", args: ["op"], ...flags, fast, ...fastHandler, ...jit });
  }
}
add({ opcode: 0xc2, mnemonic: "ret", operands: "Iw", handler: "retImm", jump: true });
add({ opcode: 0xc3, mnemonic: "ret", operands: "", handler: "ret", jump: true, fast: "32-bit", fastHandler: "fastRet", jit: "ret" });
add({ opcode: 0xc4, mnemonic: "les", operands: "Gz,Mp", handler: "lesLds", args: ["op"] });
add({ opcode: 0xc5, mnemonic: "lds", operands: "Gz,Mp", handler: "lesLds", args: ["op"] });
add({ opcode: 0xc6, digit: 0, mnemonic: "mov", operands: "Eb,Ib", handler: "movEI", args: ["SIZE_8"], fast: true, fastHandler: "fastMovEbIb", jit: "movEI", jitArgs: ["SIZE_8"] });
add({ opcode: 0xc7, digit: 0, mnemonic: "mov", operands: "Ev,Iz", handler: "movEI", args: ["opsz"], fast: "32-bit", fastHandler: "fastMovEvIz", fastHandler16: "fastMovEwIw", jit: "movEI", jitArgs: ["SIZE_32"] });
add({ opcode: 0xc8, mnemonic: "enter", operands: "Iw,Ib", handler: "enter" });
add({ opcode: 0xc9, mnemonic: "leave", operands: "", handler: "leave", jit: "leave" });
add({ opcode: 0xca, mnemonic: "retf", operands: "Iw", handler: "retFarImm", jump: true });
add({ opcode: 0xcb, mnemonic: "retf", operands: "", handler: "retFar", jump: true });
add({ opcode: 0xcc, mnemonic: "int3", operands: "", handler: "int3", jump: true });
add({ opcode: 0xcd, mnemonic: "int", operands: "Ib", handler: "intImm", jump: true, privilege: "v86-iopl" });
add({ opcode: 0xce, mnemonic: "into", operands: "", handler: "into", reads: "O", jump: true });
add({ opcode: 0xcf, mnemonic: "iret", operands: "", handler: "iret", writes: "OSZAPCDI", jump: true });
const ASCII_FLAGS = { writes: "SZP", undefinedFlags: { flags: "OAC", sdm: "SDM Vol. 2A AAM/AAD: SF ZF PF by AL; OF AF CF undefined" } };
add({ opcode: 0xd4, mnemonic: "aam", operands: "Ib", handler: "aam", ...ASCII_FLAGS });
add({ opcode: 0xd5, mnemonic: "aad", operands: "Ib", handler: "aad", ...ASCII_FLAGS });
add({ opcode: 0xd6, mnemonic: "salc", operands: "", handler: "salc", reads: "C", note: "undocumented: AL = CF ? 0xFF : 0" });
add({ opcode: 0xd7, mnemonic: "xlat", operands: "", handler: "xlat" });
add({ opcode: 0xd8, span: 8, mnemonic: "fpu", operands: "", modrm: true, handler: "fpuEscape", args: ["op"], note: "x87 escapes: assembly/fpu/ decodes them" });
add({ opcode: 0xe0, mnemonic: "loopne", operands: "Jb", handler: "loop", args: ["op"], reads: "Z", jump: true });
add({ opcode: 0xe1, mnemonic: "loope", operands: "Jb", handler: "loop", args: ["op"], reads: "Z", jump: true });
add({ opcode: 0xe2, mnemonic: "loop", operands: "Jb", handler: "loop", args: ["op"], jump: true });
add({ opcode: 0xe3, mnemonic: "jecxz", operands: "Jb", handler: "jecxz", jump: true });
add({ opcode: 0xe4, mnemonic: "in", operands: "AL,Ib", handler: "inImm", args: ["SIZE_8"], privilege: "io" });
add({ opcode: 0xe5, mnemonic: "in", operands: "eAX,Ib", handler: "inImm", args: ["opsz"], privilege: "io" });
add({ opcode: 0xe6, mnemonic: "out", operands: "Ib,AL", handler: "outImm", args: ["SIZE_8"], privilege: "io" });
add({ opcode: 0xe7, mnemonic: "out", operands: "Ib,eAX", handler: "outImm", args: ["opsz"], privilege: "io" });
add({ opcode: 0xe8, mnemonic: "call", operands: "Jz", handler: "callRel", jump: true, fast: "32-bit", fastHandler: "fastCallRel", jit: "callRel" });
add({ opcode: 0xe9, mnemonic: "jmp", operands: "Jz", handler: "jmpRel", jump: true, fast: "32-bit", fastHandler: "fastJmpRel", jit: "jmpRel" });
add({ opcode: 0xea, mnemonic: "jmp", operands: "Ap", handler: "jmpFarImm", jump: true });
add({ opcode: 0xeb, mnemonic: "jmp", operands: "Jb", handler: "jmpRel8", jump: true, fast: true, fastHandler: "fastJmpRel8", jit: "jmpRel" });
add({ opcode: 0xec, mnemonic: "in", operands: "AL,DX", handler: "inDx", args: ["SIZE_8"], privilege: "io" });
add({ opcode: 0xed, mnemonic: "in", operands: "eAX,DX", handler: "inDx", args: ["opsz"], privilege: "io" });
add({ opcode: 0xee, mnemonic: "out", operands: "DX,AL", handler: "outDx", args: ["SIZE_8"], privilege: "io" });
add({ opcode: 0xef, mnemonic: "out", operands: "DX,eAX", handler: "outDx", args: ["opsz"], privilege: "io" });
add({ opcode: 0xf1, mnemonic: "int1", operands: "", handler: "int1", jump: true, note: "ICEBP" });
add({ opcode: 0xf4, mnemonic: "hlt", operands: "", handler: "hlt", jump: true, privilege: "cpl0" });
add({ opcode: 0xf5, mnemonic: "cmc", operands: "", handler: "cmc", reads: "C", writes: "C" });

const GROUP3: [number, string, string, string, Partial<InstructionRow>][] = [
  [0, "test", "I", "testEI", { writes: "OSZAPC", undefinedFlags: LOGIC_UNDEFINED }],
  [1, "test", "I", "testEI", { writes: "OSZAPC", undefinedFlags: LOGIC_UNDEFINED, note: "/1 is /0's alias (undocumented; SDM Vol. 2 Appendix A, Table A-6)" }],
  [2, "not", "", "notE", { lock: true }],
  [3, "neg", "", "negE", { writes: "OSZAPC", undefinedFlags: NONE, lock: true }],
  [4, "mul", "", "mulDivE", { writes: "OC", undefinedFlags: MUL_UNDEFINED }],
  [5, "imul", "", "mulDivE", { writes: "OC", undefinedFlags: MUL_UNDEFINED }],
  [6, "div", "", "mulDivE", { undefinedFlags: DIV_UNDEFINED }],
  [7, "idiv", "", "mulDivE", { undefinedFlags: DIV_UNDEFINED }],
];
for (const [digit, mn, imm, handler, extra] of GROUP3) {
  // The JIT compiles TEST (/0; /1, its undocumented alias, is the interpreter's) of a byte or
  // 32-bit operand, and NOT, NEG, MUL, DIV and IDIV of a 32-bit operand.
  const test = (sz: string) => (digit === 0 ? { jit: "aluEI", jitArgs: ["ALU_TEST", sz] } : {});
  add({ opcode: 0xf6, digit, mnemonic: mn, operands: imm ? "Eb,Ib" : "Eb", handler, args: ["SIZE_8"], ...extra, ...test("SIZE_8") });
  const jit = ({ 2: "notE", 3: "negE", 4: "mulE", 6: "divE", 7: "idivE" } as Record<number, string>)[digit];
  add({ opcode: 0xf7, digit, mnemonic: mn, operands: imm ? "Ev,Iz" : "Ev", handler, args: ["opsz"], ...extra, fast: "32-bit", fastHandler: "fastGroup3", ...(jit ? { jit } : {}), ...test("SIZE_32") });
}
add({ opcode: 0xf8, mnemonic: "clc", operands: "", handler: "clc", writes: "C" });
add({ opcode: 0xf9, mnemonic: "stc", operands: "", handler: "stc", writes: "C" });
add({ opcode: 0xfa, mnemonic: "cli", operands: "", handler: "cli", writes: "I", privilege: "iopl" });
add({ opcode: 0xfb, mnemonic: "sti", operands: "", handler: "sti", writes: "I", privilege: "iopl", note: "interrupts are recognized only after the next instruction" });
add({ opcode: 0xfc, mnemonic: "cld", operands: "", handler: "cld", writes: "D" });
add({ opcode: 0xfd, mnemonic: "std", operands: "", handler: "std", writes: "D" });
add({ opcode: 0xfe, digit: 0, mnemonic: "inc", operands: "Eb", handler: "incDecEb", ...INC_DEC_FLAGS, lock: true });
add({ opcode: 0xfe, digit: 1, mnemonic: "dec", operands: "Eb", handler: "incDecEb", ...INC_DEC_FLAGS, lock: true });
add({ opcode: 0xff, digit: 0, mnemonic: "inc", operands: "Ev", handler: "incDecE", args: ["opsz"], ...INC_DEC_FLAGS, lock: true, fast: "32-bit", fastHandler: "fastGroup5", jit: "incDecE", jitArgs: ["INC"] });
add({ opcode: 0xff, digit: 1, mnemonic: "dec", operands: "Ev", handler: "incDecE", args: ["opsz"], ...INC_DEC_FLAGS, lock: true, fast: "32-bit", fastHandler: "fastGroup5", jit: "incDecE", jitArgs: ["DEC"] });
add({ opcode: 0xff, digit: 2, mnemonic: "call", operands: "Ev", handler: "callNearE", jump: true, fast: "32-bit", fastHandler: "fastGroup5" });
add({ opcode: 0xff, digit: 3, mnemonic: "call", operands: "Mp", handler: "callJmpFarM", jump: true });
add({ opcode: 0xff, digit: 4, mnemonic: "jmp", operands: "Ev", handler: "jmpNearE", jump: true, fast: "32-bit", fastHandler: "fastGroup5" });
add({ opcode: 0xff, digit: 5, mnemonic: "jmp", operands: "Mp", handler: "callJmpFarM", jump: true });
add({ opcode: 0xff, digit: 6, mnemonic: "push", operands: "Ev", handler: "pushE", fast: "32-bit", fastHandler: "fastGroup5" });

// ---- the 0F map ------------------------------------------------------------------------------

const T = 0x0f00;
for (const [digit, mn, operands, extra] of [
  [0, "sldt", "Ew", {}], [1, "str", "Ew", {}], [2, "lldt", "Ew", { privilege: "cpl0" }], [3, "ltr", "Ew", { privilege: "cpl0" }],
  [4, "verr", "Ew", { writes: "Z" }], [5, "verw", "Ew", { writes: "Z" }],
] as const) {
  add({ opcode: T | 0x00, digit, mnemonic: mn, operands, handler: "group6", privilege: "protected", ...(extra as Partial<InstructionRow>) });
}
for (const [digit, mn, operands, extra] of [
  [0, "sgdt", "Ms", {}], [1, "sidt", "Ms", {}], [2, "lgdt", "Ms", { privilege: "cpl0" }], [3, "lidt", "Ms", { privilege: "cpl0" }],
  [4, "smsw", "Ew", {}], [6, "lmsw", "Ew", { privilege: "cpl0" }], [7, "invlpg", "M", { privilege: "cpl0" }],
] as const) {
  add({ opcode: T | 0x01, digit, mnemonic: mn, operands, handler: "group7", ...(extra as Partial<InstructionRow>) });
}
add({ opcode: T | 0x01, digit: 0, mnemonic: "vmcall", operands: "", handler: "group7", note: "ModRM C1 exactly: the VMI hypercall (docs/vmi.md)" });
add({ opcode: T | 0x02, mnemonic: "lar", operands: "Gv,Ew", handler: "larLsl", args: ["op"], writes: "Z", privilege: "protected" });
add({ opcode: T | 0x03, mnemonic: "lsl", operands: "Gv,Ew", handler: "larLsl", args: ["op"], writes: "Z", privilege: "protected" });
add({ opcode: T | 0x05, mnemonic: "syscall", operands: "", handler: "raiseUD", jump: true, note: "AMD's; #UD here, but a block ends at it as it would where it exists" });
add({ opcode: T | 0x06, mnemonic: "clts", operands: "", handler: "clts", privilege: "cpl0" });
add({ opcode: T | 0x07, mnemonic: "sysret", operands: "", handler: "raiseUD", jump: true, note: "AMD's; #UD here, but a block ends at it as it would where it exists" });
add({ opcode: T | 0x08, mnemonic: "invd", operands: "", handler: "invd", privilege: "cpl0" });
add({ opcode: T | 0x09, mnemonic: "wbinvd", operands: "", handler: "invd", privilege: "cpl0" });
add({ opcode: T | 0x0b, mnemonic: "ud2", operands: "", handler: "raiseUD", jump: true });
add({ opcode: T | 0x0d, mnemonic: "nop", operands: "Ev", handler: "hintNop", note: "prefetch hint (3DNow!): a NOP here" });
add({ opcode: T | 0x18, span: 8, mnemonic: "nop", operands: "Ev", handler: "hintNop", note: "prefetch hints and multi-byte NOP (P6)" });
add({ opcode: T | 0x20, mnemonic: "mov", operands: "Rd,Cd", handler: "movControl", args: ["op"], privilege: "cpl0", note: "ModRM.mod is ignored: always a register" });
add({ opcode: T | 0x21, mnemonic: "mov", operands: "Rd,Dd", handler: "movControl", args: ["op"], privilege: "cpl0" });
add({ opcode: T | 0x22, mnemonic: "mov", operands: "Cd,Rd", handler: "movControl", args: ["op"], privilege: "cpl0" });
add({ opcode: T | 0x23, mnemonic: "mov", operands: "Dd,Rd", handler: "movControl", args: ["op"], privilege: "cpl0" });
add({ opcode: T | 0x30, mnemonic: "wrmsr", operands: "", handler: "wrmsr", privilege: "cpl0" });
add({ opcode: T | 0x31, mnemonic: "rdtsc", operands: "", handler: "rdtsc", note: "CPL 0 only when CR4.TSD" });
add({ opcode: T | 0x32, mnemonic: "rdmsr", operands: "", handler: "rdmsr", privilege: "cpl0" });
add({ opcode: T | 0x33, mnemonic: "rdpmc", operands: "", handler: "rdpmc", note: "CPL 0 only unless CR4.PCE" });
add({ opcode: T | 0x34, mnemonic: "sysenter", operands: "", handler: "sysenter", jump: true });
add({ opcode: T | 0x35, mnemonic: "sysexit", operands: "", handler: "sysexit", jump: true, privilege: "cpl0" });
add({ opcode: T | 0x40, span: 16, mnemonic: "cmovcc", operands: "Gv,Ev", handler: "cmov", args: ["op"], reads: "OSZPC", jit: "cmov", jitArgs: ["cc"] });
add({ opcode: T | 0x80, span: 16, mnemonic: "jcc", operands: "Jz", handler: "jccRel", args: ["op"], reads: "OSZPC", jump: true, fast: "32-bit", fastHandler: "fastJccRel32", fastArgs: ["cc"], jit: "jcc", jitArgs: ["cc"] });
add({ opcode: T | 0x90, span: 16, mnemonic: "setcc", operands: "Eb", handler: "setcc", args: ["op"], reads: "OSZPC", jit: "setcc", jitArgs: ["cc"] });
add({ opcode: T | 0xa0, mnemonic: "push", operands: "FS", handler: "pushFsGs", args: ["op"] });
add({ opcode: T | 0xa1, mnemonic: "pop", operands: "FS", handler: "popFsGs", args: ["op"] });
add({ opcode: T | 0xa2, mnemonic: "cpuid", operands: "", handler: "cpuid" });
add({ opcode: T | 0xa8, mnemonic: "push", operands: "GS", handler: "pushFsGs", args: ["op"] });
add({ opcode: T | 0xa9, mnemonic: "pop", operands: "GS", handler: "popFsGs", args: ["op"] });
for (const [op, mn] of [[0xa3, "bt"], [0xab, "bts"], [0xb3, "btr"], [0xbb, "btc"]] as const) {
  add({ opcode: T | op, mnemonic: mn, operands: "Ev,Gv", handler: "bitTestG", args: ["op"], writes: "C", undefinedFlags: BT_UNDEFINED, lock: mn === "bt" ? undefined : true });
}
for (const [digit, mn] of [[4, "bt"], [5, "bts"], [6, "btr"], [7, "btc"]] as const) {
  add({ opcode: T | 0xba, digit, mnemonic: mn, operands: "Ev,Ib", handler: "bitTestI", writes: "C", undefinedFlags: BT_UNDEFINED, lock: mn === "bt" ? undefined : true });
}
for (const [op, mn, operands] of [[0xa4, "shld", "Ev,Gv,Ib"], [0xa5, "shld", "Ev,Gv,CL"], [0xac, "shrd", "Ev,Gv,Ib"], [0xad, "shrd", "Ev,Gv,CL"]] as const) {
  const fast = operands.endsWith("Ib") ? { fast: "register" as const, fastHandler: "fastShiftDouble", fastArgs: ["op"] } : {};
  const jit = { jit: operands.endsWith("Ib") ? "shiftDoubleImm" : "shiftDoubleCl", jitArgs: [mn === "shld" ? "SHIFT_SHL" : "SHIFT_SHR"] };
  add({ opcode: T | op, mnemonic: mn, operands, handler: "shiftDoubleE", args: ["op"], writes: "OSZAPC", undefinedFlags: DOUBLE_SHIFT_UNDEFINED, ...fast, ...jit });
}
add({ opcode: T | 0xae, digit: 0, mnemonic: "fxsave", operands: "M", handler: "fxsaveRestore" });
add({ opcode: T | 0xae, digit: 1, mnemonic: "fxrstor", operands: "M", handler: "fxsaveRestore" });
add({ opcode: T | 0xaf, mnemonic: "imul", operands: "Gv,Ev", handler: "imulGvEv", operation: "imulTrunc(sz, g, e)", writes: "OC", undefinedFlags: MUL_UNDEFINED, fast: "32-bit", fastHandler: "fastImulGvEv", jit: "imulGE" });
add({ opcode: T | 0xb0, mnemonic: "cmpxchg", operands: "Eb,Gb", handler: "cmpxchg", args: ["SIZE_8"], writes: "OSZAPC", undefinedFlags: NONE, lock: true });
add({ opcode: T | 0xb1, mnemonic: "cmpxchg", operands: "Ev,Gv", handler: "cmpxchg", args: ["opsz"], writes: "OSZAPC", undefinedFlags: NONE, lock: true });
add({ opcode: T | 0xb2, mnemonic: "lss", operands: "Gz,Mp", handler: "lssLfsLgs", args: ["op"] });
add({ opcode: T | 0xb4, mnemonic: "lfs", operands: "Gz,Mp", handler: "lssLfsLgs", args: ["op"] });
add({ opcode: T | 0xb5, mnemonic: "lgs", operands: "Gz,Mp", handler: "lssLfsLgs", args: ["op"] });
add({ opcode: T | 0xb6, mnemonic: "movzx", operands: "Gv,Eb", handler: "movzxGvEb", operation: "e", fast: "32-bit", fastHandler: "fastMovzxGvEb", jit: "movzx", jitArgs: ["SIZE_8"] });
add({ opcode: T | 0xb7, mnemonic: "movzx", operands: "Gv,Ew", handler: "movzxGvEw", operation: "e", fast: "32-bit", fastHandler: "fastMovzxGvEw", jit: "movzx", jitArgs: ["SIZE_16"] });
add({ opcode: T | 0xbe, mnemonic: "movsx", operands: "Gv,Eb", handler: "movsxGvEb", operation: "signExtend(e, SIZE_8)", fast: "32-bit", fastHandler: "fastMovsxGvEb", jit: "movsx", jitArgs: ["SIZE_8"] });
add({ opcode: T | 0xbf, mnemonic: "movsx", operands: "Gv,Ew", handler: "movsxGvEw", operation: "signExtend(e, SIZE_16)", fast: "32-bit", fastHandler: "fastMovsxGvEw", jit: "movsx", jitArgs: ["SIZE_16"] });
add({ opcode: T | 0xbc, mnemonic: "bsf", operands: "Gv,Ev", handler: "bsfGvEv", operation: "bitScan(false, sz, e, g)", writes: "Z", undefinedFlags: BSF_UNDEFINED, fast: "32-bit", fastHandler: "fastBsfGvEv", jit: "bitScan", jitArgs: ["SCAN_FORWARD"] });
add({ opcode: T | 0xbd, mnemonic: "bsr", operands: "Gv,Ev", handler: "bsrGvEv", operation: "bitScan(true, sz, e, g)", writes: "Z", undefinedFlags: BSF_UNDEFINED, fast: "32-bit", fastHandler: "fastBsrGvEv", jit: "bitScan", jitArgs: ["SCAN_REVERSE"] });
add({ opcode: T | 0xc0, mnemonic: "xadd", operands: "Eb,Gb", handler: "xadd", args: ["SIZE_8"], writes: "OSZAPC", undefinedFlags: NONE, lock: true });
add({ opcode: T | 0xc1, mnemonic: "xadd", operands: "Ev,Gv", handler: "xadd", args: ["opsz"], writes: "OSZAPC", undefinedFlags: NONE, lock: true });
add({ opcode: T | 0xc7, digit: 1, mnemonic: "cmpxchg8b", operands: "Mq", handler: "cmpxchg8b", writes: "Z", undefinedFlags: { flags: "", sdm: "SDM Vol. 2A CMPXCHG8B: ZF defined, the others unaffected" }, lock: true });
add({ opcode: T | 0xc8, span: 8, mnemonic: "bswap", operands: "Zd", handler: "bswapReg", args: ["op"] });

// ---- the oracle's table sweep ---------------------------------------------------------------

/**
 * The forms the oracle's table sweep leaves out beyond the privileged ones, by ORACLE_SKIP
 * category: `mnemonic operands`, with `/digit` where that alone tells two forms apart.
 */
const SWEEP_SKIPS: Record<OracleSkip, string[]> = {
  privileged: [],
  segment: [
    "push ES", "push CS", "push SS", "push DS", "pop ES", "pop SS", "pop DS", "mov Ew,Sw", "mov Sw,Ew",
    "les Gz,Mp", "lds Gz,Mp", "lss Gz,Mp", "lfs Gz,Mp", "lgs Gz,Mp", "push FS", "pop FS", "push GS", "pop GS",
  ],
  far: ["call Ap", "jmp Ap", "retf Iw", "retf", "int Ib", "iret", "int1", "call Mp", "jmp Mp"],
  indirect: ["ret Iw", "ret", "call Ev", "jmp Ev"],
  prepared: ["popf", "enter Iw,Ib", "leave", "xlat"],
  system: ["sgdt Ms", "sidt Ms", "smsw Ew", "vmcall", "syscall", "sysret", "rdtsc", "rdpmc", "sysenter", "cpuid"],
  qemu: ["test Eb,Ib /1", "test Ev,Iz /1"],
  x87: ["fpu", "fxsave M", "fxrstor M"],
};
/** Forms whose E operand the sweep takes from memory only, by category: the prefetch hints. */
const SWEEP_SKIP_REGISTER: [string, OracleSkip][] = [["nop Ev", "qemu"]];
/** Bit offsets within a few bytes either side of the operand, signed as the SDM reads them. */
const BIT_OFFSETS = [0, 1, 7, 8, 15, 16, 31, 32, 33, 63, -1, -8, -16, -17, -32, -33, 100, -100];
/** Counts up to 16 and their images above 31: a 16-bit count above 16 leaves the result undefined. */
const DOUBLE_SHIFT_COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 32, 33, 48];
const SWEEP_VALUES: [string, NonNullable<InstructionRow["oracle"]>][] = [
  ...["bt", "bts", "btr", "btc"].map((mn): [string, { offsets: number[] }] => [`${mn} Ev,Gv`, { offsets: BIT_OFFSETS }]),
  ...["shld", "shrd"].flatMap((mn) => ["Ib", "CL"].map((c): [string, { counts: number[] }] => [`${mn} Ev,Gv,${c}`, { counts: DOUBLE_SHIFT_COUNTS }])),
];

{
  const forms = (r: InstructionRow): string[] => {
    const plain = `${r.mnemonic} ${r.operands}`.trim();
    return r.digit === undefined ? [plain] : [plain, `${plain} /${r.digit}`];
  };
  const apply = (form: string, oracle: NonNullable<InstructionRow["oracle"]>): void => {
    const hit = rows.filter((r) => forms(r).includes(form));
    if (hit.length === 0) throw new Error(`the oracle's sweep names "${form}", which no row is`);
    for (const r of hit) r.oracle = { ...r.oracle, ...oracle };
  };
  for (const [skip, list] of Object.entries(SWEEP_SKIPS) as [OracleSkip, string[]][]) for (const form of list) apply(form, { skip });
  for (const [form, skipRegister] of SWEEP_SKIP_REGISTER) apply(form, { skipRegister });
  for (const [form, values] of SWEEP_VALUES) apply(form, values);
}

export const INSTRUCTIONS: readonly InstructionRow[] = rows;
