/* paging: 2-level 32-bit paging (SDM Vol. 3 ch. 4): 4 KiB and 4 MiB pages, Accessed/Dirty
   (§4.8), #PF error codes and CR2 (§4.7), CR0.WP, and only the TLB behaviour the SDM
   guarantees (§4.10.4): INVLPG, CR3 loads for non-global entries, CR4.PGE toggles for all,
   no caching of not-present entries, and a #PF invalidating the faulting address. */
#include "rt.h"

#define TV 0x40000000u    /* 4 KiB test pages, PDE 256 */
#define TV2 0x50000000u   /* PDE-level permission tests, PDE 320 */
#define TV_NOPDE 0x4B000000u
#define BIG 0x80000000u   /* a 4 MiB page, PDE 512 */
#define BIG_PHYS 0x400000u

static u32 *pd;

static int rd(u32 va, u32 *out) {
  u32 v = 0;
  int r = TRY("movl (%1), %0", : "=r"(v) : "r"(va) : "memory");
  if (out) *out = v;
  return r;
}
static int wr(u32 va, u32 val) { return TRY("movl %1, (%0)", : : "r"(va), "r"(val) : "memory"); }
static u32 user_rd(u32 va) { return (u32)rd(va, 0); }
static u32 user_wr(u32 va) { return (u32)wr(va, 0x5A5A5A5A); }

#define NONE 0xFFFFFFFFu
/* One access: user or supervisor, read or write; want_err NONE = must not fault. */
static void access(const char *what, int user, int write, u32 va, u32 want_err) {
  int v = user ? (int)rt_call_user(write ? user_wr : user_rd, va) : write ? wr(va, 0x12345678) : rd(va, 0);
  if (want_err == NONE) {
    if (v == -1) {
      printf("ok   %-46s no fault\n", what);
      return;
    }
    rt_failures++;
    printf("FAIL %-46s vector %d error %x cr2 %08x, want no fault\n", what, v, rt_fault.error, rt_fault.cr2);
    return;
  }
  if (v == 14 && rt_fault.error == want_err && rt_fault.cr2 == va && rt_fault.eip == rt_try_insn) {
    printf("ok   %-46s #PF error %x\n", what, want_err);
    return;
  }
  rt_failures++;
  printf("FAIL %-46s vector %d error %x cr2 %08x eip %08x; want #PF error %x cr2 %08x eip %08x\n",
         what, v, rt_fault.error, rt_fault.cr2, rt_fault.eip, want_err, va, rt_try_insn);
}

static u32 *pde_of(u32 va) { return &pd[va >> 22]; }
static u32 *pte_of(u32 va) { return pg_pte(pd, va); }
static u32 phys_page(u32 fill) {
  u32 *p = pg_alloc();
  for (int i = 0; i < 1024; i++) p[i] = fill + i;
  return (u32)p;
}

static void accessed_dirty(void) {
  u32 here = (u32)&accessed_dirty, v;
  volatile u32 on_stack = 1;
  on_stack++;
  CHECK(*pde_of(here) & PTE_A, "PDE for code at %08x: %08x lacks A", here, *pde_of(here));
  CHECK(*pte_of(here) & PTE_A, "PTE for code at %08x: %08x lacks A", here, *pte_of(here));
  CHECK(*pte_of((u32)&on_stack) & PTE_D, "PTE for the stack: %08x lacks D", *pte_of((u32)&on_stack));

  u32 pa = phys_page(0xA0000000);
  u32 *pte = pte_of(TV), *pde = pde_of(TV);
  *pte = pa | PTE_P | PTE_W;
  *pde &= ~(PTE_A | PTE_D);
  invlpg((void *)TV);
  CHECK(!(*pte & (PTE_A | PTE_D)) && !(*pde & PTE_A), "A/D set before any access");
  CHECK(rd(TV + 8, &v) == -1 && v == 0xA0000002, "read through TV: %08x", v);
  CHECK((*pte & (PTE_A | PTE_D)) == PTE_A, "4K read: PTE %08x, want A and not D", *pte);
  CHECK(*pde & PTE_A, "4K read: PDE %08x lacks A", *pde);
  /* The TLB now holds a clean entry: the write must still set D in memory (§4.8). */
  CHECK(wr(TV + 8, 7) == -1, "write through TV");
  CHECK((*pte & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "4K write: PTE %08x, want A and D", *pte);
  printf("ok   accessed/dirty on 4 KiB pages: PDE %08x PTE %08x\n", *pde, *pte);

  u32 *big = pde_of(BIG);
  *big = BIG_PHYS | PDE_PS | PTE_P | PTE_W;
  invlpg((void *)BIG);
  u32 off = 0x123458;
  *(volatile u32 *)(BIG_PHYS + off) = 0xB16B00B5;
  CHECK(rd(BIG + off, &v) == -1 && v == 0xB16B00B5, "read through the 4 MiB page: %08x", v);
  CHECK((*big & (PTE_A | PTE_D)) == PTE_A, "4M read: PDE %08x, want A and not D", *big);
  CHECK(wr(BIG + off + 4, 0xCAFE) == -1, "write through the 4 MiB page");
  CHECK(*(volatile u32 *)(BIG_PHYS + off + 4) == 0xCAFE, "4M write not visible at the physical address");
  CHECK((*big & (PTE_A | PTE_D)) == (PTE_A | PTE_D), "4M write: PDE %08x, want A and D", *big);
  printf("ok   accessed/dirty on 4 MiB pages: PDE %08x\n", *big);
}

static void fault_codes(void) {
  u32 pa = phys_page(0xC0000000);
  u32 *pte = pte_of(TV);
  *pte = 0;
  invlpg((void *)TV);
  access("supervisor read, not present", 0, 0, TV + 0x10, 0);
  access("supervisor write, not present", 0, 1, TV + 0x14, 2);
  access("user read, not present", 1, 0, TV + 0x18, 4);
  access("user write, not present", 1, 1, TV + 0x1C, 6);
  access("supervisor read, PDE not present", 0, 0, TV_NOPDE + 0x20, 0);
  access("user write, PDE not present", 1, 1, TV_NOPDE + 0x24, 6);

  *pte = pa | PTE_P; /* read-only, supervisor */
  invlpg((void *)TV);
  write_cr0(read_cr0() & ~CR0_WP);
  access("supervisor write, read-only page, WP=0", 0, 1, TV + 0x28, NONE);
  CHECK(*(volatile u32 *)(pa + 0x28) == 0x12345678, "the WP=0 write did not land");
  write_cr0(read_cr0() | CR0_WP);
  *pte &= ~PTE_D;
  invlpg((void *)TV);
  access("supervisor write, read-only page, WP=1", 0, 1, TV + 0x2C, 3);
  CHECK(!(*pte & PTE_D), "a faulting write set D: PTE %08x", *pte);
  access("user read, supervisor page", 1, 0, TV + 0x30, 5);
  access("user write, supervisor read-only page", 1, 1, TV + 0x34, 7);
  *pte = pa | PTE_P | PTE_U;
  invlpg((void *)TV);
  access("user read, user read-only page", 1, 0, TV + 0x38, NONE);
  access("user write, user read-only page", 1, 1, TV + 0x3C, 7);
  write_cr0(read_cr0() & ~CR0_WP);
  access("user write, user read-only page, WP=0", 1, 1, TV + 0x40, 7);
  write_cr0(read_cr0() | CR0_WP);
  *pte = pa | PTE_P | PTE_U | PTE_W;
  invlpg((void *)TV);
  access("user write, user writable page", 1, 1, TV + 0x44, NONE);

  /* The PDE's R/W and U/S restrict too (§4.6.1): both levels must allow the access. */
  u32 *pte2 = pte_of(TV2), *pde2 = pde_of(TV2);
  *pte2 = pa | PTE_P | PTE_W | PTE_U;
  *pde2 &= ~PTE_W;
  invlpg((void *)TV2);
  access("user write, PDE read-only, PTE writable", 1, 1, TV2 + 0x48, 7);
  access("supervisor write, PDE read-only, WP=1", 0, 1, TV2 + 0x4C, 3);
  *pde2 = (*pde2 | PTE_W) & ~PTE_U;
  invlpg((void *)TV2);
  access("user read, PDE supervisor, PTE user", 1, 0, TV2 + 0x50, 5);
  access("supervisor write, PDE supervisor", 0, 1, TV2 + 0x54, NONE);

  u32 *big = pde_of(BIG);
  *big = BIG_PHYS | PDE_PS | PTE_P; /* read-only supervisor 4 MiB page */
  invlpg((void *)BIG);
  access("supervisor write, read-only 4 MiB page, WP=1", 0, 1, BIG + 0x3FFFFC, 3);
  access("user read, supervisor 4 MiB page", 1, 0, BIG + 0x200000, 5);
  *big = 0;
  invlpg((void *)BIG);
  access("user read, 4 MiB region not present", 1, 0, BIG + 0x1000, 4);
}

static void tlb_rules(void) {
  u32 a = phys_page(0xAAAA0000), b = phys_page(0xBBBB0000), v = 0;
  u32 *pte = pte_of(TV);

  /* §4.10.4.3: not-present entries are never cached, so P 0->1 needs no invalidation. */
  *pte = 0;
  invlpg((void *)TV);
  CHECK(rd(TV, &v) == 14, "read of a not-present page did not fault");
  *pte = a | PTE_P | PTE_W;
  CHECK(rd(TV + 4, &v) == -1 && v == 0xAAAA0001, "P 0->1 without INVLPG: got %08x (vector %u)", v,
        rt_fault.vector);

  /* INVLPG drops the stale translation. */
  *pte = b | PTE_P | PTE_W;
  invlpg((void *)TV);
  CHECK(rd(TV + 4, &v) == -1 && v == 0xBBBB0001, "after INVLPG: got %08x", v);
  /* A CR3 load flushes non-global entries (§4.10.4.1). */
  *pte = a | PTE_P | PTE_W;
  write_cr3(read_cr3());
  CHECK(rd(TV + 4, &v) == -1 && v == 0xAAAA0001, "after a CR3 load: got %08x", v);
  /* Global entries: INVLPG and a CR4.PGE toggle flush them; a CR3 load may not (not tested:
     keeping them is allowed, not required). */
  *pte = a | PTE_P | PTE_W | PTE_G;
  invlpg((void *)TV);
  CHECK(rd(TV + 8, &v) == -1 && v == 0xAAAA0002, "global read: got %08x", v);
  *pte = b | PTE_P | PTE_W | PTE_G;
  write_cr3(read_cr3());
  rd(TV + 8, &v);
  printf("     global entry after a CR3 load reads %08x (%s; either is allowed)\n", v,
         v == 0xAAAA0002 ? "kept" : "refetched");
  invlpg((void *)TV);
  CHECK(rd(TV + 8, &v) == -1 && v == 0xBBBB0002, "global after INVLPG: got %08x", v);
  *pte = a | PTE_P | PTE_W | PTE_G;
  write_cr4(read_cr4() & ~CR4_PGE);
  write_cr4(read_cr4() | CR4_PGE);
  CHECK(rd(TV + 8, &v) == -1 && v == 0xAAAA0002, "global after a CR4.PGE toggle: got %08x", v);
  printf("ok   TLB: P 0->1, INVLPG, CR3 load, global pages, CR4.PGE toggle\n");

  /* §4.10.4.1/4.10.4.3: a #PF invalidates the faulting address, so after making a read-only
     page writable without INVLPG, a write either succeeds or faults once, then succeeds. */
  *pte = a | PTE_P;
  invlpg((void *)TV);
  rd(TV, &v);
  *pte = a | PTE_P | PTE_W;
  int first = wr(TV + 12, 0x600D);
  int second = first == 14 ? wr(TV + 12, 0x600D) : -1;
  CHECK(second == -1, "write still faults after the #PF invalidated the entry");
  CHECK(*(volatile u32 *)(a + 12) == 0x600D, "the write did not land");
  printf("ok   R/W 0->1 without INVLPG: %s\n", first == 14 ? "one spurious #PF, then the write" : "the write went through");
}

static void aliasing(void) {
  u32 c = phys_page(0xCCCC0000), v = 0;
  u32 v1 = TV + 0x10000, v2 = TV + 0x20000, v3 = TV + 0x30000;
  u32 *p1 = pte_of(v1), *p2 = pte_of(v2), *p3 = pte_of(v3);
  *p1 = c | PTE_P | PTE_W;
  *p2 = c | PTE_P | PTE_W;
  *p3 = c | PTE_P; /* read-only alias */
  invlpg((void *)v1), invlpg((void *)v2), invlpg((void *)v3);
  CHECK(wr(v1 + 0x100, 0x11111111) == -1, "write via alias 1");
  CHECK(rd(v2 + 0x100, &v) == -1 && v == 0x11111111, "alias 2 sees %08x", v);
  CHECK(wr(v2 + 0x104, 0x22222222) == -1, "write via alias 2");
  CHECK(rd(v1 + 0x104, &v) == -1 && v == 0x22222222, "alias 1 sees %08x", v);
  CHECK(rd(v3 + 0x104, &v) == -1 && v == 0x22222222, "read-only alias sees %08x", v);
  CHECK(*(volatile u32 *)(c + 0x100) == 0x11111111, "physical page not written");
  access("supervisor write via the read-only alias", 0, 1, v3 + 0x108, 3);
  CHECK(*(volatile u32 *)(c + 0x108) == 0xCCCC0042, "the faulting write changed memory");
  *p1 &= ~(PTE_A | PTE_D);
  *p2 &= ~(PTE_A | PTE_D);
  invlpg((void *)v1), invlpg((void *)v2);
  CHECK(wr(v1 + 0x10C, 3) == -1, "write via alias 1");
  CHECK((*p1 & PTE_D) && !(*p2 & (PTE_A | PTE_D)), "D/A must be set only on the alias used: %08x %08x",
        *p1, *p2);
  printf("ok   aliasing: three virtual pages onto one physical page\n");
}

int guest_main(u32 magic, u32 info) {
  (void)magic, (void)info;
  u32 a, b, c, d;
  cpuid(1, &a, &b, &c, &d);
  CHECK(d & (1u << 3), "CPUID.1:EDX.PSE is clear");
  CHECK(d & (1u << 13), "CPUID.1:EDX.PGE is clear");
  pd = pg_identity_directory();
  pg_enable(pd, CR4_PSE | CR4_PGE);
  printf("paging: on, CR0 %08x CR3 %08x CR4 %08x\n", read_cr0(), read_cr3(), read_cr4());
  accessed_dirty();
  fault_codes();
  tlb_rules();
  aliasing();
  pg_disable();
  printf("paging: off again, %d failures\n", rt_failures);
  return rt_failures ? 1 : 0;
}
