// The one map of the core's linear memory. Both the AssemblyScript core and the TypeScript
// host import this file, so every shared offset is written exactly once. Keep it to plain
// `export const NAME = expression` lines: that is the subset both compilers read alike.
//
// From low to high: the core's own static data (below LAYOUT_BASE), the CPU state block, the
// TLB and its fill list, then guest RAM, page aligned. Each region's offset is derived from
// the previous one's end.

export const LAYOUT_VERSION = 1;

/** Everything below this belongs to the AssemblyScript runtime's static data. */
export const LAYOUT_BASE = 0x100000;

// ---- CPU state block -------------------------------------------------------------------
export const STATE_BASE = LAYOUT_BASE;
export const STATE_SIZE = 0x1000;

/** General registers, u32 each, in ModRM order: EAX ECX EDX EBX ESP EBP ESI EDI. */
export const REG_BASE = STATE_BASE + 0x00;
export const REG_EAX = 0;
export const REG_ECX = 1;
export const REG_EDX = 2;
export const REG_EBX = 3;
export const REG_ESP = 4;
export const REG_EBP = 5;
export const REG_ESI = 6;
export const REG_EDI = 7;

export const STATE_EIP = STATE_BASE + 0x20;
/** EFLAGS as the host sees it: authoritative whenever run() is not executing. */
export const STATE_EFLAGS = STATE_BASE + 0x24;

// Lazy flags (core-private, but kept here so nothing else overlaps them).
export const STATE_LAZY_RESULT = STATE_BASE + 0x28;
export const STATE_LAZY_OP1 = STATE_BASE + 0x2c;
export const STATE_LAZY_OP2 = STATE_BASE + 0x30;
export const STATE_LAZY_KIND = STATE_BASE + 0x34;

/**
 * Segment registers, ES CS SS DS FS GS (the Sreg encoding order), then LDTR and TR.
 * Each is SEG_SIZE bytes: selector, base, limit (byte granular, already scaled), and the
 * descriptor's attribute bits (descriptor bytes 5..6, i.e. access byte in bits 0..7 and the
 * G/D/L/AVL nibble in bits 12..15), each a u32.
 */
export const SEG_BASE = STATE_BASE + 0x40;
export const SEG_SIZE = 16;
export const SEG_SELECTOR = 0;
export const SEG_BASE_ADDR = 4;
export const SEG_LIMIT = 8;
export const SEG_ATTR = 12;
export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;
export const SEG_LDTR = 6;
export const SEG_TR = 7;

/** Descriptor-table registers: base u32, limit u32. */
export const STATE_GDTR_BASE = STATE_BASE + 0xc0;
export const STATE_GDTR_LIMIT = STATE_BASE + 0xc4;
export const STATE_IDTR_BASE = STATE_BASE + 0xc8;
export const STATE_IDTR_LIMIT = STATE_BASE + 0xcc;

export const STATE_CR0 = STATE_BASE + 0xd0;
export const STATE_CR2 = STATE_BASE + 0xd4;
export const STATE_CR3 = STATE_BASE + 0xd8;
export const STATE_CR4 = STATE_BASE + 0xdc;
/** DR0..DR7, u32 each. */
export const STATE_DR_BASE = STATE_BASE + 0xe0;

/** Current privilege level (0..3). */
export const STATE_CPL = STATE_BASE + 0x100;
/** Non-zero while the CPU sits in HLT waiting for an interrupt. */
export const STATE_HALTED = STATE_BASE + 0x104;
/** Interrupt request line, set by the host's PIC model: non-zero = INTR asserted. */
export const STATE_INTR = STATE_BASE + 0x108;
/** The host sets this (from a device handler) to make run() return at the next instruction. */
export const STATE_STOP_REQUEST = STATE_BASE + 0x10c;
/** Non-zero: an exception stops run() with EXIT_EXCEPTION instead of being delivered (tests). */
export const STATE_TRAP_EXCEPTIONS = STATE_BASE + 0x110;
/** The vector and error code of the last exception (delivered or trapped); -1 = none. */
export const STATE_EXC_VECTOR = STATE_BASE + 0x114;
export const STATE_EXC_ERROR = STATE_BASE + 0x118;
/** Why run() returned: one of the EXIT_* values. */
export const STATE_EXIT_REASON = STATE_BASE + 0x11c;
/** Guest RAM size in bytes (set once by init). */
export const STATE_RAM_SIZE = STATE_BASE + 0x120;
/** Extra TSC offset the host may add (deterministic time keeps this at zero). */
export const STATE_TSC_OFFSET = STATE_BASE + 0x128;

/** SYSENTER MSRs (issue 3): CS, ESP, EIP. */
export const STATE_SYSENTER_CS = STATE_BASE + 0x130;
export const STATE_SYSENTER_ESP = STATE_BASE + 0x134;
export const STATE_SYSENTER_EIP = STATE_BASE + 0x138;

/** Counters, u64 each: instructions retired, and every crossing of the core/host boundary. */
export const COUNTER_BASE = STATE_BASE + 0x140;
export const COUNTER_INSTRUCTIONS = COUNTER_BASE + 0x00;
export const COUNTER_PORT_IN = COUNTER_BASE + 0x08;
export const COUNTER_PORT_OUT = COUNTER_BASE + 0x10;
export const COUNTER_MMIO_READ = COUNTER_BASE + 0x18;
export const COUNTER_MMIO_WRITE = COUNTER_BASE + 0x20;
export const COUNTER_HYPERCALL = COUNTER_BASE + 0x28;
export const COUNTER_INTERRUPTS = COUNTER_BASE + 0x30;
export const COUNTER_EXCEPTIONS = COUNTER_BASE + 0x38;
export const COUNTER_TLB_MISSES = COUNTER_BASE + 0x40;
export const COUNTER_TLB_FLUSHES = COUNTER_BASE + 0x48;
export const COUNTER_COUNT = 10;
export const COUNTER_NAMES = "instructions,portIn,portOut,mmioRead,mmioWrite,hypercall,interrupts,exceptions,tlbMisses,tlbFlushes";

/**
 * VMI (issue 4): the start of the hypervisor's reserved linear range (0 = VMI off), the number
 * of ROM code pages mapped at its bottom, and a fault the host's hypercall handler asks the core
 * to raise at the hypercall (vector + 1; 0 = none) with its error code.
 */
export const STATE_VMI_TOP = STATE_BASE + 0x1a0;
export const STATE_VMI_ROM_PAGES = STATE_BASE + 0x1a4;
export const STATE_HYPERCALL_FAULT = STATE_BASE + 0x1a8;
export const STATE_HYPERCALL_ERROR = STATE_BASE + 0x1ac;

/**
 * Instructions retired so far in the current run() call, published before every host call so a
 * device handler can tell the exact instruction time (COUNTER_INSTRUCTIONS + this).
 */
export const STATE_RUN_RETIRED = STATE_BASE + 0x1b0;

/** Core-private scratch: an instruction that straddles a page boundary is decoded from here. */
export const STATE_FETCH_SCRATCH = STATE_BASE + 0x380;

/** x87 FPU state (issue 3) lives here. */
export const FPU_BASE = STATE_BASE + 0x400;
export const FPU_SIZE = 0x200;

// ---- run() exit reasons ----------------------------------------------------------------
export const EXIT_BUDGET = 0;
/** HLT with interrupts enabled: the host should wait for the next event. */
export const EXIT_HLT = 1;
/** HLT with interrupts disabled: nothing but a reset can wake the CPU. */
export const EXIT_HLT_DISABLED = 2;
export const EXIT_TRIPLE_FAULT = 3;
/** An exception was raised while STATE_TRAP_EXCEPTIONS was set. */
export const EXIT_EXCEPTION = 4;
/** The host asked to stop (STATE_STOP_REQUEST). */
export const EXIT_STOP = 5;

// ---- TLB ----------------------------------------------------------------------------------
/**
 * One u32 per virtual page (2^20 pages): (host page offset XOR virtual page address) | TLB_*
 * bits, so a hit is host = (entry & ~0xfff) ^ vaddr after one load and one compare.
 */
export const TLB_BASE = STATE_BASE + STATE_SIZE;
export const TLB_ENTRIES = 0x100000;
export const TLB_SIZE = TLB_ENTRIES * 4;
/** Virtual page numbers filled since the last flush, so a flush need not clear 4 MiB. */
export const TLB_LIST_BASE = TLB_BASE + TLB_SIZE;
export const TLB_LIST_ENTRIES = 0x4000;
export const TLB_LIST_SIZE = TLB_LIST_ENTRIES * 4;

// ---- VMI pages -------------------------------------------------------------------------
/**
 * What the reserved linear range [STATE_VMI_TOP, 4 GiB) maps to in every address space: the
 * ROM's code pages, then the shared page. They live outside guest RAM, so no guest physical
 * alias can reach them; the guest sees them only through the reserved range.
 */
export const VMI_AREA_BASE = TLB_LIST_BASE + TLB_LIST_SIZE;
export const VMI_ROM_MAX_PAGES = 8;
/** Offset of the shared page, both in the VMI area and above STATE_VMI_TOP. */
export const VMI_SHARED_OFFSET = VMI_ROM_MAX_PAGES * 0x1000;
export const VMI_AREA_SIZE = VMI_SHARED_OFFSET + 0x1000;

// ---- guest RAM -------------------------------------------------------------------------
/** Guest physical address p < ramSize lives at RAM_BASE + p. */
export const RAM_BASE = (VMI_AREA_BASE + VMI_AREA_SIZE + 0xfffff) & ~0xfffff;
/** The largest guest RAM we accept: the wasm32 address space minus everything before RAM. */
export const RAM_MAX = 0xc0000000;
export const RAM_MIN = 0x100000;
