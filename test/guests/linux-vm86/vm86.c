/*
 * Linux's vm86() system calls on the emulated CPU: runs each real-mode snippet of snippets.asm
 * in virtual-8086 mode through vm86(VM86_ENTER) (and one through vm86old) and prints what the
 * kernel returned, the return code and the registers in the vm86 struct, one line per snippet.
 * The test compares the lines with what the same kernel printed under qemu-system-i386.
 *
 * Needs root (ioperm) and vm.mmap_min_addr = 0 for the IVT snippet (page 0); without page 0
 * that snippet reports the failed mmap and the others still run. Freestanding: raw int $0x80
 * system calls, no C library.
 */

#define SYS_ioperm 101
#define SYS_vm86old 113
#define SYS_vm86 166
#define SYS_mmap2 192

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20

#define VM86_PLUS_INSTALL_CHECK 0
#define VM86_ENTER 1
#define CPU_586 5

/* Where the snippets run: CODE_SEG:0, with the stack at the top of the same 64 KiB. */
#define CODE_SEG 0x1000u
#define CODE_LINEAR (CODE_SEG << 4)
#define CODE_BYTES 0x10000u
#define STACK_TOP 0xfff0u
/* Where the IVT snippet's INT 30h handler is copied (CODE_SEG:HANDLER_IP). */
#define HANDLER_IP 0x200u

#include "../lib/linux.h"

typedef unsigned short u16;

/* <asm/vm86.h> for i386. */
struct vm86_regs {
  long ebx, ecx, edx, esi, edi, ebp, eax;
  long null_ds, null_es, null_fs, null_gs;
  long orig_eax;
  long eip;
  u16 cs, csh;
  long eflags;
  long esp;
  u16 ss, ssh, es, esh, ds, dsh, fs, fsh, gs, gsh;
};
struct revectored { u32 map[8]; };
struct vm86_struct {
  struct vm86_regs regs;
  u32 flags, screen_bitmap, cpu_type;
  struct revectored int_revectored, int21_revectored;
};
struct vm86plus_struct {
  struct vm86_regs regs;
  u32 flags, screen_bitmap, cpu_type;
  struct revectored int_revectored, int21_revectored;
  u32 info; /* force_return_for_pic:1, vm86dbg_active:1, vm86dbg_TFpendig:1, unused:28, is_vm86pus:1 */
  unsigned char vm86dbg_intxxtab[32];
};

static void put_hex(const char *name, u32 v, int digits) {
  char b[32];
  int i = 0;
  b[i++] = ' ';
  while (*name) b[i++] = *name++;
  b[i++] = '=';
  for (int d = digits - 1; d >= 0; d--) b[i++] = "0123456789abcdef"[(v >> (d * 4)) & 15];
  b[i] = 0;
  put(b);
}

static void copy(void *to, const void *from, u32 n) {
  for (u32 i = 0; i < n; i++) ((volatile char *)to)[i] = ((const char *)from)[i];
}

static void zero(void *to, u32 n) {
  for (u32 i = 0; i < n; i++) ((volatile char *)to)[i] = 0;
}

static long map_fixed(u32 at, u32 bytes) {
  return sys6(SYS_mmap2, at, bytes, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

#define SNIPPET(name) extern const char name[], name##_end[];
SNIPPET(regs)
SNIPPET(work)
SNIPPET(flags)
SNIPPET(ivt_code)
SNIPPET(handler)
SNIPPET(ports)
SNIPPET(halt)
SNIPPET(breakpoint)
SNIPPET(divide)

static void revector(struct revectored *r, u32 vector) {
  r->map[vector >> 5] |= 1u << (vector & 31);
}

/* The caller's registers for every snippet: distinct values, so what the kernel saves is visible. */
static void initial(struct vm86_regs *r) {
  r->eax = 0xa0a0a0a0;
  r->ebx = 0xb0b0b0b0;
  r->ecx = 0xc0c0c0c0;
  r->edx = 0xd0d0d0d0;
  r->esi = 0x51515151;
  r->edi = 0xd1d1d1d1;
  r->ebp = 0xb9b9b9b9;
  r->eip = 0;
  r->cs = CODE_SEG;
  r->ss = CODE_SEG;
  r->esp = STACK_TOP;
  r->ds = 0x2222;
  r->es = 0x3333;
  r->fs = 0x4444;
  r->gs = 0x5555;
  r->eflags = 0x200; /* IF */
}

static void report(const char *name, long ret, const struct vm86_regs *r) {
  put("vm86 ");
  put(name);
  put_hex("ret", (u32)ret, 8);
  put_hex("eax", r->eax, 8);
  put_hex("ebx", r->ebx, 8);
  put_hex("ecx", r->ecx, 8);
  put_hex("edx", r->edx, 8);
  put_hex("esi", r->esi, 8);
  put_hex("edi", r->edi, 8);
  put_hex("ebp", r->ebp, 8);
  put_hex("esp", r->esp, 8);
  put_hex("eip", r->eip, 8);
  put_hex("eflags", r->eflags, 8);
  put_hex("cs", r->cs, 4);
  put_hex("ss", r->ss, 4);
  put_hex("ds", r->ds, 4);
  put_hex("es", r->es, 4);
  put_hex("fs", r->fs, 4);
  put_hex("gs", r->gs, 4);
  put("\n");
}

static struct vm86plus_struct plus;
static struct vm86_struct old;

/* Copies a snippet to CODE_SEG:ip. */
static void load(u32 ip, const char *code, const char *end) {
  copy((void *)(CODE_LINEAR + ip), code, (u32)(end - code));
}

/* The snippet at CODE_SEG:0 through vm86(VM86_ENTER), INT 0 and INT 21h revectored. */
static void enter(const char *name) {
  zero(&plus, sizeof plus);
  initial(&plus.regs);
  plus.cpu_type = CPU_586;
  revector(&plus.int_revectored, 0x00);
  revector(&plus.int_revectored, 0x21);
  long ret = sys3(SYS_vm86, VM86_ENTER, (long)&plus, 0);
  report(name, ret, &plus.regs);
}

static void run(const char *name, const char *code, const char *end) {
  zero((void *)CODE_LINEAR, CODE_BYTES);
  load(0, code, end);
  enter(name);
}

int main(void) {
  put("vm86: install check");
  put_hex("ret", (u32)sys3(SYS_vm86, VM86_PLUS_INSTALL_CHECK, 0, 0), 8);
  put("\n");
  long at = map_fixed(CODE_LINEAR, CODE_BYTES);
  if (at != (long)CODE_LINEAR) {
    put("vm86: mmap of the code failed");
    put_hex("ret", (u32)at, 8);
    put("\n");
    return 1;
  }
  run("regs", regs, regs_end);

  /* The same snippet through the old system call and its smaller struct. */
  zero(&old, sizeof old);
  initial(&old.regs);
  old.cpu_type = CPU_586;
  revector(&old.int_revectored, 0x21);
  report("regs-vm86old", sys3(SYS_vm86old, (long)&old, 0, 0), &old.regs);

  run("work", work, work_end);
  put("vm86 work: memory");
  put_hex("ds:800", *(volatile u32 *)(CODE_LINEAR + 0x800), 8);
  put_hex("es:804", *(volatile u32 *)(CODE_LINEAR + 0x804), 8);
  put_hex("fs:8", *(volatile u16 *)(CODE_LINEAR + 0x808), 4);
  put_hex("ds:1ffc", *(volatile u32 *)(CODE_LINEAR + 0x1ffc), 8);
  put("\n");
  run("flags", flags, flags_end);

  long ivt = map_fixed(0, 0x1000);
  if (ivt == 0) {
    zero((void *)CODE_LINEAR, CODE_BYTES);
    load(0, ivt_code, ivt_code_end);
    load(HANDLER_IP, handler, handler_end);
    /* The IVT: vector 30h at CODE_SEG:HANDLER_IP, the rest null. */
    u32 zero_page = 0;
    __asm__("" : "+r"(zero_page)); /* an address gcc cannot see is null, so its stores stay */
    volatile u16 *table = (volatile u16 *)zero_page;
    for (u32 i = 0; i < 0x200; i++) table[i] = 0;
    table[0x30 * 2] = HANDLER_IP;
    table[0x30 * 2 + 1] = CODE_SEG;
    enter("ivt");
  } else {
    put("vm86 ivt: mmap of page 0 failed");
    put_hex("ret", (u32)ivt, 8);
    put("\n");
  }

  long io = sys3(SYS_ioperm, 0x80, 1, 1);
  put("vm86: ioperm(0x80)");
  put_hex("ret", (u32)io, 8);
  put("\n");
  run("ports", ports, ports_end);
  run("halt", halt, halt_end);
  run("divide", divide, divide_end);
  /* Last: 2.6.32 returns from this trap without dropping the preempt count it took, and
   * complains each time the process schedules after it. */
  run("breakpoint", breakpoint, breakpoint_end);
  put("vm86: done\n");
  return 0;
}

__asm__(".globl _start\n_start:\n\txor %ebp, %ebp\n\tcall main\n\tmov %eax, %ebx\n\tmov $1, %eax\n\tint $0x80\n");
