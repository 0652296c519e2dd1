/* pvkernel: a small paravirtual kernel, built three ways from this source.
     MODE_NATIVE   privileged instructions, the 8254 PIT on IRQ0
     MODE_VMI      finds the VMI option ROM as Linux's CONFIG_VMI did, patches every paravirtual
                   call site from its relocations, and from then on runs page-table writes, CR3
                   loads, TLB flushes, CR2 reads, the interrupt flag, the timer and IRET through it
     MODE_BATCHED  MODE_VMI plus Linux's lazy MMU mode: SetLazyMode(1) around runs of
                   page-table updates (a whole fork copy, a whole mmap or munmap range, the
                   teardown at exit, a fault's PTE update with its INVLPG), PTE writes flagged
                   DEFER; the TLB flush that ends a munmap, fork or exit is issued before leaving
                   the section, so FlushTLB drains the queue and SetLazyMode(0) needs no exit
   Ring-3 processes (user.c) fork, mmap/munmap page ranges, take demand-zero and copy-on-write
   faults, and are switched by the timer. Fork copies (256 shared pages and more per fork) and
   mmap/munmap storms (64-160 pages per call) dominate the page-table traffic, as in the
   fork/mmap workload of the batching benchmark; faults are a few per process. Each exits with a value computed over its own memory;
   the checksum combines them order-independently, so it does not depend on timer interleaving
   and is the same in every mode and on every emulator. Command line: scale=N, the number of
   generations of children (default 20, about 30 M instructions; cost is linear in N). */
#include "rt.h"
#include "vmi-abi.h"

#if defined(MODE_VMI) || defined(MODE_BATCHED)
#define USE_VMI 1
#else
#define USE_VMI 0
#endif
#if defined(MODE_BATCHED)
#define BATCHED 1
#define MODE_NAME "batched"
#elif defined(MODE_VMI)
#define BATCHED 0
#define MODE_NAME "vmi"
#else
#define BATCHED 0
#define MODE_NAME "native"
#endif

/* ---------------------------------------------------------------- paravirtual operations */
#define RP __attribute__((regparm(3)))
RP void pv_set_cr3(u32 pd);
RP u32 pv_get_cr2(void);
RP void pv_irq_enable(void);
RP void pv_irq_disable(void);
RP u32 pv_save_fl(void);
RP void pv_restore_fl(u32 flags);
RP void pv_set_pxe(u32 entry, u32 *ptep, u32 flags);
RP void pv_update_pxe(u32 *ptep, u32 flags);
RP void pv_allocate_page(u32 pfn, u32 flags, u32 clone_pfn, u32 start, u32 count);
RP void pv_release_page(u32 pfn, u32 flags);
RP void pv_inval_page(u32 va);
RP void pv_flush_tlb(u32 flags);
RP void pv_set_linear_mapping(u32 slot, u32 va, u32 pages, u32 pfn);
RP u64 pv_get_cycle_frequency(void);
RP u64 pv_get_cycle_counter(u32 counter);
RP void pv_set_alarm(u32 flags, u64 expiry, u64 period);
RP void pv_set_lazy_mode(u32 mode);
extern u32 pv_sites_begin[], pv_sites_end[];
extern u8 pv_trap_pf[], pv_trap_irq0[], pv_trap_syscall[];
void sched_start(struct rt_frame *kframe);
void sched_finish(void) __attribute__((noreturn));
extern u32 rt_gdt[];

/* VMI ABI numbers: vmi-abi.h, generated from the core's assembly/vmi-abi.ts */
#define VMI_CALLS 74
#define VMI_PAGE_L1 (VMI_PAGE_PT | VMI_PAGE_ZEROED)
#define VMI_PAGE_L2 (VMI_PAGE_PD | VMI_PAGE_ZEROED)
#define VMI_ALARM_WIRED_IRQ0 0

/* ---------------------------------------------------------------- layout */
#define KMEM_END 0x01000000u       /* identity-mapped, shared by every address space */
#define POOL_START 0x00400000u     /* the page allocator's range */
#define KERNEL_PDES 256            /* PDEs 0..255 (0-1 GiB) are the kernel part */
#define USER_BASE 0x40000000u
#define USER_TOP 0x80000000u
#define USER_STACK_TOP 0x70000000u
#define PTE_COW (1u << 9)          /* available bit: write-protected copy-on-write page */
#define HZ 1000
#define MAX_PROCS 64
#define DEFAULT_SCALE 20 /* generations of children: about 30 M instructions */

#define KFRAME ((struct rt_frame *)(rt_tss[1] - sizeof(struct rt_frame)))

/* ---------------------------------------------------------------- counters */
static u32 pt_ops, n_alloc_calls, n_release_calls, n_flushes, n_invals;
static u32 n_faults, n_demand, n_cow_copy, n_cow_reuse, n_syscalls, n_forks, n_exits;
static u32 n_mmap_pages, n_munmap_pages, n_switches, n_ticks, n_lazy;
static u32 result_sum, result_xor;

static void fail(const char *what, u32 a, u32 b) __attribute__((noreturn));
static void fail(const char *what, u32 a, u32 b) {
  printf("FAIL %s: 0x%x 0x%x\n", what, a, b);
  debug_exit(3);
}

/* ---------------------------------------------------------------- physical pages */
#define POOL_PAGES ((KMEM_END - POOL_START) >> 12)
static u16 free_pfns[POOL_PAGES];
static u32 n_free;
static u16 page_refs[KMEM_END >> 12];

static void *page_alloc(void) {
  if (!n_free) fail("out of physical pages", 0, 0);
  u32 pfn = free_pfns[--n_free];
  page_refs[pfn] = 1;
  void *p = (void *)(pfn << 12);
  memset(p, 0, PAGE_SIZE);
  return p;
}

static void page_put(u32 pa) {
  u32 pfn = pa >> 12;
  if (pfn < (POOL_START >> 12) || pfn >= (KMEM_END >> 12) || !page_refs[pfn]) fail("bad page_put", pa, 0);
  if (--page_refs[pfn] == 0) free_pfns[n_free++] = (u16)pfn;
}

/* ---------------------------------------------------------------- MMU operations */
static int lazy;

static void lazy_enter(void) {
  if (BATCHED) {
    pv_set_lazy_mode(1);
    lazy = 1;
    n_lazy++;
  }
}
static void lazy_leave(void) {
  if (BATCHED) {
    pv_set_lazy_mode(0);
    lazy = 0;
  }
}

/* Flags of a PT-level update: CURRENT_AS and the linear address when it is in the address
   space now loaded (so one TLB entry can be fixed), DEFER inside a lazy section. */
static u32 pt_flags(u32 va, int current) {
  u32 f = VMI_PAGE_PT;
  if (current) f |= VMI_PAGE_CURRENT_AS | (va & ~0xFFFu);
  if (lazy) f |= VMI_PAGE_DEFER;
  return f;
}
static void set_pte(u32 *ptep, u32 entry, u32 va, int current) {
  pt_ops++;
  pv_set_pxe(entry, ptep, pt_flags(va, current));
}
/* The entry was written in place; tell the hypervisor (Linux's pte_update). */
static void update_pte(u32 *ptep, u32 va, int current) {
  pt_ops++;
  pv_update_pxe(ptep, pt_flags(va, current));
}
static void set_pde(u32 *pdep, u32 entry) {
  pt_ops++;
  pv_set_pxe(entry, pdep, VMI_PAGE_PD);
}
static void allocate_pt(u32 *pt) {
  n_alloc_calls++;
  pv_allocate_page((u32)pt >> 12, VMI_PAGE_L1, 0, 0, 0);
}
static void release_pt(u32 *pt) {
  n_release_calls++;
  pv_release_page((u32)pt >> 12, VMI_PAGE_L1);
}
static void flush_user_tlb(void) {
  n_flushes++;
  pv_flush_tlb(VMI_FLUSH_TLB);
}
static void inval_page(u32 va) {
  n_invals++;
  pv_inval_page(va);
}

static u32 *kernel_pd;

/* A new page directory: user part empty, kernel part copied from kernel_pd, announced as a
   clone of it (Linux's pgd_ctor + alloc_pmd_clone). */
static u32 *pd_create(void) {
  u32 *pd = page_alloc();
  memcpy(pd, kernel_pd, KERNEL_PDES * 4);
  n_alloc_calls++;
  pv_allocate_page((u32)pd >> 12, VMI_PAGE_L2 | VMI_PAGE_CLONE, (u32)kernel_pd >> 12, 0, KERNEL_PDES);
  return pd;
}

/* The PTE for va in pd, allocating (and announcing) its page table when absent. In a lazy
   section the new PDE may still be queued, not yet in memory: the caller must not look the
   same table up again before the section ends (mmap creates its tables before entering one). */
static u32 *pte_get(u32 *pd, u32 va, int create) {
  u32 *pdep = &pd[va >> 22];
  if (!(*pdep & PTE_P)) {
    if (!create) return 0;
    u32 *pt = page_alloc();
    allocate_pt(pt);
    set_pde(pdep, (u32)pt | PTE_P | PTE_W | PTE_U);
    return pt + ((va >> 12) & 1023);
  }
  return (u32 *)(*pdep & ~0xFFFu) + ((va >> 12) & 1023);
}

/* ---------------------------------------------------------------- processes */
enum { P_FREE, P_RUNNABLE, P_WAITING };
struct proc {
  u32 state, pid, children;
  struct proc *parent;
  u32 *pd;
  struct rt_frame frame;
};
static struct proc procs[MAX_PROCS];
static struct proc *cur;
static u32 next_pid = 1, live_procs, max_live;
static u32 scale = DEFAULT_SCALE;
static u32 free_list[4096];

static struct proc *proc_alloc(void) {
  for (u32 i = 0; i < MAX_PROCS; i++)
    if (procs[i].state == P_FREE) {
      procs[i].state = P_RUNNABLE;
      procs[i].pid = next_pid++;
      live_procs++;
      if (live_procs > max_live) max_live = live_procs;
      return &procs[i];
    }
  fail("out of process slots", 0, 0);
}

static struct proc *pick_next(void) {
  u32 start = cur ? (u32)(cur - procs) + 1 : 0;
  for (u32 i = 0; i < MAX_PROCS; i++) {
    struct proc *p = &procs[(start + i) % MAX_PROCS];
    if (p->state == P_RUNNABLE) return p;
  }
  return 0;
}

static void switch_to(struct rt_frame *f, struct proc *next) {
  if (next == cur) return;
  if (cur && cur->state != P_FREE) cur->frame = *f;
  *f = next->frame;
  cur = next;
  n_switches++;
  pv_set_cr3((u32)next->pd);
}

/* fork: the child's user mappings are the parent's, both write-protected copy-on-write. */
static u32 sys_fork(struct rt_frame *f) {
  struct proc *child = proc_alloc();
  child->pd = pd_create();
  u32 *ppd = cur->pd, *cpd = child->pd;
  lazy_enter();
  for (u32 i = USER_BASE >> 22; i < USER_TOP >> 22; i++) {
    if (!(ppd[i] & PTE_P)) continue;
    u32 *ppt = (u32 *)(ppd[i] & ~0xFFFu);
    u32 *cpt = pte_get(cpd, i << 22, 1);
    for (u32 j = 0; j < 1024; j++) {
      u32 pte = ppt[j], va = (i << 22) | (j << 12);
      if (!(pte & PTE_P)) continue;
      if (pte & PTE_W) {
        pte = (pte & ~PTE_W) | PTE_COW;
        ppt[j] = pte;
        update_pte(&ppt[j], va, 1);
      }
      page_refs[pte >> 12]++;
      set_pte(&cpt[j], pte, va, 0);
    }
  }
  flush_user_tlb(); /* the parent's PTEs lost PTE_W; FlushTLB also drains the queue */
  lazy_leave();     /* so leaving lazy mode has nothing left to drain: no exit */
  child->frame = *f;
  child->frame.eax = 0;
  child->parent = cur;
  cur->children++;
  n_forks++;
  return child->pid;
}

static int user_range(u32 addr, u32 pages) {
  return !(addr & 0xFFF) && pages && pages <= 1024 && addr >= USER_BASE && addr < USER_TOP &&
         pages <= (USER_TOP - addr) >> 12;
}

/* mmap: zeroed pages mapped at once (MAP_POPULATE): page tables first, then the PTEs, the
   whole range in one lazy section (Linux batches a whole VMA). */
static u32 sys_mmap(u32 addr, u32 pages) {
  if (!user_range(addr, pages)) return (u32)-1;
  for (u32 va = addr; va < addr + (pages << 12); va += PAGE_SIZE)
    if (*pte_get(cur->pd, va, 1) & PTE_P) return (u32)-1;
  lazy_enter();
  for (u32 va = addr; va < addr + (pages << 12); va += PAGE_SIZE) {
    u32 *page = page_alloc();
    set_pte(pte_get(cur->pd, va, 0), (u32)page | PTE_P | PTE_W | PTE_U, va, 1);
  }
  lazy_leave();
  n_mmap_pages += pages;
  return 0;
}

/* munmap: clear the PTEs, flush, then free the pages (Linux's unmap + tlb_finish_mmu). */
static u32 sys_munmap(u32 addr, u32 pages) {
  if (!user_range(addr, pages)) return (u32)-1;
  u32 n = 0;
  lazy_enter();
  for (u32 va = addr; va < addr + (pages << 12); va += PAGE_SIZE) {
    u32 *ptep = pte_get(cur->pd, va, 0);
    if (!ptep || !(*ptep & PTE_P)) continue;
    free_list[n++] = *ptep;
    set_pte(ptep, 0, va, 1);
  }
  flush_user_tlb(); /* drains the queue, then flushes: leaving lazy mode costs no exit */
  lazy_leave();
  for (u32 i = 0; i < n; i++) page_put(free_list[i] & ~0xFFFu);
  n_munmap_pages += n;
  return 0;
}

/* exit: tear the address space down, then run the next process or finish. */
static void sys_exit(struct rt_frame *f, u32 value) {
  result_sum += value;
  result_xor ^= value * 0x9E3779B1u;
  n_exits++;
  u32 *pd = cur->pd, n = 0;
  lazy_enter();
  for (u32 i = USER_BASE >> 22; i < USER_TOP >> 22; i++) {
    if (!(pd[i] & PTE_P)) continue;
    u32 *pt = (u32 *)(pd[i] & ~0xFFFu);
    for (u32 j = 0; j < 1024; j++)
      if (pt[j] & PTE_P) {
        free_list[n++] = pt[j];
        set_pte(&pt[j], 0, (i << 22) | (j << 12), 1);
      }
  }
  u32 npt = 0, *pts = free_list + n;
  for (u32 i = USER_BASE >> 22; i < USER_TOP >> 22; i++) {
    if (!(pd[i] & PTE_P)) continue;
    pts[npt++] = pd[i] & ~0xFFFu;
    set_pde(&pd[i], 0);
  }
  flush_user_tlb(); /* drains the queue: leaving lazy mode costs no exit */
  lazy_leave();
  for (u32 i = 0; i < n; i++) page_put(free_list[i] & ~0xFFFu);
  for (u32 i = 0; i < npt; i++) {
    release_pt((u32 *)pts[i]);
    page_put(pts[i]);
  }
  cur->state = P_FREE;
  live_procs--;
  for (u32 i = 0; i < MAX_PROCS; i++)
    if (procs[i].parent == cur) procs[i].parent = 0;
  struct proc *parent = cur->parent;
  cur->parent = 0;
  if (parent && --parent->children == 0 && parent->state == P_WAITING) parent->state = P_RUNNABLE;
  struct proc *next = pick_next();
  if (next) {
    switch_to(f, next);
  } else {
    cur = 0;
    pv_set_cr3((u32)kernel_pd);
  }
  n_release_calls++;
  pv_release_page((u32)pd >> 12, VMI_PAGE_L2);
  page_put((u32)pd);
  if (!next) sched_finish();
}

static void page_fault(struct rt_frame *f) {
  u32 va = pv_get_cr2(), err = f->error;
  n_faults++;
  if (va < USER_BASE || va >= USER_TOP || !(err & 4))
    fail("page fault outside user space (cr2, error)", va, err);
  /* The PTE update and its INVLPG in one lazy section: one exit (the drain) instead of two. */
  lazy_enter();
  u32 *ptep = pte_get(cur->pd, va, 1);
  u32 pte = *ptep;
  if (!(err & 1)) {
    if (pte & PTE_P) fail("not-present fault on a present PTE", va, pte);
    u32 *page = page_alloc();
    set_pte(ptep, (u32)page | PTE_P | PTE_W | PTE_U, va, 1);
    n_demand++;
    lazy_leave();
    return;
  }
  if (!(err & 2) || !(pte & PTE_COW)) fail("protection fault (cr2, pte)", va, pte);
  u32 pa = pte & ~0xFFFu;
  if (page_refs[pa >> 12] == 1) {
    *ptep = (pte | PTE_W) & ~PTE_COW;
    update_pte(ptep, va, 1);
    n_cow_reuse++;
  } else {
    u32 *copy = page_alloc();
    memcpy(copy, (void *)pa, PAGE_SIZE);
    page_put(pa);
    set_pte(ptep, (u32)copy | PTE_P | PTE_W | PTE_U, va, 1);
    n_cow_copy++;
  }
  inval_page(va);
  lazy_leave();
}

static void syscall(struct rt_frame *f) {
  n_syscalls++;
  switch (f->eax) {
    case 0: sys_exit(f, f->ebx); return;
    case 1: f->eax = sys_fork(f); return;
    case 2: f->eax = sys_mmap(f->ebx, f->ecx); return;
    case 3: f->eax = sys_munmap(f->ebx, f->ecx); return;
    case 4: { /* yield */
      struct proc *next = pick_next();
      f->eax = 0;
      if (next) switch_to(f, next);
      return;
    }
    case 5: /* wait until every child has exited */
      f->eax = 0;
      if (cur->children) {
        cur->state = P_WAITING;
        struct proc *next = pick_next();
        if (!next) fail("wait with nothing to run", cur->pid, cur->children);
        switch_to(f, next);
      }
      return;
    default: f->eax = (u32)-1;
  }
}

void kernel_trap(struct rt_frame *f);
void kernel_trap(struct rt_frame *f) {
  if (f != KFRAME || (f->cs & 3) != 3 || !cur)
    fail("trap not from ring 3 (vector, eip)", f->vector, f->eip);
  switch (f->vector) {
    case 14: page_fault(f); break;
    case 0x80: syscall(f); break;
    case 0x20: {
      n_ticks++;
      outb(0x20, 0x20);
      struct proc *next = pick_next();
      if (next) switch_to(f, next);
      break;
    }
    default: fail("unexpected vector", f->vector, f->eip);
  }
}

/* ---------------------------------------------------------------- the VMI ROM */
#if USE_VMI
static const u8 *vmi_rom;
static u32 virtual_top;
static struct {
  u32 eip, type;
} relocs[VMI_CALLS];

static u16 rom16(const u8 *p, u32 off) { return (u16)(p[off] | p[off + 1] << 8); }
static u32 rom32(const u8 *p, u32 off) { return rom16(p, off) | (u32)rom16(p, off + 2) << 16; }

/* Scan 0xC0000-0xDFFFF in 2 KiB steps as Linux's probe_vmi_rom did, with its checks plus the
   option-ROM checksum. Paging is off: physical = linear. */
static const u8 *probe_vmi_rom(void) {
  for (u32 base = 0xC0000; base < 0xE0000; base += 2048) {
    const u8 *rom = (const u8 *)base;
    if (rom16(rom, 0) != 0xAA55 || rom32(rom, 8) != 0x696d5663) continue;
    printf("vmi: ROM signature at 0x%x: API %u.%u, %u bytes, virtual_top 0x%x\n", base, rom[13],
           rom[12], rom[2] * 512, rom32(rom, 16));
    if (rom[13] != 3) {
      printf("vmi: API major %u, not 3: skipped\n", rom[13]);
      continue;
    }
    u32 len = rom[2] * 512u;
    u8 sum = 0;
    for (u32 i = 0; i < len; i++) sum += rom[i];
    if (!len || base + len > 0xE0000 || sum) {
      printf("vmi: bad ROM length %u or checksum %u: skipped\n", len, sum);
      continue;
    }
    u32 pci = rom16(rom, 24), lic = rom16(rom, 22);
    if (!pci || pci + 8 > len || rom32(rom, pci) != 0x52494350) { /* "PCIR" */
      printf("vmi: no PCI header (offset 0x%x): skipped\n", pci);
      continue;
    }
    if (rom16(rom, pci + 4) != 0x15AD || rom16(rom, pci + 6) != 0x0801) {
      printf("vmi: PCI ids %x:%x, not 15ad:0801: skipped\n", rom16(rom, pci + 4), rom16(rom, pci + 6));
      continue;
    }
    if (!lic || lic + 7 > len || strcmp((const char *)rom + lic, "GPL v2")) {
      printf("vmi: license at 0x%x is not \"GPL v2\": skipped\n", lic);
      continue;
    }
    return rom;
  }
  return 0;
}

/* Patch every site from its relocation, as Linux's vmi_patch/patch_internal did. */
static void patch_sites(void) {
  u32 counts[4] = {0, 0, 0, 0}, patched = 0;
  for (u32 n = 0; n < VMI_CALLS; n++) {
    u64 r = ((RP u64(*)(u32))(vmi_rom + 136))(n);
    relocs[n].eip = (u32)r;
    relocs[n].type = (u32)(r >> 32) & 0xFF;
    if (relocs[n].type > 3) fail("unknown relocation type (call, type)", n, relocs[n].type);
    counts[relocs[n].type]++;
    if (relocs[n].type == VMI_RELOCATION_CALL_REL || relocs[n].type == VMI_RELOCATION_JUMP_REL) {
      if (relocs[n].eip < virtual_top) fail("relocation target below virtual_top (call, eip)", n, relocs[n].eip);
    }
  }
  printf("vmi: relocations: %u call, %u jump, %u nop, %u none\n", counts[1], counts[2], counts[3], counts[0]);
  for (u32 *s = pv_sites_begin; s < pv_sites_end; s += 2) {
    u8 *site = (u8 *)s[0];
    u32 n = s[1], type = relocs[n].type;
    if (type == VMI_RELOCATION_NONE) continue;
    if (n == VMI_CALL_IRET && type == VMI_RELOCATION_NOP) fail("IRET relocation is NOP", n, type);
    if ((n == VMI_CALL_AllocatePage || n == VMI_CALL_SetAlarm || n == VMI_CALL_SetLinearMapping) &&
        type == VMI_RELOCATION_JUMP_REL)
      fail("JUMP_REL for a call with stack arguments", n, type);
    if (type == VMI_RELOCATION_NOP) {
      memset(site, 0x90, 5);
    } else {
      site[0] = type == VMI_RELOCATION_CALL_REL ? 0xE8 : 0xE9;
      u32 rel = relocs[n].eip - ((u32)site + 5);
      memcpy(site + 1, &rel, 4);
    }
    patched++;
  }
  printf("vmi: patched %u of %u call sites\n", patched, (u32)(pv_sites_end - pv_sites_begin) / 2);
}
#endif

/* u64 / u32 without libgcc (the quotient must fit in 32 bits after the first step). */
static __attribute__((unused)) u64 div64(u64 v, u32 d) {
  u32 hi = (u32)(v >> 32), qhi = hi / d, r = hi % d, qlo, rem;
  __asm__("divl %4" : "=a"(qlo), "=d"(rem) : "a"((u32)v), "d"(r), "rm"(d));
  (void)rem;
  return ((u64)qhi << 32) | qlo;
}

static void timer_init(void) {
  pic_remap_and_mask(0xFE, 0xFF); /* IRQ0 only */
#if USE_VMI
  if (relocs[VMI_CALL_GetCycleFrequency].type != VMI_RELOCATION_NONE &&
      relocs[VMI_CALL_SetAlarm].type != VMI_RELOCATION_NONE) {
    u64 freq = pv_get_cycle_frequency();
    u64 period = div64(freq, HZ);
    u64 now = pv_get_cycle_counter(VMI_CYCLES_AVAILABLE);
    printf("vmi: cycle frequency %llu Hz, alarm every %llu cycles on IRQ0\n", freq, period);
    if (!period) fail("cycle frequency below HZ", (u32)freq, HZ);
    outb(0x43, 0x3A); /* PIT channel 0 to mode 5 with no count: silent (as Linux's vmi_time_init) */
    pv_set_alarm(VMI_ALARM_WIRED_IRQ0 | VMI_ALARM_IS_PERIODIC | VMI_CYCLES_AVAILABLE, now + period, period);
    return;
  }
  puts("vmi: no VMI timer, using the PIT\n");
#endif
  u32 div = (1193182 + HZ / 2) / HZ;
  outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
  outb(0x40, div & 0xFF);
  outb(0x40, div >> 8);
}

/* ---------------------------------------------------------------- boot */
static u32 boot_pd[1024] __attribute__((aligned(4096)));
static u32 boot_pt[KMEM_END >> 22][1024] __attribute__((aligned(4096)));
extern u8 __image_end[];

/* Kernel mappings: 0..KMEM_END identity, supervisor, except the image's text and rodata, which
   ring 3 may read and run (the user programs live there: user.c). */
static u32 kernel_pte(u32 pa) {
  u32 user_end = (u32)rt_gdt & ~0xFFFu; /* .data starts with the runtime's GDT */
  return pa | PTE_P | PTE_W | (pa >= 0x100000 && pa < user_end ? PTE_U : 0);
}

static u32 parse_scale(u32 mb_info) {
  u32 s = DEFAULT_SCALE;
  if (!mb_info || !(*(u32 *)mb_info & 4)) return s;
  const char *c = (const char *)*(u32 *)(mb_info + 16);
  for (; c && *c; c++) {
    if ((c == (const char *)*(u32 *)(mb_info + 16) || c[-1] == ' ') && !memcmp(c, "scale=", 6)) {
      s = 0;
      for (c += 6; *c >= '0' && *c <= '9'; c++) s = s * 10 + (u32)(*c - '0');
      if (!s) s = DEFAULT_SCALE;
      break;
    }
  }
  return s;
}

RP __attribute__((noreturn)) void user_init(u32 scale);

int guest_main(u32 mb_magic, u32 mb_info) {
  (void)mb_magic;
  pv_irq_disable(); /* native until patched: interrupts are off from the entry anyway */
  scale = parse_scale(mb_info);
  printf("pvkernel: mode %s, scale %u\n", MODE_NAME, scale);
  if (mb_info && (*(u32 *)mb_info & 1) && *(u32 *)(mb_info + 8) + 1024 < (KMEM_END >> 10))
    fail("needs 16 MiB of RAM (mem_upper KiB)", *(u32 *)(mb_info + 8), 0);
  if ((u32)__image_end > POOL_START) fail("image overlaps the page pool", (u32)__image_end, POOL_START);

#if USE_VMI
  vmi_rom = probe_vmi_rom();
  if (!vmi_rom) {
    puts("FAIL no VMI ROM found\n");
    debug_exit(2);
  }
  virtual_top = rom32(vmi_rom, 16);
  if (virtual_top < USER_TOP) fail("virtual_top below the user range", virtual_top, USER_TOP);
#endif

  /* Boot page tables, written directly (as head.S does), then paging on. */
  for (u32 i = 0; i < (KMEM_END >> 22); i++) {
    for (u32 j = 0; j < 1024; j++) boot_pt[i][j] = kernel_pte((i << 22) | (j << 12));
    boot_pd[i] = (u32)boot_pt[i] | PTE_P | PTE_W | PTE_U;
  }
  write_cr3((u32)boot_pd);
  write_cr0(read_cr0() | CR0_PG);

#if USE_VMI
  {
    u32 rc = ((RP u32(*)(void))(vmi_rom + 128))();
    if (rc) fail("vmi_init failed", rc, 0);
    puts("vmi: vmi_init ok\n");
    patch_sites();
  }
#endif
  /* Slot 0 is the kernel's linear map of low memory (Linux's vmi_bringup): here the identity
     map of 0..KMEM_END, where every page table lives. */
  pv_set_linear_mapping(0, 0, KMEM_END >> 12, 0);

  for (u32 pa = KMEM_END - PAGE_SIZE; pa >= POOL_START; pa -= PAGE_SIZE) free_pfns[n_free++] = (u16)(pa >> 12);

  /* The kernel's own page directory, built through the paravirtual interface. */
  kernel_pd = page_alloc();
  n_alloc_calls++;
  pv_allocate_page((u32)kernel_pd >> 12, VMI_PAGE_L2, 0, 0, 0);
  for (u32 i = 0; i < (KMEM_END >> 22); i++) {
    u32 *pt = page_alloc();
    allocate_pt(pt);
    lazy_enter();
    for (u32 j = 0; j < 1024; j++) {
      u32 va = (i << 22) | (j << 12);
      set_pte(&pt[j], kernel_pte(va), va, 0);
    }
    lazy_leave();
    set_pde(&kernel_pd[i], (u32)pt | PTE_P | PTE_W | PTE_U);
  }
  pv_set_cr3((u32)kernel_pd);
  u32 boot_ops = pt_ops;

  idt_set_gate(14, (u32)pv_trap_pf, KERNEL_CS, GATE_INT, 0, 1);
  idt_set_gate(0x20, (u32)pv_trap_irq0, KERNEL_CS, GATE_INT, 0, 1);
  idt_set_gate(0x80, (u32)pv_trap_syscall, KERNEL_CS, GATE_INT, 3, 1);
  u32 fl = pv_save_fl();
  pv_irq_disable();
  timer_init();
  pv_restore_fl(fl);

  /* The first process: user_init(scale) in ring 3, stack demand-paged below USER_STACK_TOP. */
  struct proc *p = proc_alloc();
  p->pd = pd_create();
  memset(&p->frame, 0, sizeof p->frame);
  p->frame.gs = p->frame.fs = p->frame.es = p->frame.ds = USER_DS;
  p->frame.eax = scale;
  p->frame.eip = (u32)user_init;
  p->frame.cs = USER_CS;
  p->frame.eflags = EFLAGS_IF | 2;
  p->frame.user_esp = USER_STACK_TOP - 16;
  p->frame.user_ss = USER_DS;
  cur = p;
  pv_set_cr3((u32)p->pd);
  *KFRAME = p->frame;
  sched_start(KFRAME);

  /* Back from the last exit, interrupts off, on kernel_pd. */
  pv_irq_disable();
  printf("processes %u (%u at most at once), forks %u, syscalls %u\n", n_exits, max_live, n_forks, n_syscalls);
  printf("faults %u (demand %u, cow copy %u, cow reuse %u)\n", n_faults, n_demand, n_cow_copy, n_cow_reuse);
  printf("mmap pages %u, munmap pages %u\n", n_mmap_pages, n_munmap_pages);
  printf("pt-ops %u (boot %u), allocate/release %u/%u, flushes %u, invlpg %u, lazy sections %u\n", pt_ops,
         boot_ops, n_alloc_calls, n_release_calls, n_flushes, n_invals, n_lazy);
  printf("switches %u, ticks %u\n", n_switches, n_ticks);
  if (n_free != POOL_PAGES - 1 - (KMEM_END >> 22)) fail("pages leaked (free, want)", n_free, POOL_PAGES - 5);
  printf("checksum 0x%08x\n", result_sum ^ result_xor);
  return 0;
}
