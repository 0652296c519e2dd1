/* The VMI microbenchmark guest (needs --vmi): one tight loop of ROM calls, chosen on the multiboot
   command line, so the host can time what one call costs by subtracting two runs' wall times.

     op=none       call a plain `ret` in this guest (the loop's own cost)
     op=rom        GetCR0: served in the ROM from the shared page, no exit
     op=exit       GetDR(7): one hypercall, the host handler reads one register
     op=lazy       SetPxE to an announced page table inside SetLazyMode(1): queued by the ROM,
                   applied by the host one full queue at a time
     op=immediate  the same SetPxE outside lazy mode: one exit per update
     n=N           iterations (default 1000000)

   Every op runs the same loop (the same argument loads, the same indirect call), so the
   difference between two ops' times is the difference between the two calls. It finds and
   starts the ROM as Linux's CONFIG_VMI did (docs/vmi.md), with paging on and interrupts off. */
#include "rt.h"
#include "vmi-abi.h"

#define L1 (VMI_PAGE_PT | VMI_PAGE_ZEROED)
#define L2 (VMI_PAGE_PD | VMI_PAGE_ZEROED)
#define TABLE_VA 0x40000000u

static u8 *rom;

static u8 *find_rom(void) {
  for (u32 base = 0xC0000; base < 0xE0000; base += 2048) {
    u8 *r = (u8 *)base;
    if (*(u16 *)r == 0xAA55 && *(u32 *)(r + 8) == VMI_SIGNATURE && r[13] == 3) return r;
  }
  return 0;
}

static u32 reloc(u32 n) {
  u32 eax = n, edx;
  __asm__ volatile("call *%2" : "+a"(eax), "=d"(edx) : "r"(rom + 136) : "ecx", "memory", "cc");
  CHECK_EQ(edx & 0xFF, 1, "relocation type (CALL_REL)");
  return eax;
}

static void call3(u32 fn, u32 a, u32 d, u32 c) {
  __asm__ volatile("call *%3" : "+a"(a), "+d"(d), "+c"(c) : "r"(fn) : "memory", "cc");
}
static void call5(u32 fn, u32 a, u32 d, u32 c, u32 s1, u32 s2) {
  __asm__ volatile("push %[s2]\n\tpush %[s1]\n\tcall *%[fn]\n\tadd $8, %%esp"
                   : "+a"(a), "+d"(d), "+c"(c)
                   : [fn] "r"(fn), [s1] "r"(s1), [s2] "r"(s2)
                   : "memory", "cc");
}

/* The loop every op runs: EAX = val, EDX = &table[i mod 1024], ECX = flags, call fn. */
static u32 loop_fn, loop_val, loop_flags;
static void run_loop(u32 n, u32 *table) {
  __asm__ volatile("xor %%edi, %%edi\n"
                   "1:\n\t"
                   "mov %[val], %%eax\n\t"
                   "lea (%[table],%%edi,4), %%edx\n\t"
                   "mov %[flags], %%ecx\n\t"
                   "call *%[fn]\n\t"
                   "inc %%edi\n\t"
                   "and $1023, %%edi\n\t"
                   "dec %[n]\n\t"
                   "jnz 1b"
                   : [n] "+r"(n)
                   : [table] "r"(table), [fn] "m"(loop_fn), [val] "m"(loop_val), [flags] "m"(loop_flags)
                   : "eax", "ecx", "edx", "edi", "memory", "cc");
}
extern void plain_ret(void);
__asm__(".globl plain_ret\nplain_ret: ret\n");

static const char *arg(const char *cmdline, const char *key) {
  u32 k = strlen(key);
  for (const char *c = cmdline; *c; c++)
    if ((c == cmdline || c[-1] == ' ') && memcmp(c, key, k) == 0) return c + k;
  return 0;
}
static int word_is(const char *p, const char *w) {
  u32 k = strlen(w);
  return p && memcmp(p, w, k) == 0 && (p[k] == 0 || p[k] == ' ');
}

int guest_main(u32 mb_magic, u32 mb_info) {
  (void)mb_magic;
  const char *cmdline = (*(u32 *)mb_info & 4) ? (const char *)((u32 *)mb_info)[4] : "";
  const char *op = arg(cmdline, "op=");
  const char *ns = arg(cmdline, "n=");
  u32 n = 1000000;
  if (ns) {
    n = 0;
    while (*ns >= '0' && *ns <= '9') n = n * 10 + (u32)(*ns++ - '0');
  }
  if (!op || n == 0) {
    printf("FAIL usage: op=none|rom|exit|lazy|immediate [n=N>0], got \"%s\"\n", cmdline);
    return 2;
  }
  rom = find_rom();
  if (!rom) {
    puts("FAIL no VMI ROM found\n");
    return 3;
  }

  /* Paging on and interrupts off, as Linux calls vmi_init; then announce the page tables. */
  u32 *pd = pg_identity_directory();
  pg_enable(pd, CR4_PSE);
  cli();
  u32 init_result;
  __asm__ volatile("call *%1" : "=a"(init_result) : "r"(rom + 128) : "ecx", "edx", "memory", "cc");
  CHECK_EQ(init_result, 0, "vmi_init");
  u32 allocate = reloc(VMI_CALL_AllocatePage), set_pxe = reloc(VMI_CALL_SetPxE), lazy = reloc(VMI_CALL_SetLazyMode);
  call5(allocate, (u32)pd >> 12, L2, 0, 0, 0);
  for (u32 i = 0; i < 2; i++) call5(allocate, pd[i] >> 12, L1, 0, 0, 0);
  call3(reloc(VMI_CALL_SetCR3), (u32)pd, 0, 0);
  __asm__ volatile("push $0\n\tcall *%3\n\tadd $4, %%esp" ::"a"(0), "d"(0), "c"(2048), "r"(reloc(VMI_CALL_SetLinearMapping))
                   : "memory", "cc");
  u32 *table = pg_alloc();
  u8 *page = pg_alloc();
  call5(allocate, (u32)table >> 12, L1, 0, 0, 0);
  call3(set_pxe, (u32)table | PTE_P | PTE_W, (u32)&pd[TABLE_VA >> 22], VMI_PAGE_PD);

  loop_val = 0;
  loop_flags = 0;
  int lazy_mode = 0;
  const char *name = op;
  if (word_is(op, "none")) {
    name = "none";
    loop_fn = (u32)plain_ret;
  } else if (word_is(op, "rom")) {
    name = "rom";
    loop_fn = reloc(VMI_CALL_GetCR0);
  } else if (word_is(op, "exit")) {
    name = "exit";
    loop_fn = reloc(VMI_CALL_GetDR);
    loop_val = 7;
  } else if (word_is(op, "lazy") || word_is(op, "immediate")) {
    loop_fn = set_pxe;
    loop_val = (u32)page | PTE_P | PTE_W;
    loop_flags = VMI_PAGE_PT;
    lazy_mode = word_is(op, "lazy");
    name = lazy_mode ? "lazy" : "immediate";
  } else {
    printf("FAIL unknown op \"%s\"\n", op);
    return 2;
  }
  if (lazy_mode) call3(lazy, 1, 0, 0);
  run_loop(n, table);
  if (lazy_mode) call3(lazy, 0, 0, 0);
  if (loop_fn == set_pxe) {
    u32 bad = 0;
    for (u32 i = 0; i < (n < 1024 ? n : 1024); i++) bad += table[i] != loop_val;
    CHECK_EQ(bad, 0, "page-table entries after the loop");
  }
  printf("vmibench op %s n %u\n", name, n);
  return 0;
}
