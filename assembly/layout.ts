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
/**
 * Non-zero: the CPU has a local APIC (the machine's `apic` option). Kept across reset() like the
 * RAM size, since it is part of which CPU this is, not of its state.
 */
export const STATE_APIC_PRESENT = STATE_BASE + 0x124;
/** Extra TSC offset the host may add (deterministic time keeps this at zero). */
export const STATE_TSC_OFFSET = STATE_BASE + 0x128;

/** SYSENTER MSRs (issue 3): CS, ESP, EIP. */
export const STATE_SYSENTER_CS = STATE_BASE + 0x130;
export const STATE_SYSENTER_ESP = STATE_BASE + 0x134;
export const STATE_SYSENTER_EIP = STATE_BASE + 0x138;
/**
 * IA32_APIC_BASE (MSR 0x1B), its low half (the high half is 0: physical addresses are 32-bit
 * here). The host's APIC model reads it to decode its MMIO page and to see the global enable.
 */
export const STATE_APIC_BASE = STATE_BASE + 0x13c;
/** IA32_APIC_BASE at RESET (SDM Vol. 3 §10.4.4): base 0xFEE00000, global enable (bit 11), BSP (bit 8). */
export const APIC_BASE_RESET = 0xfee00900;
export const APIC_BASE_ENABLE = 0x800;

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
/**
 * Privileged instructions executed (CPL 0 only: MOV CRn/DRn, INVLPG, LGDT/LIDT, LMSW, CLTS,
 * HLT, INVD/WBINVD, RDMSR/WRMSR): each would trap to a trap-and-emulate hypervisor, which is
 * what the batching benchmark charges native mode for.
 */
export const COUNTER_PRIVILEGED = COUNTER_BASE + 0x50;
/** Code pages whose cached blocks a write discarded (blocks.ts): self-modifying code, or code and data sharing a page. */
export const COUNTER_CODE_INVALIDATIONS = COUNTER_BASE + 0x58;
export const COUNTER_COUNT = 12;
export const COUNTER_NAMES = "instructions,portIn,portOut,mmioRead,mmioWrite,hypercall,interrupts,exceptions,tlbMisses,tlbFlushes,privileged,codeInvalidations";

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

/**
 * VMI: non-zero once the guest has called vmi_init. From then on the shared page's VIF byte is
 * the interrupt flag (docs/vmi.md "Interrupts and ROM calls"), and CR3 switches keep shadow
 * translations per address space (shadow.ts).
 */
export const STATE_VMI_ACTIVE = STATE_BASE + 0x1b4;

/**
 * VMI queue checks (vmi-queue.ts): when a batch is refused, which entry and why (QUEUE_BAD_*);
 * and a one-entry "batch" the host builds for an immediate SetPxE/UpdatePxE/InvalPage.
 */
export const STATE_VMI_REFUSED_INDEX = STATE_BASE + 0x1b8;
export const STATE_VMI_REFUSED_REASON = STATE_BASE + 0x1bc;
export const STATE_VMI_ENTRY = STATE_BASE + 0x1f0;
/** Queued entries checked by the core, u32 per call number (SP_CALL_SLOTS of them, then one for any other op). */
export const VMI_QUEUED_COUNTS = STATE_BASE + 0x600;
/** Core-private scratch for a batch being checked: each entry's physical address (SP_QUEUE_MAX u32). */
export const VMI_QUEUE_PHYS = STATE_BASE + 0x800;
export const QUEUE_BAD_OP = 1;
export const QUEUE_BAD_ALIGN = 2;
export const QUEUE_BAD_ADDRESS = 3;
export const QUEUE_BAD_UNANNOUNCED = 4;
export const QUEUE_BAD_LEVEL = 5;
export const QUEUE_BAD_FLAGS = 6;
export const QUEUE_BAD_VALUE = 7;
export const QUEUE_BAD_RESERVED = 8;
export const QUEUE_BAD_INVAL = 9;

/** VMI counters the core keeps, u32 each (the host reads them into its statistics). */
export const VMI_COUNTER_BASE = STATE_BASE + 0x1c0;
/** Guest stores into a registered page-table page that bypassed SetPxE/UpdatePxE. */
export const VMI_COUNTER_DIRECT_PT_WRITES = VMI_COUNTER_BASE + 0x00;
/** CLI and STI executed by the guest itself (not through the ROM) while the ROM is active. */
export const VMI_COUNTER_NATIVE_IF = VMI_COUNTER_BASE + 0x04;
/** CR3 switches that found the new address space's shadow context. */
export const VMI_COUNTER_SHADOW_HITS = VMI_COUNTER_BASE + 0x08;
/** CR3 switches that had to start a context (first use, or evicted). */
export const VMI_COUNTER_SHADOW_MISSES = VMI_COUNTER_BASE + 0x0c;
/** Translations brought back into the TLB by CR3 switches instead of a page walk each. */
export const VMI_COUNTER_SHADOW_RESTORED = VMI_COUNTER_BASE + 0x10;
/** Shadow translations dropped because an entry they came from was written. */
export const VMI_COUNTER_SHADOW_INVALIDATED = VMI_COUNTER_BASE + 0x14;
/** Immediate entry updates of pages the guest never announced (applied, never shadowed). */
export const VMI_COUNTER_UNANNOUNCED = VMI_COUNTER_BASE + 0x18;
/** Interrupts and exceptions delivered in lazy MMU mode, which suspended it (vmi.ts, vmiEventDelivered). */
export const VMI_COUNTER_LAZY_ENDED = VMI_COUNTER_BASE + 0x1c;
export const VMI_COUNTER_COUNT = 8;
/**
 * Lazy MMU mode suspended by an event delivered at CPL 0 (vmi.ts): non-zero while suspended,
 * and the interrupted stack pointer, which the IRET back to that code restores.
 */
export const STATE_VMI_LAZY_SUSPENDED = STATE_BASE + 0x1e0;
export const STATE_VMI_LAZY_ESP = STATE_BASE + 0x1e4;
/**
 * DR6 status bits of a #DB trap due before the next instruction, 0 if none: BT after a task
 * switch to a TSS whose T flag is set (task.ts; SDM Vol. 3 §17.3.1.5). In the state block, so a
 * snapshot taken between the switch and the trap keeps it.
 */
export const STATE_DEBUG_TRAP = STATE_BASE + 0x1e8;
/**
 * The NMI input (SDM Vol. 3 §6.7.1): NMI_PENDING, latched by the host (an edge from the local
 * APIC or the board), and NMI_BLOCKED, set while the CPU handles one, until the next IRET.
 */
export const STATE_NMI = STATE_BASE + 0x1ec;
export const NMI_PENDING = 1;
export const NMI_BLOCKED = 2;
export const VMI_COUNTER_NAMES = "directPageTableWrites,nativeInterruptFlag,shadowHits,shadowMisses,shadowRestored,shadowInvalidated,unannouncedTargets,lazyModeEndedByEvent";

/**
 * Shadow contexts (shadow.ts): per context, the page directory's physical address
 * (SHADOW_NO_CONTEXT = free), the stamp of its last use, and how many translations it saved.
 */
export const SHADOW_CONTEXTS = 16;
export const SHADOW_CTX_BASE = STATE_BASE + 0x200;
export const SHADOW_CTX_SIZE = 16;
export const SHADOW_CTX_PD = 0;
export const SHADOW_CTX_STAMP = 4;
export const SHADOW_CTX_SAVED = 8;
export const SHADOW_NO_CONTEXT = 0xffffffff;

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
/** The shared area: a header page, then the deferred queue's page. */
export const VMI_SHARED_SIZE = 0x2000;
export const VMI_AREA_SIZE = VMI_SHARED_OFFSET + VMI_SHARED_SIZE;

// The shared area's fields, as offsets from its start (guest linear virtual_top +
// VMI_SHARED_OFFSET). The guest can write all of it: the host trusts none of it.
export const SP_VERSION = 0x00;
export const SP_LAYOUT_VERSION = 1;
/** u8: the virtual interrupt flag (1 = interrupts enabled). */
export const SP_VIF = 0x04;
/** u8: the host's INTR line, so the ROM exits on enabling interrupts only when one waits. */
export const SP_PENDING = 0x05;
/** u8: SetLazyMode's mode (0 off, 1 lazy MMU, 2 lazy CPU). */
export const SP_LAZY_MODE = 0x06;
/** Shadow copies of the control registers, u32 each, and the TSC offset (u64). */
export const SP_CR0 = 0x08;
export const SP_CR2 = 0x0c;
export const SP_CR3 = 0x10;
export const SP_CR4 = 0x14;
export const SP_TSC_OFFSET = 0x18;
/** The deferred queue: a ring of SP_QUEUE_CAPACITY entries; the ROM appends at tail, the host consumes from head. */
export const SP_QUEUE_HEAD = 0x20;
export const SP_QUEUE_TAIL = 0x24;
export const SP_QUEUE_CAPACITY = 0x28;
/** u32 per call number: calls the ROM served without an exit (queued ones included). */
export const SP_ROM_COUNTS = 0x40;
export const SP_CALL_SLOTS = 80;
/**
 * Queue entries: op (the call number), the entry's linear address as the guest passed it (the
 * host translates it when it drains: through SetLinearMapping's lowmem slot, else a page walk),
 * value, flags; u32 each.
 */
export const SP_QUEUE = 0x1000;
export const SP_QUEUE_ENTRY_SIZE = 16;
export const SP_QUEUE_MAX = 256;

// ---- shadow page tables (shadow.ts) ------------------------------------------------------
/** The largest guest RAM we accept: the wasm32 address space minus everything before RAM. */
export const RAM_MAX = 0xc0000000;
/**
 * Per guest physical page, two u32: what the guest announced it as (PAGE_KIND_*, plus the page
 * directory slot that maps a page table, SHADOW_SLOT_*), and the mask of shadow contexts holding
 * translations made through it.
 */
export const PAGE_INFO_BASE = VMI_AREA_BASE + VMI_AREA_SIZE;
export const PAGE_INFO_SIZE = (RAM_MAX >>> 12) * 8;
export const PAGE_KIND_NONE = 0;
export const PAGE_KIND_PT = 1;
export const PAGE_KIND_PD = 2;
/** Per context, the virtual page numbers of the translations it saved at its last switch-out. */
export const SHADOW_LIST_BASE = PAGE_INFO_BASE + PAGE_INFO_SIZE;
export const SHADOW_LIST_ENTRIES = 0x2000;
export const SHADOW_LIST_SIZE = SHADOW_CONTEXTS * SHADOW_LIST_ENTRIES * 4;
/** Per context, a TLB-format image of its translations (TLB_SIZE each), indexed like the TLB. */
export const SHADOW_TLB_BASE = SHADOW_LIST_BASE + SHADOW_LIST_SIZE;
export const SHADOW_TLB_SIZE = SHADOW_CONTEXTS * TLB_SIZE;

// ---- decoded-block cache (blocks.ts) -----------------------------------------------------
/**
 * Per guest physical page, a u32: the block table it owns (index + 1 in the low 16 bits, 0 =
 * none, CODE_UNCACHED = its blocks are not cached) and, above, how often writes discarded it.
 */
export const CODE_MAP_BASE = SHADOW_TLB_BASE + SHADOW_TLB_SIZE;
export const CODE_MAP_SIZE = (RAM_MAX >>> 12) * 4;
export const CODE_UNCACHED = 0xffff;
/** Block tables: one per cached code page, a u8 per byte offset (0 = no block starts here yet). */
export const CODE_TABLES = 1024;
export const CODE_TABLE_BASE = CODE_MAP_BASE + CODE_MAP_SIZE;
export const CODE_TABLE_SIZE = CODE_TABLES * 0x1000;
/** Per block table, the physical page number it serves (for eviction), u32 each. */
export const CODE_OWNER_BASE = CODE_TABLE_BASE + CODE_TABLE_SIZE;
export const CODE_OWNER_SIZE = CODE_TABLES * 4;
/** Block tables a write freed, a stack of u16 indices. */
export const CODE_FREE_BASE = CODE_OWNER_BASE + CODE_OWNER_SIZE;
export const CODE_FREE_SIZE = CODE_TABLES * 2;

// ---- JIT (assembly/jit/units.ts) --------------------------------------------------------
/** Per block table, a u32 generation: bumped when the table is discarded, so units compiled from it go stale. */
export const JIT_GEN_BASE = CODE_FREE_BASE + CODE_FREE_SIZE;
export const JIT_GEN_SIZE = CODE_TABLES * 4;
/**
 * The compiled-unit map, direct mapped on the code's host address: JIT_ENTRIES entries of
 * JIT_ENTRY_SIZE bytes (host address, table generation, table index | map epoch << 16, function
 * slot u16 and hit count or instruction bound u16).
 */
export const JIT_HASH_BASE = JIT_GEN_BASE + JIT_GEN_SIZE;
export const JIT_ENTRIES = 8192;
export const JIT_ENTRY_SIZE = 16;
export const JIT_HASH_SIZE = JIT_ENTRIES * JIT_ENTRY_SIZE;

// ---- guest RAM -------------------------------------------------------------------------
/** Guest physical address p < ramSize lives at RAM_BASE + p. */
export const RAM_BASE = (JIT_HASH_BASE + JIT_HASH_SIZE + 0xfffff) & ~0xfffff;
export const RAM_MIN = 0x100000;
