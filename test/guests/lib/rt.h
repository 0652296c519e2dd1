/* The guests' shared runtime: port I/O, control registers, serial console, printf, debug exit,
   IDT and ring-3 helpers, paging helpers and a one-shot fault probe. Freestanding i386. */
#ifndef RT_H
#define RT_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed int i32;
typedef unsigned int size_t;

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS 0x1B
#define USER_DS 0x23
#define TSS_SEL 0x28

#define EFLAGS_CF 0x001
#define EFLAGS_TF 0x100
#define EFLAGS_IF 0x200
#define EFLAGS_OF 0x800

#define CR0_PE (1u << 0)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PGE (1u << 7)

/* ---- port I/O and privileged registers ---- */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }

#define DEFINE_CR(n)                                                                              \
  static inline u32 read_cr##n(void) { u32 v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
  static inline void write_cr##n(u32 v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
static inline u32 read_dr6(void) { u32 v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }
static inline void write_dr6(u32 v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }

static inline u32 read_eflags(void) { u32 v; __asm__ volatile("pushfl; popl %0" : "=r"(v)); return v; }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
/* STI's one-instruction interrupt shadow makes "sti; hlt" race-free (SDM Vol. 2, STI). */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void invlpg(const volatile void *p) { __asm__ volatile("invlpg (%0)" ::"r"(p) : "memory"); }
static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d) {
  __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

/* ---- strings (memcpy/memset use rep movs/stos, so gcc's implicit calls exercise them) ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* ---- console and exit ---- */
void serial_init(void);
void serial_putc(char c);
void puts(const char *s);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* debug-exit: the emulator (and QEMU's isa-debug-exit) exits with (code << 1) | 1. */
void debug_exit(u32 code) __attribute__((noreturn));

/* Every guest provides this; the runtime calls it once the GDT, TSS, IDT and console are up,
   and exits with its return value (0 = pass). */
int guest_main(u32 mb_magic, u32 mb_info);

/* A test check: prints the failure with its line and counts it. */
extern int rt_failures;
#define CHECK(cond, ...)                                                                          \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      rt_failures++;                                                                              \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                      \
      printf(__VA_ARGS__);                                                                        \
      printf("\n");                                                                               \
    }                                                                                             \
  } while (0)
#define CHECK_EQ(got, want, what)                                                                 \
  do {                                                                                            \
    u32 g_ = (u32)(got), w_ = (u32)(want);                                                        \
    if (g_ != w_) {                                                                               \
      rt_failures++;                                                                              \
      printf("FAIL %s:%d: %s: got 0x%x, want 0x%x\n", __FILE__, __LINE__, what, g_, w_);           \
    }                                                                                             \
  } while (0)

/* ---- interrupts ---- */
struct rt_frame {
  u32 gs, fs, es, ds;
  u32 edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
  u32 vector, error;
  u32 eip, cs, eflags;
  u32 user_esp, user_ss; /* only when the interrupt came from ring 3 */
};
typedef void (*rt_handler)(struct rt_frame *f);
#define GATE_INT 0xE
#define GATE_TRAP 0xF
extern u32 rt_isr_stubs[];
void idt_set_gate(u32 vector, u32 offset, u16 selector, u32 type, u32 dpl, int present);
/* Point `vector` at the runtime's stub (and so at rt_isr_dispatch) with the given gate. */
void idt_set_stub(u32 vector, u32 type, u32 dpl);
void idt_set_handler(u32 vector, rt_handler h);
void idt_load(u32 limit);
extern u8 rt_idt[];
void pic_remap_and_mask(u8 master_mask, u8 slave_mask);
extern u32 rt_tss[26];
extern u32 rt_gdt[];
void gdt_set(u32 index, u32 base, u32 limit, u8 access, u8 flags);

/* ---- ring 3 ---- */
/* Runs fn(arg) in ring 3 (CS 0x1B, SS 0x23) and returns its result. IF is left as it was. */
u32 rt_call_user(u32 (*fn)(u32), u32 arg);

/* ---- one-shot fault probe ----
   TRY("insn", : outputs : inputs : clobbers) runs the asm with a fault recovery armed: if any
   exception arrives, the handler records it in rt_fault and resumes after the asm (label 1).
   rt_try_insn is the address of the probed instruction (label 0). Returns the vector or -1. */
struct rt_fault_record {
  u32 count, vector, error, eip, cs, eflags, cr2, handler_eflags;
};
extern volatile struct rt_fault_record rt_fault;
extern volatile u32 rt_try_armed, rt_try_insn, rt_try_resume;
void rt_try_reset(void);
#define TRY(insn, ...)                                                                            \
  ({                                                                                              \
    rt_try_reset();                                                                               \
    __asm__ volatile("movl $0f, rt_try_insn\n\t"                                                  \
                     "movl $1f, rt_try_resume\n\t"                                                \
                     "movl $1, rt_try_armed\n"                                                    \
                     "0:\t" insn "\n"                                                             \
                     "1:\n\t"                                                                     \
                     "movl $0, rt_try_armed" __VA_ARGS__);                                        \
    rt_fault.count ? (int)rt_fault.vector : -1;                                                   \
  })

/* ---- paging (2-level, 32-bit) ---- */
#define PTE_P (1u << 0)
#define PTE_W (1u << 1)
#define PTE_U (1u << 2)
#define PTE_PWT (1u << 3)
#define PTE_PCD (1u << 4)
#define PTE_A (1u << 5)
#define PTE_D (1u << 6)
#define PDE_PS (1u << 7)
#define PTE_G (1u << 8)
#define PAGE_SIZE 4096u
#define LARGE_PAGE_SIZE 0x400000u
/* A page directory with 0-8 MiB identity-mapped by 4 KiB pages (P|W|U), paging not yet on. */
u32 *pg_identity_directory(void);
/* A zeroed 4 KiB page from a static pool (page tables, test pages). */
void *pg_alloc(void);
/* The PTE for va, creating its page table (P|W|U in the PDE) when absent. */
u32 *pg_pte(u32 *pd, u32 va);
void pg_map(u32 *pd, u32 va, u32 pa, u32 flags);
void pg_enable(u32 *pd, u32 cr4_bits);
void pg_disable(void);

#endif
