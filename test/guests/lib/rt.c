/* The guests' shared runtime (see rt.h). */
#include "rt.h"
#include <stdarg.h>

int rt_failures;

/* ---------------------------------------------------------------- strings */
void *memcpy(void *dst, const void *src, size_t n) {
  void *d = dst;
  u32 words = n >> 2, bytes = n & 3;
  __asm__ volatile("rep movsl\n\tmovl %3, %%ecx\n\trep movsb"
                   : "+D"(d), "+S"(src), "+c"(words)
                   : "r"(bytes)
                   : "memory");
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  if ((u32)dst <= (u32)src || (u32)dst >= (u32)src + n) return memcpy(dst, src, n);
  /* Overlapping with dst above src: copy backwards with DF set. */
  const u8 *s = (const u8 *)src + n - 1;
  u8 *d = (u8 *)dst + n - 1;
  __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  void *d = dst;
  __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const u8 *p = a, *q = b;
  for (size_t i = 0; i < n; i++)
    if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int strcmp(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return (u8)*a - (u8)*b;
}

/* ---------------------------------------------------------------- serial console (COM1, polled) */
#define COM1 0x3F8

void serial_init(void) {
  outb(COM1 + 1, 0x00); /* IER: no interrupts */
  outb(COM1 + 3, 0x80); /* LCR: DLAB */
  outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
  outb(COM1 + 1, 0x00);
  outb(COM1 + 3, 0x03); /* 8N1 */
  outb(COM1 + 2, 0x07); /* FIFO on, both cleared */
  outb(COM1 + 4, 0x03); /* DTR | RTS */
}

void serial_putc(char c) {
  /* LSR bit 5 (THRE): the transmit holding register can take a byte. Bounded so a broken UART
     model cannot hang the guest silently forever. */
  for (u32 spins = 0; !(inb(COM1 + 5) & 0x20) && spins < 10000000; spins++) {
  }
  outb(COM1, (u8)c);
}

void puts(const char *s) {
  while (*s) serial_putc(*s++);
}

/* ---------------------------------------------------------------- printf-lite */
/* %d %i %u %x %X %p %s %c %%, with optional '-', '0', width and 'l'/'ll' (ll: %llx/%llu only). */
static void put_padded(const char *s, int len, int width, int left, char pad) {
  if (!left)
    for (int i = len; i < width; i++) serial_putc(pad);
  for (int i = 0; i < len; i++) serial_putc(s[i]);
  if (left)
    for (int i = len; i < width; i++) serial_putc(' ');
}

static int fmt_u64(char *buf, u64 v, u32 base, int upper) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char tmp[24];
  int n = 0;
  do {
    u32 d;
    if (base == 16) {
      d = (u32)v & 15;
      v >>= 4;
    } else {
      /* Long division by 10 in 32-bit halves: no libgcc __udivdi3 in a freestanding guest. */
      u32 hi = (u32)(v >> 32), lo = (u32)v;
      u32 qhi = hi / 10, r = hi % 10;
      u64 rest = ((u64)r << 32) | lo;
      u32 qlo = 0;
      /* rest < 10 * 2^32, so its quotient fits in 32 bits; divl computes it directly. */
      __asm__("divl %4" : "=a"(qlo), "=d"(d) : "a"((u32)rest), "d"((u32)(rest >> 32)), "rm"(10u));
      v = ((u64)qhi << 32) | qlo;
    }
    tmp[n++] = digits[d];
  } while (v);
  for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

int printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      serial_putc(*p);
      continue;
    }
    p++;
    int left = 0, width = 0, longs = 0;
    char pad = ' ';
    if (*p == '-') left = 1, p++;
    if (*p == '0') pad = '0', p++;
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    while (*p == 'l') longs++, p++;
    char buf[24];
    int n;
    switch (*p) {
      case 'd':
      case 'i': {
        i32 v = va_arg(ap, i32);
        u32 mag = v < 0 ? -(u32)v : (u32)v;
        n = 0;
        if (v < 0) buf[n++] = '-';
        n += fmt_u64(buf + n, mag, 10, 0);
        put_padded(buf, n, width, left, pad);
        break;
      }
      case 'u':
      case 'x':
      case 'X': {
        u64 v = longs >= 2 ? va_arg(ap, u64) : va_arg(ap, u32);
        n = fmt_u64(buf, v, *p == 'u' ? 10 : 16, *p == 'X');
        put_padded(buf, n, width, left, pad);
        break;
      }
      case 'p':
        serial_putc('0');
        serial_putc('x');
        n = fmt_u64(buf, va_arg(ap, u32), 16, 0);
        put_padded(buf, n, 8, 0, '0');
        break;
      case 's': {
        const char *s = va_arg(ap, const char *);
        if (!s) s = "(null)";
        put_padded(s, strlen(s), width, left, ' ');
        break;
      }
      case 'c':
        buf[0] = (char)va_arg(ap, int);
        put_padded(buf, 1, width, left, ' ');
        break;
      case '%':
        serial_putc('%');
        break;
      case 0:
        p--;
        break;
      default:
        serial_putc('%');
        serial_putc(*p);
    }
  }
  va_end(ap);
  return 0;
}

/* ---------------------------------------------------------------- exit */
void debug_exit(u32 code) {
  cli();
  outb(0xF4, (u8)code);
  /* Not under an emulator with a debug-exit device: stop here. */
  for (;;) __asm__ volatile("cli; hlt");
}

/* ---------------------------------------------------------------- GDT, TSS, IDT */
u32 rt_tss[26] __attribute__((aligned(128)));
u8 rt_idt[256 * 8] __attribute__((aligned(8)));
static u8 interrupt_stack[16384] __attribute__((aligned(4096)));
static u8 user_stack[16384] __attribute__((aligned(4096)));
u32 rt_user_stack_top = 0;
static rt_handler handlers[256];

void gdt_set(u32 index, u32 base, u32 limit, u8 access, u8 flags) {
  rt_gdt[index * 2] = (limit & 0xFFFF) | (base << 16);
  rt_gdt[index * 2 + 1] = ((base >> 16) & 0xFF) | ((u32)access << 8) | (limit & 0xF0000) |
                          ((u32)(flags & 0xF) << 20) | (base & 0xFF000000);
}

void idt_set_gate(u32 vector, u32 offset, u16 selector, u32 type, u32 dpl, int present) {
  u32 *g = (u32 *)(rt_idt + vector * 8);
  g[0] = (offset & 0xFFFF) | ((u32)selector << 16);
  g[1] = (offset & 0xFFFF0000) | (present ? 0x8000 : 0) | ((dpl & 3) << 13) | (type << 8);
}

void idt_set_stub(u32 vector, u32 type, u32 dpl) {
  idt_set_gate(vector, (u32)rt_isr_stubs + vector * 16, KERNEL_CS, type, dpl, 1);
}

void idt_set_handler(u32 vector, rt_handler h) { handlers[vector] = h; }

void idt_load(u32 limit) {
  struct __attribute__((packed)) {
    u16 limit;
    u32 base;
  } d = {(u16)limit, (u32)rt_idt};
  __asm__ volatile("lidt %0" ::"m"(d));
}

void pic_remap_and_mask(u8 master_mask, u8 slave_mask) {
  outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 follows */
  outb(0xA0, 0x11);
  outb(0x21, 0x20); /* ICW2: master vectors 0x20-0x27 */
  outb(0xA1, 0x28); /* slave 0x28-0x2F */
  outb(0x21, 0x04); /* ICW3: slave on IRQ2 */
  outb(0xA1, 0x02);
  outb(0x21, 0x01); /* ICW4: 8086 mode, normal EOI */
  outb(0xA1, 0x01);
  outb(0x21, master_mask);
  outb(0xA1, slave_mask);
}

/* ---------------------------------------------------------------- dispatch */
volatile struct rt_fault_record rt_fault;
volatile u32 rt_try_armed, rt_try_insn, rt_try_resume;

void rt_try_reset(void) {
  rt_fault.count = 0;
  rt_fault.vector = rt_fault.error = rt_fault.eip = rt_fault.cs = 0;
  rt_fault.eflags = rt_fault.cr2 = rt_fault.handler_eflags = 0;
  rt_try_armed = 0;
}

void rt_user_return(u32 value) __attribute__((noreturn));

static const char *const vector_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
    "#NP", "#SS", "#GP", "#PF", "?15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

void rt_isr_dispatch(struct rt_frame *f) {
  if (f->vector == 0x81) rt_user_return(f->eax);
  if (rt_try_armed) {
    rt_fault.count++;
    rt_fault.vector = f->vector;
    rt_fault.error = f->error;
    rt_fault.eip = f->eip;
    rt_fault.cs = f->cs;
    rt_fault.eflags = f->eflags;
    rt_fault.cr2 = read_cr2();
    rt_fault.handler_eflags = read_eflags();
    if (handlers[f->vector]) handlers[f->vector](f);
    rt_try_armed = 0;
    f->eip = rt_try_resume;
    return;
  }
  if (handlers[f->vector]) {
    handlers[f->vector](f);
    return;
  }
  const char *name = f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "int";
  printf("FAIL unexpected %s (vector %u) error 0x%x at %x:%08x eflags %08x cr2 %08x\n", name,
         f->vector, f->error, f->cs, f->eip, f->eflags, read_cr2());
  printf("  eax=%08x ebx=%08x ecx=%08x edx=%08x esi=%08x edi=%08x ebp=%08x\n", f->eax, f->ebx,
         f->ecx, f->edx, f->esi, f->edi, f->ebp);
  debug_exit(0x70 + (f->vector & 0xF));
}

/* ---------------------------------------------------------------- paging */
static u8 page_pool[64 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u32 page_pool_used;

void *pg_alloc(void) {
  if (page_pool_used == 64) {
    puts("FAIL page pool exhausted\n");
    debug_exit(0x6F);
  }
  void *p = page_pool + page_pool_used++ * PAGE_SIZE;
  memset(p, 0, PAGE_SIZE);
  return p;
}

u32 *pg_pte(u32 *pd, u32 va) {
  u32 *pde = &pd[va >> 22];
  if (!(*pde & PTE_P) || (*pde & PDE_PS)) *pde = (u32)pg_alloc() | PTE_P | PTE_W | PTE_U;
  u32 *pt = (u32 *)(*pde & ~0xFFFu);
  return &pt[(va >> 12) & 1023];
}

void pg_map(u32 *pd, u32 va, u32 pa, u32 flags) { *pg_pte(pd, va) = (pa & ~0xFFFu) | flags; }

u32 *pg_identity_directory(void) {
  u32 *pd = pg_alloc();
  for (u32 va = 0; va < 0x800000; va += PAGE_SIZE) pg_map(pd, va, va, PTE_P | PTE_W | PTE_U);
  return pd;
}

void pg_enable(u32 *pd, u32 cr4_bits) {
  write_cr4(read_cr4() | cr4_bits);
  write_cr3((u32)pd);
  write_cr0(read_cr0() | CR0_PG);
}

void pg_disable(void) { write_cr0(read_cr0() & ~CR0_PG); }

/* ---------------------------------------------------------------- entry */
void rt_main(u32 mb_magic, u32 mb_info) __attribute__((noreturn));
void rt_main(u32 mb_magic, u32 mb_info) {
  serial_init();
  /* TSS: only SS0:ESP0 matter (ring-3 -> ring-0 stack switch); no I/O bitmap. */
  rt_tss[1] = (u32)interrupt_stack + sizeof interrupt_stack; /* ESP0 */
  rt_tss[2] = KERNEL_DS;                                      /* SS0 */
  rt_tss[25] = (u32)sizeof rt_tss << 16;                      /* I/O map base beyond the limit */
  gdt_set(5, (u32)rt_tss, sizeof rt_tss - 1, 0x89, 0x0);
  __asm__ volatile("ltr %w0" ::"r"(TSS_SEL));
  /* A null LDTR: every later TI=1 reference must #GP (SDM Vol. 2, LLDT), whatever the loader left. */
  __asm__ volatile("lldt %w0" ::"r"(0));
  rt_user_stack_top = (u32)user_stack + sizeof user_stack;
  for (u32 v = 0; v < 256; v++) idt_set_stub(v, GATE_INT, 0);
  idt_set_stub(0x81, GATE_INT, 3); /* ring 3 returns through int 0x81 */
  idt_load(sizeof rt_idt - 1);
  if (mb_magic != 0x2BADB002) printf("warning: multiboot magic is 0x%x\n", mb_magic);
  int rc = guest_main(mb_magic, mb_info);
  if (rc == 0 && rt_failures) rc = 1;
  if (rc == 0)
    puts("PASS\n");
  else
    printf("FAILED (%d failures, exit code %d)\n", rt_failures, rc);
  debug_exit((u32)rc);
}
