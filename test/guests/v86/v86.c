/* v86: virtual-8086 mode (SDM Vol. 3 ch. 20) under a small monitor. A real-mode program runs at
   CPL 3 with real-mode segments, once with IOPL 0 (CLI, STI, PUSHF, POPF, INT n trap to the
   monitor with #GP(0), which emulates them) and once with IOPL 3 (they run; INT n goes through
   the IDT to ring 0 and IRET returns to virtual-8086 mode). Port I/O traps both times (no I/O
   bitmap in the TSS), LAR is #UD, a #DE reaches ring 0 with GS, FS, DS, ES pushed and DS, ES, FS, GS null
   in the handler, and HLT ends the run. Prints what the monitor saw; the test compares the
   lines with what QEMU printed. */
#include "rt.h"

#define EFLAGS_VM 0x20000u
#define EFLAGS_IOPL3 0x3000u

extern u8 v86_code[], v86_code_end[];
void v86_run(u32 eflags);
void v86_leave(void) __attribute__((noreturn));

static char log[512];
static u32 log_len;
static void note(const char *s) {
  while (*s && log_len < sizeof log - 1) log[log_len++] = *s++;
  log[log_len] = 0;
}
static char hexbuf[16];
static const char *hex(u32 v, int digits) {
  for (int i = digits - 1; i >= 0; i--, v >>= 4) hexbuf[i] = "0123456789abcdef"[v & 15];
  hexbuf[digits] = 0;
  return hexbuf;
}

/* The frame of an interrupt from virtual-8086 mode: after SS come ES, DS, FS, GS (Figure 20-2). */
static u32 *v86_segs(struct rt_frame *f) { return &f->user_ss + 1; }
static u8 *v86_ip(struct rt_frame *f) { return (u8 *)((f->cs << 4) + (f->eip & 0xFFFF)); }
static u32 de_segs[4], de_handler_segs[4], de_ip, seen_vm_flags;

static void on_gp(struct rt_frame *f) {
  if (!(f->eflags & EFLAGS_VM)) {
    printf("FAIL #GP outside virtual-8086 mode at %x:%x error %x\n", f->cs, f->eip, f->error);
    debug_exit(2);
  }
  u8 *ip = v86_ip(f);
  u32 len = 1;
  if (f->error != 0) note("error!=0 ");
  switch (ip[0]) {
  case 0xFA: note("cli "); break;
  case 0xFB: note("sti "); break;
  case 0x9C: { /* PUSHF: the monitor pushes FLAGS with IF set and IOPL 0 */
    note("pushf ");
    f->user_esp = (f->user_esp - 2) & 0xFFFF;
    *(u16 *)((f->user_ss << 4) + f->user_esp) = (u16)((f->eflags & 0x0FFF) | EFLAGS_IF);
    break;
  }
  case 0x9D:
    note("popf ");
    f->user_esp = (f->user_esp + 2) & 0xFFFF;
    break;
  case 0xCD:
    note("int");
    note(hex(ip[1], 2));
    note("(ah=");
    note(hex((f->eax >> 8) & 0xFF, 2));
    note(") ");
    f->eax = (f->eax & 0xFFFF0000) | 0x4D21;
    len = 2;
    break;
  case 0xE6:
    note("out");
    note(hex(ip[1], 2));
    note("(");
    note(hex(f->eax & 0xFF, 2));
    note(") ");
    len = 2;
    break;
  case 0xE4:
    note("in");
    note(hex(ip[1], 2));
    note(" ");
    f->eax = (f->eax & 0xFFFFFF00) | 0x5A;
    len = 2;
    break;
  case 0xF4:
    note("hlt");
    v86_leave();
  default:
    note("unknown ");
    v86_leave();
  }
  f->eip = (f->eip + len) & 0xFFFF;
}

static void on_int21(struct rt_frame *f) {
  note("int21-through-idt(ah=");
  note(hex((f->eax >> 8) & 0xFF, 2));
  note(") ");
  seen_vm_flags = f->eflags;
  f->eax = (f->eax & 0xFFFF0000) | 0x4D21;
}

static void on_ud(struct rt_frame *f) {
  note("#UD(");
  note(hex(v86_ip(f)[1], 2));
  note(") ");
  f->eip += 3; /* lar ax, bx */
}

static void on_de(struct rt_frame *f) {
  note("#DE ");
  u32 *s = v86_segs(f);
  for (int i = 0; i < 4; i++) de_segs[i] = s[i];
  de_handler_segs[0] = f->es;
  de_handler_segs[1] = f->ds;
  de_handler_segs[2] = f->fs;
  de_handler_segs[3] = f->gs;
  de_ip = f->eip;
  f->eip += 2; /* div bl */
}

static void run(u32 iopl) {
  memset((void *)0x8000, 0, 0x3000);
  memcpy((void *)0x7000, v86_code, (u32)(v86_code_end - v86_code));
  log_len = 0;
  log[0] = 0;
  v86_run(0x2 | EFLAGS_VM | iopl);
  printf("iopl %u: %s\n", iopl >> 12, log);
  printf("iopl %u: memory %04x %04x %04x %02x flags %04x\n", iopl >> 12, *(u16 *)0x8010,
         *(u16 *)0x9020, *(u16 *)0x8012, *(u8 *)0x8014, *(u16 *)0x8016);
  printf("iopl %u: #DE at %x, pushed es %x ds %x fs %x gs %x, in the handler es %x ds %x fs %x gs %x\n",
         iopl >> 12, de_ip, de_segs[0], de_segs[1], de_segs[2], de_segs[3], de_handler_segs[0],
         de_handler_segs[1], de_handler_segs[2], de_handler_segs[3]);
  CHECK_EQ(*(u16 *)0x8010, 0x1234, "store through DS = 0800h");
  CHECK_EQ(*(u16 *)0x9020, 0x0900, "store through ES = 0900h");
  CHECK_EQ(*(u16 *)0x8012, 0x4D21, "INT 21h result");
  CHECK_EQ(de_segs[1], 0x0800, "DS pushed by #DE");
  CHECK_EQ(de_handler_segs[1], 0, "DS in the handler");
}

int guest_main(u32 magic, u32 info) {
  (void)magic;
  (void)info;
  pic_remap_and_mask(0xFF, 0xFF);
  idt_set_handler(13, on_gp);
  idt_set_handler(0, on_de);
  idt_set_handler(6, on_ud);
  idt_set_handler(0x21, on_int21);
  idt_set_stub(0x21, GATE_INT, 3);
  u32 a, b, c, d;
  cpuid(1, &a, &b, &c, &d);
  printf("cpuid: VME %u\n", d & 2 ? 1 : 0);
  run(0);
  run(EFLAGS_IOPL3);
  printf("int 21h from IOPL 3 pushed EFLAGS with VM %u IOPL %u\n", (seen_vm_flags & EFLAGS_VM) != 0,
         (seen_vm_flags >> 12) & 3);
  return 0;
}
