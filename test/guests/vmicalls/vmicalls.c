/* Every VMI call, through the ROM, as a guest kernel uses it (docs/vmi.md). The guest finds the ROM
   the way Linux's CONFIG_VMI did, asks get_reloc for every call, and checks each call's effect
   against the native instruction or the architectural state it stands for. Then the hostile
   part: garbage in the queue, unannounced targets, mappings over the reserved range, hypercalls
   outside the ROM: each must end in the architectural fault, with nothing applied.

   The multiboot command line picks an ending: "shutdown" or "reboot" call the ROM's Shutdown or
   Reboot instead of debug-exit. */
#include "rt.h"

#define VTOP_DEFAULT 0xFC000000u
#define PAGE_OFFSET 0xC0000000u /* where Linux maps low memory */
#define SHARED_OFFSET 0x8000u /* layout.ts VMI_SHARED_OFFSET */
#define SP_VERSION 0x00
#define SP_QUEUE_HEAD 0x20
#define SP_QUEUE_TAIL 0x24

enum { NONE = 0, CALL_REL = 1, JUMP_REL = 2, NOP = 3 };
static const u8 api_calls[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                               21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
                               42, 43, 44, 45, 46, 47, 48, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 73};

static u8 *rom;
static u32 vtop;
static u32 target[80];
static u8 type[80];

/* ---- calling the ROM (regparm(3): EAX, EDX, ECX, then the stack) ---- */
static u32 call3(u32 n, u32 a, u32 d, u32 c) {
  __asm__ volatile("call *%%ebx" : "+a"(a), "+d"(d), "+c"(c) : "b"(target[n]) : "memory", "cc");
  return a;
}
static u64 call3_64(u32 n, u32 a, u32 d, u32 c) {
  __asm__ volatile("call *%%ebx" : "+a"(a), "+d"(d), "+c"(c) : "b"(target[n]) : "memory", "cc");
  return ((u64)d << 32) | a;
}
static u32 call5(u32 n, u32 a, u32 d, u32 c, u32 s1, u32 s2) {
  __asm__ volatile("push %[s2]\n\tpush %[s1]\n\tcall *%%ebx\n\tadd $8, %%esp"
                   : "+a"(a), "+d"(d), "+c"(c)
                   : "b"(target[n]), [s1] "r"(s1), [s2] "r"(s2)
                   : "memory", "cc");
  return a;
}
static u32 call4(u32 n, u32 a, u32 d, u32 c, u32 s1) {
  __asm__ volatile("push %[s1]\n\tcall *%%ebx\n\tadd $4, %%esp"
                   : "+a"(a), "+d"(d), "+c"(c)
                   : "b"(target[n]), [s1] "r"(s1)
                   : "memory", "cc");
  return a;
}
/* TRY for a ROM call: a fault inside the ROM leaves its pushes (and the call's) on the stack,
   so the stack pointer is put back after the recovery point. */
u32 try_esp;
#define TRY_ROM(insn, ...)                                                                        \
  ({                                                                                              \
    rt_try_reset();                                                                               \
    __asm__ volatile("movl %%esp, try_esp\n\t"                                                    \
                     "movl $0f, rt_try_insn\n\t"                                                  \
                     "movl $1f, rt_try_resume\n\t"                                                \
                     "movl $1, rt_try_armed\n"                                                    \
                     "0:\t" insn "\n"                                                             \
                     "1:\n\t"                                                                     \
                     "movl try_esp, %%esp\n\t"                                                    \
                     "movl $0, rt_try_armed" __VA_ARGS__);                                        \
    rt_fault.count ? (int)rt_fault.vector : -1;                                                   \
  })
/* A ROM call expected to fault: the vector, or -1. */
static int try_call3(u32 n, u32 a, u32 d, u32 c) {
  return TRY_ROM("call *%%ebx", : "+a"(a), "+d"(d), "+c"(c) : "b"(target[n]) : "memory", "cc");
}
static int try_call5(u32 n, u32 a, u32 d, u32 c, u32 s1, u32 s2) {
  return TRY_ROM("push %[s2]\n\tpush %[s1]\n\tcall *%%ebx\n\tadd $8, %%esp", : "+a"(a), "+d"(d), "+c"(c)
                 : "b"(target[n]), [s1] "r"(s1), [s2] "r"(s2) : "memory", "cc");
}

/* ---- which registers a call changes (regs.asm) ---- */
extern void rom_call_regs(u32 entry, u32 *r);
enum { R_EAX = 1, R_EBX = 2, R_ECX = 4, R_EDX = 8 };
/* Call n with EAX, EDX, ECX and two stack arguments, a marker in every other register, and check
   that nothing but `results` changed. Returns the EAX it came back with. */
static u32 preserves(u32 n, u32 a, u32 d, u32 c, u32 s1, u32 s2, u32 results) {
  static const char *const names[7] = {"EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP"};
  const u32 in[9] = {a, 0xB0B0B0B0, c, d, 0x51515151, 0xD1D1D1D1, 0xBEBEBEBE, s1, s2};
  u32 r[9];
  memcpy(r, in, sizeof r);
  rom_call_regs(target[n], r);
  for (u32 i = 0; i < 7; i++) {
    if (i < 4 && (results & (1u << i))) continue;
    CHECK(r[i] == in[i], "call %u changed %s: 0x%x -> 0x%x", n, names[i], in[i], r[i]);
  }
  return r[0];
}

static u32 shared32(u32 off) { return *(volatile u32 *)(vtop + SHARED_OFFSET + off); }
static void set_shared32(u32 off, u32 v) { *(volatile u32 *)(vtop + SHARED_OFFSET + off) = v; }

/* ---- finding the ROM, as Linux's probe_vmi_rom/check_vmi_rom ---- */
static int find_rom(void) {
  for (u32 base = 0xC0000; base < 0xE0000; base += 2048) {
    u8 *r = (u8 *)base;
    if (*(u16 *)r != 0xAA55 || *(u32 *)(r + 8) != 0x696d5663) continue;
    CHECK_EQ(r[13], 3, "API major");
    u32 len = r[2] * 512, sum = 0;
    for (u32 i = 0; i < len; i++) sum += r[i];
    CHECK_EQ(sum & 0xFF, 0, "ROM checksum");
    u16 pci = *(u16 *)(r + 24);
    CHECK(pci != 0, "no PCI header");
    CHECK_EQ(*(u32 *)(r + pci), 0x52494350, "PCIR signature");
    CHECK_EQ(*(u16 *)(r + pci + 4), 0x15AD, "PCI vendor");
    CHECK_EQ(*(u16 *)(r + pci + 6), 0x0801, "PCI device");
    u16 lic = *(u16 *)(r + 22);
    CHECK(lic != 0 && strcmp((char *)r + lic, "GPL v2") == 0, "license string");
    rom = r;
    vtop = *(u32 *)(r + 16);
    return 1;
  }
  return 0;
}

/* VMI page kinds and entry-update flags (docs/vmi.md "Flags") */
#define L1 0x41
#define L2 0x42
#define PT_LEVEL 0x01
#define PD_LEVEL 0x02
#define CURRENT_AS 0x10
#define DEFER 0x20
static u32 read_va(u32 va) { return *(volatile u32 *)va; }

/* ---- interrupts ---- */
static volatile u32 irq0_count;
/* One-shot alarms the handler arms again, each 5000 cycles on, as Linux's clockevents do. */
static volatile u32 rearm_left;
/* When irq_pt is set, the handler maps irq_va to irq_pte in it and reads through the mapping at
   once, as Linux's kmap_atomic in an interrupt does (CURRENT_AS, no flush of its own). */
static u32 *volatile irq_pt;
static volatile u32 irq_pte, irq_va, irq_read;
static void on_irq0(struct rt_frame *f) {
  (void)f;
  irq0_count++;
  if (rearm_left) {
    rearm_left--;
    u64 next = call3_64(67, 0, 0, 0) + 5000;
    call5(68, 0, (u32)next, (u32)(next >> 32), 0, 0);
  }
  if (irq_pt) {
    call3(38, irq_pte, (u32)&irq_pt[(irq_va >> 12) & 1023], PT_LEVEL | CURRENT_AS | irq_va);
    irq_read = read_va(irq_va);
  }
  outb(0x20, 0x20);
}
static void spin(u32 n) {
  for (volatile u32 i = 0; i < n; i++) {
  }
}

/* Arm the alarm (SetAlarm's flags, expiry and 32-bit period), let interrupts in for `n` turns
   of spin, and count the IRQ0s that came. */
static u32 alarm_window(u32 flags, u64 expiry, u32 period, u32 n) {
  u32 before = irq0_count;
  call5(68, flags, (u32)expiry, (u32)(expiry >> 32), period, 0);
  call3(29, 0, 0, 0);
  spin(n);
  call3(30, 0, 0, 0);
  return irq0_count - before;
}

/* ---- paging fixtures ---- */
static u32 *pd;
static u32 pfn(const void *p) { return (u32)p >> 12; }

extern u32 sysexit_roundtrip(u32 rom_sysexit, u32 user_stack_top);
extern void sysexit_back(void);
static u8 user_stack[4096] __attribute__((aligned(16)));

int guest_main(u32 mb_magic, u32 mb_info) {
  (void)mb_magic;
  const char *cmdline = (*(u32 *)mb_info & 4) ? (const char *)((u32 *)mb_info)[4] : "";

  CHECK(find_rom(), "no VMI ROM in 0xC0000-0xDFFFF");
  if (!rom) return 1;
  CHECK_EQ(vtop, VTOP_DEFAULT, "virtual_top");
  printf("ROM at 0x%x, %u bytes, virtual_top 0x%x\n", (u32)rom, rom[2] * 512, vtop);

  /* Paging on, interrupts off, as Linux calls vmi_init from setup_arch; low memory also at
     PAGE_OFFSET (4 MiB pages), where Linux reaches the ROM's header (isa_bus_to_virt). */
  pd = pg_identity_directory();
  for (u32 i = 0; i < 2; i++) pd[(PAGE_OFFSET >> 22) + i] = (i * LARGE_PAGE_SIZE) | PTE_P | PTE_W | PDE_PS;
  pg_enable(pd, CR4_PSE);
  cli();
  const u8 *header = (const u8 *)(PAGE_OFFSET + (u32)rom);
  CHECK(memcmp(header, rom, rom[2] * 512) == 0, "the ROM through PAGE_OFFSET differs");
  /* Until vmi_init the range above virtual_top is the guest's but for the ROM's code pages:
     a kernel that never calls it (any non-VMI Linux) keeps its fixmap at the top. */
  static volatile u32 marker = 0x600DF00D;
  const u32 fixmap = 0xFFC00000u;
  pd[fixmap >> 22] = PTE_P | PTE_W | PDE_PS; /* physical 0..4 MiB */
  CHECK_EQ(*(volatile u32 *)(fixmap + (u32)&marker), 0x600DF00D, "a guest mapping above virtual_top before vmi_init");
  u32 init_result;
  __asm__ volatile("call *%1" : "=a"(init_result) : "r"(header + 128) : "ecx", "edx", "memory", "cc");
  CHECK_EQ(init_result, 0, "vmi_init");
  CHECK(TRY("movl (%0), %%eax", ::"r"(fixmap + (u32)&marker) : "eax") == 14, "the guest's mapping above virtual_top survived vmi_init");
  pd[fixmap >> 22] = 0;

  /* get_reloc for every number: API 3.0's calls are all there; the rest are NONE. */
  for (u32 n = 0; n < 80; n++) {
    u32 eax = n, edx;
    __asm__ volatile("call *%2" : "+a"(eax), "=d"(edx) : "r"(header + 136) : "ecx", "memory", "cc");
    target[n] = eax;
    type[n] = edx & 0xFF;
  }
  for (u32 n = 0; n < 80; n++) {
    int listed = 0;
    for (u32 i = 0; i < sizeof api_calls; i++) listed |= api_calls[i] == n;
    u8 want = !listed ? NONE : n == 33 || n == 34 ? JUMP_REL : n == 65 ? NOP : CALL_REL;
    CHECK(type[n] == want, "call %u: relocation type %u, want %u", n, type[n], want);
    if (type[n] == CALL_REL || type[n] == JUMP_REL) CHECK(target[n] >= vtop, "call %u: target 0x%x below virtual_top", n, target[n]);
  }
  puts("relocations ok\n");

  /* 0 CPUID, 1 WRMSR, 2 RDMSR */
  {
    u32 a, b, c, d, ra = 0, rb, rc = 0, rd;
    cpuid(0, &a, &b, &c, &d);
    __asm__ volatile("call *%4" : "+a"(ra), "=b"(rb), "+c"(rc), "=d"(rd) : "S"(target[0]) : "memory");
    CHECK(ra == a && rb == b && rc == c && rd == d, "CPUID 0 differs from the native one");
    call3(1, 0x12345678, 0, 0x175); /* WRMSR SYSENTER_ESP */
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0x175));
    CHECK_EQ(lo, 0x12345678, "WRMSR through the ROM");
    CHECK_EQ((u32)call3_64(2, 0, 0, 0x175), 0x12345678, "RDMSR through the ROM");
    CHECK(try_call3(2, 0, 0, 0xDEAD) == 13, "RDMSR of an unknown MSR must #GP");
  }
  /* 3 SetGDT 5 SetIDT 7 GetGDT 9 GetIDT */
  {
    u8 native[6], viaRom[6];
    __asm__ volatile("sgdt %0" : "=m"(native));
    call3(7, (u32)viaRom, 0, 0);
    CHECK(memcmp(native, viaRom, 6) == 0, "GetGDT differs from SGDT");
    call3(3, (u32)viaRom, 0, 0);
    __asm__ volatile("sgdt %0" : "=m"(native));
    CHECK(memcmp(native, viaRom, 6) == 0, "SetGDT did not load GDTR");
    __asm__ volatile("sidt %0" : "=m"(native));
    call3(9, (u32)viaRom, 0, 0);
    CHECK(memcmp(native, viaRom, 6) == 0, "GetIDT differs from SIDT");
    call3(5, (u32)viaRom, 0, 0);
    __asm__ volatile("sidt %0" : "=m"(native));
    CHECK(memcmp(native, viaRom, 6) == 0, "SetIDT did not load IDTR");
  }
  /* 4 SetLDT 8 GetLDT 6 SetTR 10 GetTR 11-13 Write*Entry 14 UpdateKernelStack */
  {
    call3(4, 0, 0, 0);
    CHECK_EQ(call3(8, 0, 0, 0), 0, "GetLDT after SetLDT(0)");
    CHECK_EQ(call3(10, 0, 0, 0), TSS_SEL, "GetTR");
    rt_gdt[TSS_SEL / 4 + 1] &= ~0x200u; /* the TSS is busy: make it available to load again */
    call3(6, TSS_SEL, 0, 0);
    CHECK((rt_gdt[TSS_SEL / 4 + 1] & 0x200) != 0, "SetTR did not mark the TSS busy");
    call4(11, (u32)rt_gdt, 7, 0x0000FFFF, 0x00CF9200);
    CHECK(rt_gdt[14] == 0x0000FFFF && rt_gdt[15] == 0x00CF9200, "WriteGDTEntry");
    static u32 table[8];
    call4(12, (u32)table, 3, 0x11111111, 0x22222222);
    CHECK(table[6] == 0x11111111 && table[7] == 0x22222222, "WriteLDTEntry");
    call4(13, (u32)table, 1, 0x33333333, 0x44444444);
    CHECK(table[2] == 0x33333333 && table[3] == 0x44444444, "WriteIDTEntry");
    u32 esp0 = rt_tss[1];
    call3(14, KERNEL_DS, 0x00ABC000, 0);
    CHECK(rt_tss[1] == 0x00ABC000 && (rt_tss[2] & 0xFFFF) == KERNEL_DS, "UpdateKernelStack");
    call3(14, KERNEL_DS, esp0, 0);
  }
  /* 15-22 control registers, 28 CLTS */
  {
    CHECK_EQ(call3(19, 0, 0, 0), read_cr0(), "GetCR0");
    CHECK_EQ(call3(21, 0, 0, 0), read_cr3(), "GetCR3");
    CHECK_EQ(call3(22, 0, 0, 0), read_cr4(), "GetCR4");
    call3(15, read_cr0() | 8, 0, 0);
    CHECK((read_cr0() & 8) && (call3(19, 0, 0, 0) & 8), "SetCR0 TS");
    call3(28, 0, 0, 0);
    CHECK(!(read_cr0() & 8) && !(call3(19, 0, 0, 0) & 8), "CLTS");
    CHECK(try_call3(15, 0x80000000, 0, 0) == 13, "SetCR0 with PG but not PE must #GP");
    call3(16, 0x1234, 0, 0);
    CHECK(read_cr2() == 0x1234 && call3(20, 0, 0, 0) == 0x1234, "SetCR2/GetCR2");
    CHECK(TRY("movl 0x007FF000, %%eax", ::: "eax") == -1, "identity map");
    CHECK(TRY("movl 0x40001234, %%eax", ::: "eax") == 14, "unmapped read must #PF");
    CHECK_EQ(call3(20, 0, 0, 0), 0x40001234, "GetCR2 after a page fault");
    call3(18, read_cr4() | CR4_PGE, 0, 0);
    CHECK((read_cr4() & CR4_PGE) && (call3(22, 0, 0, 0) & CR4_PGE), "SetCR4");
    call3(17, (u32)pd, 0, 0);
    CHECK_EQ(call3(21, 0, 0, 0), (u32)pd, "SetCR3");
  }
  /* 23 WBINVD 26 RDPMC 27 RDTSC 42/43 M2P/P2M 61 SetIOPLMask 62-64 APIC/AP 66/67 cycles 70/71 wallclock */
  {
    call3(23, 0, 0, 0);
    /* RDPMC at CPL 0 reads P6 counter 0 or 1 (nothing is counted: 0) and #GPs for any other
       ECX (SDM Vol. 2B RDPMC). QEMU 7.2's TCG raises #UD here instead; the SDM is the oracle. */
    CHECK(TRY("rdpmc", :: "c"(1) : "eax", "edx") == -1, "RDPMC of counter 1 at CPL 0 must not fault");
    CHECK(try_call3(26, 0, 0, 0) == -1, "RDPMC of counter 0 through the ROM must not fault");
    CHECK(call3_64(26, 0x11111111, 0x22222222, 0) == 0, "RDPMC through the ROM reads the idle counter 0");
    CHECK(TRY("rdpmc", :: "c"(2) : "eax", "edx") == 13, "RDPMC of counter 2 must #GP (P6 has two)");
    CHECK(try_call3(26, 0, 0, 2) == 13, "RDPMC of counter 2 through the ROM must #GP");
    u64 t0 = rdtsc(), t = call3_64(27, 0, 0, 0), t1 = rdtsc();
    CHECK(t0 <= t && t <= t1, "RDTSC");
    CHECK_EQ(call3(42, 0x1234000, 0, 0), 0x1234000, "MachineToPhysical");
    CHECK_EQ(call3(43, 0x5678000, 0, 0), 0x5678000, "PhysicalToMachine");
    call3(61, 0x3000, 0, 0);
    CHECK_EQ(read_eflags() & 0x3000, 0x3000, "SetIOPLMask 3");
    call3(61, 0, 0, 0);
    CHECK_EQ(read_eflags() & 0x3000, 0, "SetIOPLMask 0");
    CHECK(try_call3(62, 0, 1, 0) == 13, "SetInitialAPState on a uniprocessor must #GP");
    call3(63, 0x80, 0x12345678, 0);
    CHECK_EQ(call3(64, 0x80, 0, 0), 0xFFFFFFFF, "APICRead without a local APIC");
    CHECK(call3_64(66, 0, 0, 0) == 100000000ull, "GetCycleFrequency");
    u64 c0 = rdtsc(), c = call3_64(67, 0, 0, 0), c1 = rdtsc();
    CHECK(c0 <= c && c <= c1, "GetCycleCounter(real)");
    CHECK(call3_64(67, 2, 0, 0) == 0, "GetCycleCounter(stolen)");
    u64 ns = call3_64(70, 0, 0, 0);
    CHECK(ns > 1735689600ull * 1000000000ull, "GetWallclockTime before 2025");
    CHECK_EQ(call3(71, 0, 0, 0), 0, "WallclockUpdated");
  }
  /* 24 SetDR 25 GetDR */
  {
    call3(24, 0, 0xDEAD0000, 0);
    u32 dr0;
    __asm__ volatile("mov %%dr0, %0" : "=r"(dr0));
    CHECK(dr0 == 0xDEAD0000 && call3(25, 0, 0, 0) == 0xDEAD0000, "SetDR/GetDR");
    CHECK(try_call3(24, 9, 0, 0) == 13, "SetDR 9 must #GP");
  }
  /* 29-32 the virtual IF, 35 Halt, 68/69 the alarm on IRQ0 */
  {
    /* As Linux's vmi_time_init: stop the PIT the BIOS left at 18.2 Hz by putting counter 0 in
       mode 5, whose output then stays high; the alarm must still reach IRQ0. (Before the PIC's
       initialization, which forgets the edge this may make.) */
    outb(0x43, 0x3A);
    idt_set_handler(0x20, on_irq0);
    pic_remap_and_mask(0xFE, 0xFF);
    call3(30, 0, 0, 0);
    CHECK_EQ(call3(31, 0, 0, 0), 0, "GetInterruptMask after DisableInterrupts");
    CHECK_EQ(read_eflags() & EFLAGS_IF, 0, "PUSHF's IF after DisableInterrupts");
    u64 now = call3_64(67, 0, 0, 0);
    u64 expiry = now + 20000, period = 20000;
    call5(68, 0x100, (u32)expiry, (u32)(expiry >> 32), (u32)period, (u32)(period >> 32));
    spin(200000);
    CHECK_EQ(irq0_count, 0, "an alarm delivered with the virtual IF clear");
    call3(29, 0, 0, 0); /* enable: the pending IRQ0 is delivered at once */
    CHECK_EQ(call3(31, 0, 0, 0), EFLAGS_IF, "GetInterruptMask after EnableInterrupts");
    CHECK_EQ(read_eflags() & EFLAGS_IF, EFLAGS_IF, "PUSHF's IF after EnableInterrupts");
    CHECK(irq0_count >= 1, "EnableInterrupts did not deliver the pending alarm");
    u32 before = irq0_count;
    call3(30, 0, 0, 0);
    call3(35, 0, 0, 0); /* Halt = enable and wait */
    CHECK(irq0_count > before, "Halt did not wait for the next alarm");
    call3(32, 0, 0, 0);
    CHECK_EQ(call3(31, 0, 0, 0), 0, "SetInterruptMask(0)");
    before = irq0_count;
    spin(100000);
    CHECK_EQ(irq0_count, before, "an alarm delivered after SetInterruptMask(0)");
    call3(32, EFLAGS_IF, 0, 0);
    spin(100000);
    CHECK(irq0_count > before, "SetInterruptMask(IF) did not let the alarm in");
    call3(69, 0, 0, 0);
    call3(30, 0, 0, 0);
    spin(1000);
    before = irq0_count;
    call3(29, 0, 0, 0);
    spin(200000);
    CHECK(irq0_count <= before + 1, "CancelAlarm: %u alarms after cancelling", irq0_count - before);
    call3(30, 0, 0, 0);
    CHECK(try_call5(68, 0x2, 0, 0, 0, 0) == 13, "an alarm on a counter that never advances must #GP");
    /* No local APIC here: an alarm wired to its timer arrives on IRQ0 like the others. */
    u32 got = alarm_window(0x10000, call3_64(67, 0, 0, 0) + 1000, 0, 100000);
    CHECK_EQ(got, 1, "a one-shot alarm wired to the (absent) local APIC timer");
    /* Linux's clockevents (2.6.24+): periodic from the current count on the real counter... */
    got = alarm_window(0x100, call3_64(67, 0, 0, 0), 20000, 200000);
    call3(69, 0, 0, 0);
    CHECK(got >= 2, "a periodic alarm armed at the current count: %u interrupts", got);
    /* ...and one-shot, armed again from the handler (also 2.6.21's idle without a tick) */
    spin(1000);
    rearm_left = 3;
    got = alarm_window(0, call3_64(67, 0, 0, 0) + 5000, 0, 400000);
    CHECK_EQ(got, 4, "one-shot alarms armed again from the handler");
    /* native CLI/STI still work, and follow the virtual IF */
    sti();
    CHECK_EQ(call3(31, 0, 0, 0), EFLAGS_IF, "GetInterruptMask after a native STI");
    cli();
    CHECK_EQ(call3(31, 0, 0, 0), 0, "GetInterruptMask after a native CLI");
  }
  /* 33 IRET (jumped to): the frame's IF becomes the virtual IF */
  {
    u32 landed = 0;
    __asm__ volatile("pushl $0x202\n\t"   /* EFLAGS with IF */
                     "pushl $0x08\n\t"
                     "pushl $1f\n\t"
                     "jmp *%1\n"
                     "1:\tmovl $1, %0"
                     : "=r"(landed)
                     : "r"(target[33])
                     : "memory", "cc");
    CHECK_EQ(landed, 1, "IRET through the ROM");
    CHECK_EQ(call3(31, 0, 0, 0), EFLAGS_IF, "IRET did not set the virtual IF from the frame");
    call3(30, 0, 0, 0);
  }
  /* 34 SYSEXIT (jumped to): ring 3 with interrupts on */
  {
    __asm__ volatile("wrmsr" ::"c"(0x174), "a"(KERNEL_CS), "d"(0)); /* SYSENTER_CS */
    idt_set_gate(0x82, (u32)sysexit_back, KERNEL_CS, GATE_TRAP, 3, 1);
    u32 user_flags = sysexit_roundtrip(target[34], (u32)user_stack + sizeof user_stack);
    CHECK(user_flags & EFLAGS_IF, "SYSEXIT through the ROM: the user saw IF clear");
    CHECK_EQ(call3(31, 0, 0, 0), EFLAGS_IF, "SYSEXIT did not enable the virtual IF");
    call3(30, 0, 0, 0);
  }
  puts("cpu calls ok\n");

  /* ---- the MMU: 38-41 PxE updates, 44/45 pages, 46 InvalPage, 47 FlushTLB, 48 linear mapping, 73 lazy mode ---- */
  u8 *page_a = pg_alloc(), *page_b = pg_alloc();
  *(u32 *)page_a = 0xAAAA0001;
  *(u32 *)page_b = 0xBBBB0002;
  const u32 VA = 0x40000000, VA2 = 0x50000000;
  u32 *pt = pg_alloc();
  {
    call5(44, pfn(pd), L2, 0, 0, 0);
    for (u32 i = 0; i < 2; i++) call5(44, pd[i] >> 12, L1, 0, 0, 0);
    call5(44, pfn(pt), L1, 0, 0, 0);
    call3(17, (u32)pd, 0, 0); /* a CR3 load with the directory announced: shadowing starts */
    call4(48, 0, 0, 2048, 0); /* lowmem: linear 0..8 MiB is physical 0..8 MiB */
    call3(38, (u32)pt | PTE_P | PTE_W, (u32)&pd[VA >> 22], PD_LEVEL);
    call3(38, (u32)page_a | PTE_P | PTE_W, (u32)&pt[0], PT_LEVEL | CURRENT_AS | VA);
    CHECK_EQ(read_va(VA), 0xAAAA0001, "SetPxE mapping");
    call3(38, (u32)page_b | PTE_P | PTE_W, (u32)&pt[0], PT_LEVEL | CURRENT_AS | VA);
    CHECK_EQ(read_va(VA), 0xBBBB0002, "SetPxE remapping (CURRENT_AS drops the old translation)");
    pt[0] = (u32)page_a | PTE_P | PTE_W; /* a direct store, then the announcement */
    call3(40, (u32)&pt[0], PT_LEVEL | CURRENT_AS | VA, 0);
    CHECK_EQ(read_va(VA), 0xAAAA0001, "UpdatePxE");
    call4(39, (u32)page_b | PTE_P | PTE_W, 0, (u32)&pt[0], PT_LEVEL);
    /* SetPxELong's flags are its stack argument: without CURRENT_AS, InvalPage drops the old one */
    call3(46, VA, 0, 0);
    CHECK_EQ(read_va(VA), 0xBBBB0002, "SetPxELong + InvalPage");
    CHECK(try_call5(39, 0, 1, (u32)&pt[0], 0, 0) == 13, "SetPxELong with a high half must #GP (no PAE)");
    call3(41, (u32)&pt[0], PT_LEVEL, 0);
    call3(47, 1, 0, 0);
    CHECK_EQ(read_va(VA), 0xBBBB0002, "UpdatePxELong + FlushTLB");
  }
  /* Linux's addressing: a page table named by its PAGE_OFFSET address, with slot 0 covering
     low memory there (vmi_bringup); with HIGHPTE, a page table reached through a kmap window
     that slot 1 names (vmi_kmap_atomic_pte). */
  {
    const u32 va2 = VA + 2 * 4096, va3 = VA + 3 * 4096;
    u32 *high_pt = (u32 *)(PAGE_OFFSET + (u32)pt);
    call4(48, 0, PAGE_OFFSET, 2048, 0);
    call3(38, (u32)page_a | PTE_P | PTE_W, (u32)&high_pt[2], PT_LEVEL | CURRENT_AS | va2);
    CHECK_EQ(read_va(va2), 0xAAAA0001, "SetPxE through slot 0 at PAGE_OFFSET");
    call3(73, 1, 0, 0);
    call3(38, (u32)page_b | PTE_P | PTE_W, (u32)&high_pt[2], PT_LEVEL | CURRENT_AS | va2);
    call3(73, 0, 0, 0);
    CHECK_EQ(read_va(va2), 0xBBBB0002, "a queued SetPxE through slot 0 at PAGE_OFFSET");
    const u32 kmap = 0xFB000000u; /* below virtual_top, where Linux's fixmap moves */
    u32 *kmap_pt = pg_alloc();
    call5(44, pfn(kmap_pt), L1, 0, 0, 0);
    call3(38, (u32)kmap_pt | PTE_P | PTE_W, PAGE_OFFSET + (u32)&pd[kmap >> 22], PD_LEVEL);
    call3(38, (u32)pt | PTE_P | PTE_W, (u32)&kmap_pt[(kmap >> 12) & 1023], PT_LEVEL | CURRENT_AS | kmap);
    call4(48, 1, kmap, 1, pfn(pt));
    call3(73, 1, 0, 0);
    call3(38, (u32)page_a | PTE_P | PTE_W, kmap + 3 * 4, PT_LEVEL | CURRENT_AS | va3);
    call3(73, 0, 0, 0);
    CHECK_EQ(read_va(va3), 0xAAAA0001, "a queued SetPxE through a kmap window (slot 1)");
    call3(38, 0, (u32)&pd[kmap >> 22], PD_LEVEL);
    call3(45, pfn(kmap_pt), L1, 0);
    call4(48, 1, 0, 0, 0);
    call4(48, 0, 0, 2048, 0);
  }
  /* lazy mode: updates wait in the queue until the mode ends */
  {
    call3(73, 1, 0, 0);
    call3(38, (u32)page_a | PTE_P | PTE_W, (u32)&pt[0], PT_LEVEL | CURRENT_AS | VA);
    CHECK_EQ(pt[0], (u32)page_b | PTE_P | PTE_W | PTE_A, "a lazy SetPxE was applied before the flush");
    CHECK_EQ(shared32(SP_QUEUE_TAIL) - shared32(SP_QUEUE_HEAD), 1, "queued entries");
    call3(73, 0, 0, 0);
    CHECK_EQ(pt[0], (u32)page_a | PTE_P | PTE_W, "SetLazyMode(0) did not apply the queue");
    CHECK_EQ(read_va(VA), 0xAAAA0001, "the queued update's translation");
    /* more than the queue holds: it drains itself when full */
    call3(73, 1, 0, 0);
    for (u32 i = 0; i < 300; i++) call3(38, (u32)(i & 1 ? page_a : page_b) | PTE_P | PTE_W, (u32)&pt[1 + (i % 500)], PT_LEVEL | CURRENT_AS | (VA + 4096 * (1 + i % 500)));
    call3(46, VA, 0, 0);
    call3(73, 0, 0, 0);
    u32 bad = 0;
    for (u32 i = 0; i < 300; i++) bad += read_va(VA + 4096 * (1 + i)) != (i & 1 ? 0xAAAA0001 : 0xBBBB0002);
    CHECK_EQ(bad, 0, "translations after 300 queued updates");
    call3(73, 2, 0, 0);
    call3(73, 0, 0, 0);
  }
  /* An interrupt in lazy MMU mode, at every point of the ROM's queue append in turn: 96 runs,
     each with its one-shot alarm one cycle (one guest instruction) later than the run before.
     The handler's own update takes effect at once (Linux's interrupt context is not lazy), and
     the interrupted updates all land, none lost, however the handler's exit drains the queue. */
  {
    const u32 base = VA + 4096 * 600, hook = VA + 4096 * 620;
    /* Exits may be charged a modelled cost (--exit-cost): arming the alarm is one, so time it,
       and every run's alarm lands on the same instruction whatever the cost. */
    u64 t0 = call3_64(67, 0, 0, 0);
    call5(68, 0, 0, 1, 0, 0);
    const u32 arm_cycles = (u32)(call3_64(67, 0, 0, 0) - t0);
    call3(69, 0, 0, 0);
    irq_pt = pt;
    irq_va = hook;
    u32 bad = 0, hook_bad = 0, taken = 0;
    for (u32 k = 0; k < 96; k++) {
      irq_pte = (u32)(k & 1 ? page_b : page_a) | PTE_P | PTE_W;
      irq_read = 0;
      u32 before = irq0_count;
      u64 expiry = call3_64(67, 0, 0, 0) + arm_cycles + 20 + k;
      call5(68, 0, (u32)expiry, (u32)(expiry >> 32), 0, 0);
      call3(73, 1, 0, 0);
      call3(29, 0, 0, 0);
      for (u32 i = 0; i < 8; i++) call3(38, (u32)((k + i) & 1 ? page_a : page_b) | PTE_P | PTE_W, (u32)&pt[600 + i], PT_LEVEL | CURRENT_AS | (base + 4096 * i));
      call3(73, 0, 0, 0);
      call3(30, 0, 0, 0);
      taken += irq0_count - before;
      hook_bad += irq_read != (k & 1 ? 0xBBBB0002 : 0xAAAA0001);
      for (u32 i = 0; i < 8; i++) bad += read_va(base + 4096 * i) != ((k + i) & 1 ? 0xAAAA0001 : 0xBBBB0002);
    }
    irq_pt = 0;
    CHECK_EQ(taken, 96, "one alarm in each lazy run");
    CHECK_EQ(hook_bad, 0, "the handler's SetPxE was not in effect at once");
    CHECK_EQ(bad, 0, "interrupted queued updates lost");
  }
  /* a second address space (CLONE), and translations that survive switches exactly */
  {
    u32 *pd2 = pg_alloc();
    call5(44, pfn(pd2), L2 | 0x20, pfn(pd), 0, 1024);
    CHECK(memcmp(pd2, pd, 4096) == 0, "AllocatePage CLONE did not copy the directory");
    u32 *pt2 = pg_alloc();
    call5(44, pfn(pt2), L1, 0, 0, 0);
    call3(38, (u32)pt2 | PTE_P | PTE_W, (u32)&pd2[VA2 >> 22], PD_LEVEL);
    call3(38, (u32)page_a | PTE_P | PTE_W, (u32)&pt2[0], PT_LEVEL);
    call3(17, (u32)pd2, 0, 0);
    CHECK_EQ(read_va(VA2), 0xAAAA0001, "the second space's mapping");

    call3(17, (u32)pd, 0, 0);
    CHECK(TRY("movl 0x50000000, %%eax", ::: "eax") == 14, "the second space's mapping leaked into the first");
    call3(38, (u32)page_b | PTE_P | PTE_W, (u32)&pt2[0], PT_LEVEL); /* not the current space */
    call3(17, (u32)pd2, 0, 0);
    CHECK_EQ(read_va(VA2), 0xBBBB0002, "an update to another space was lost across the switch");
    call3(17, (u32)pd, 0, 0);
    pt2[0] = (u32)page_a | PTE_P | PTE_W; /* bypassing the ROM altogether */
    call3(17, (u32)pd2, 0, 0);
    CHECK_EQ(read_va(VA2), 0xAAAA0001, "a direct page-table store was missed across the switch");
    call3(17, (u32)pd, 0, 0);
    call3(38, 0, (u32)&pd2[VA2 >> 22], PD_LEVEL);
    call3(45, pfn(pt2), L1, 0);
    call3(45, pfn(pd2), L2, 0);
  }
  puts("mmu calls ok\n");

  /* ---- registers: each call changes its results and nothing else ----
     Linux patches the interrupt-flag calls inline in place of code that saved ECX and EDX, and
     2.6.21 patched save_flags_irq_disable as GetInterruptMask then DisableInterrupts, whose
     EAX must survive the second call. Not here: IRET and SYSEXIT (they do not return), Halt
     (it waits for an interrupt), Reboot and Shutdown, SetTR (it needs an available TSS),
     and SetInitialAPState (it must #GP, above). */
  {
    static u8 dt[6];
    static u32 table[8];
    const u32 pte = (u32)page_a | PTE_P | PTE_W, at = (u32)&pt[0], flags = PT_LEVEL | CURRENT_AS | VA;
    preserves(32, EFLAGS_IF, 0, 0, 0, 0, 0); /* SetInterruptMask(IF) */
    u32 mask = preserves(31, 0, 0, 0, 0, 0, R_EAX);
    CHECK_EQ(mask, EFLAGS_IF, "GetInterruptMask with the virtual IF set");
    CHECK_EQ(preserves(30, mask, 0, 0, 0, 0, 0), EFLAGS_IF, "GetInterruptMask's result after DisableInterrupts");
    preserves(29, 0, 0, 0, 0, 0, 0);
    preserves(30, 0, 0, 0, 0, 0, 0);
    preserves(32, 0, 0, 0, 0, 0, 0);
    for (u32 n = 19; n <= 22; n++) preserves(n, 0, 0, 0, 0, 0, R_EAX); /* GetCR0-4 */
    preserves(16, 0x5678, 0, 0, 0, 0, 0); /* SetCR2 */
    preserves(15, read_cr0() | 8, 0, 0, 0, 0, 0);
    preserves(28, 0, 0, 0, 0, 0, 0); /* CLTS */
    preserves(18, read_cr4(), 0, 0, 0, 0, 0);
    preserves(17, (u32)pd, 0, 0, 0, 0, 0);
    preserves(0, 0, 0, 0, 0, 0, R_EAX | R_EBX | R_ECX | R_EDX); /* CPUID */
    preserves(1, 0x12345678, 0, 0x175, 0, 0, 0);                  /* WRMSR SYSENTER_ESP */
    CHECK_EQ(preserves(2, 0, 0, 0x175, 0, 0, R_EAX | R_EDX), 0x12345678, "RDMSR");
    preserves(27, 0, 0, 0, 0, 0, R_EAX | R_EDX); /* RDTSC */
    preserves(26, 0, 0, 0, 0, 0, R_EAX | R_EDX); /* RDPMC of counter 0 */
    preserves(23, 0, 0, 0, 0, 0, 0);             /* WBINVD */
    preserves(7, (u32)dt, 0, 0, 0, 0, 0);        /* GetGDT, SetGDT, GetIDT, SetIDT */
    preserves(3, (u32)dt, 0, 0, 0, 0, 0);
    preserves(9, (u32)dt, 0, 0, 0, 0, 0);
    preserves(5, (u32)dt, 0, 0, 0, 0, 0);
    preserves(4, 0, 0, 0, 0, 0, 0); /* SetLDT(0), GetLDT, GetTR */
    preserves(8, 0, 0, 0, 0, 0, R_EAX);
    preserves(10, 0, 0, 0, 0, 0, R_EAX);
    for (u32 n = 11; n <= 13; n++) preserves(n, (u32)table, 1, 0x11111111, 0x22222222, 0, 0); /* Write*Entry */
    preserves(14, KERNEL_DS, rt_tss[1], 0, 0, 0, 0); /* UpdateKernelStack */
    preserves(24, 0, 0x1000, 0, 0, 0, 0);            /* SetDR, GetDR */
    preserves(25, 0, 0, 0, 0, 0, R_EAX);
    preserves(42, 0x1000, 0, 0, 0, 0, R_EAX); /* MachineToPhysical, PhysicalToMachine */
    preserves(43, 0x1000, 0, 0, 0, 0, R_EAX);
    preserves(61, 0, 0, 0, 0, 0, 0); /* SetIOPLMask */
    preserves(63, 0x80, 0, 0, 0, 0, 0); /* APICWrite, APICRead */
    preserves(64, 0x80, 0, 0, 0, 0, R_EAX);
    preserves(66, 0, 0, 0, 0, 0, R_EAX | R_EDX); /* GetCycleFrequency, GetCycleCounter */
    preserves(67, 0, 0, 0, 0, 0, R_EAX | R_EDX);
    preserves(70, 0, 0, 0, 0, 0, R_EAX | R_EDX); /* GetWallclockTime, WallclockUpdated */
    preserves(71, 0, 0, 0, 0, 0, R_EAX);
    preserves(68, 0, 0, 1, 0, 0, 0); /* SetAlarm one-shot, 2^32 cycles away, then CancelAlarm */
    preserves(69, 0, 0, 0, 0, 0, R_EAX);
    /* the MMU, immediate... */
    preserves(38, pte, at, flags, 0, 0, 0); /* SetPxE */
    preserves(40, at, flags, 0, 0, 0, 0);   /* UpdatePxE */
    preserves(39, pte, 0, at, flags, 0, 0); /* SetPxELong */
    preserves(41, at, flags, 0, 0, 0, 0);   /* UpdatePxELong */
    preserves(46, VA, 0, 0, 0, 0, 0);       /* InvalPage */
    preserves(47, 1, 0, 0, 0, 0, 0);        /* FlushTLB */
    u32 *spare = pg_alloc();
    preserves(44, pfn(spare), L1, 0, 0, 0, 0); /* AllocatePage, ReleasePage */
    preserves(45, pfn(spare), L1, 0, 0, 0, 0);
    preserves(48, 0, 0, 2048, 0, 0, 0); /* SetLinearMapping */
    /* ...and queued: appended in the ROM, drained when the queue fills and at the end */
    preserves(73, 1, 0, 0, 0, 0, 0);
    for (u32 i = 0; i < 100; i++) {
      preserves(38, pte, at, flags, 0, 0, 0);
      preserves(40, at, flags, 0, 0, 0, 0);
      preserves(46, VA, 0, 0, 0, 0, 0);
    }
    preserves(73, 0, 0, 0, 0, 0, 0);
    CHECK_EQ(read_va(VA), 0xAAAA0001, "the mapping after the register checks");
  }
  puts("registers ok\n");

  /* ---- hostile ---- */
  {
    static u32 plain[1024] __attribute__((aligned(4096)));
    call3(73, 1, 0, 0);
    call3(38, 0x12345007, (u32)&plain[5], PT_LEVEL);
    CHECK(try_call3(73, 0, 0, 0) == 13, "a queued update of an unannounced page must #GP at the flush");
    CHECK_EQ(plain[5], 0, "a refused batch was applied");
    call3(73, 1, 0, 0);
    call3(38, (u32)page_b | PTE_P | PTE_W, (u32)&pt[0], PT_LEVEL | CURRENT_AS | VA);
    call3(38, 0x007, (u32)&plain[6], PT_LEVEL);
    CHECK(try_call3(47, 1, 0, 0) == 13, "FlushTLB must #GP for a bad batch");
    CHECK_EQ(pt[0] & ~0x60u, (u32)page_a | PTE_P | PTE_W, "the good half of a refused batch was applied");
    call3(73, 1, 0, 0);
    call3(38, 0x007, 0x7FFFF000, PT_LEVEL); /* an entry pointer nothing maps */
    CHECK(try_call3(73, 0, 0, 0) == 13, "a queued update through an unmapped pointer must #GP at the flush");
    call3(73, 1, 0, 0);
    call4(48, 0, 0xC0000000u, 0x10000, 0); /* a lowmem mapping larger than RAM... */
    call3(38, 0x007, 0xC0000000u + 0x4000000u, PT_LEVEL); /* ...and an entry 64 MiB into it */
    CHECK(try_call3(73, 0, 0, 0) == 13, "a queued update outside RAM must #GP at the flush");
    call4(48, 0, 0, 2048, 0);
    call3(73, 1, 0, 0);
    set_shared32(SP_QUEUE_TAIL, shared32(SP_QUEUE_HEAD) + 100000);
    CHECK(try_call3(73, 0, 0, 0) == 13, "a garbage queue tail must #GP");
    call3(73, 0, 0, 0);
    CHECK(try_call3(38, 0xFC000007, (u32)&pd[0xFC000000u >> 22], PD_LEVEL) == 13, "mapping over the reserved range must #GP");
    CHECK(try_call5(44, 0x7FFFFFF, L1, 0, 0, 0) == 13, "AllocatePage outside RAM must #GP");
    CHECK(try_call3(45, 0x7FFFFFF, L1, 0) == 13, "ReleasePage outside RAM must #GP");
    CHECK(try_call5(44, pfn(plain), 0x04, 0, 0, 0) == 13, "AllocatePage of a PDP (no PAE) must #GP");
    CHECK(TRY(".byte 0x0f, 0x01, 0xc1", ::: "memory") == 6, "a hypercall outside the ROM must #UD");
    /* The guest's own mapping over the reserved range changes nothing there. */
    pd[0xFC000000u >> 22] = (u32)plain | PTE_P | PTE_W;
    call3(47, 3, 0, 0);
    CHECK_EQ(shared32(SP_VERSION), 1, "the shared area through the reserved range");
    pd[0xFC000000u >> 22] = 0;
    CHECK(TRY("movl (%%eax), %%eax", :: "a"(target[19]) : "memory") == -1, "the ROM is readable at CPL 0");
  }
  puts("hostile ok\n");

  if (strcmp(cmdline, "shutdown") == 0) call3(37, 0, 0, 0);
  if (strcmp(cmdline, "reboot") == 0) call3(36, 0, 0, 0);
  return rt_failures;
}
