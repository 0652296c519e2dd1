/* tasks: hardware task switching (SDM Vol. 3 ch. 7). CALL to a task and IRET back, nested two
   levels (back links, busy bits, NT); JMP to a task and back (no back link, the old task's busy
   bit cleared); #GP on CALL to a busy task; #TS for a TSS below the minimum limit (32- and
   16-bit) and for IRET to a task that is not busy; #TS(selector) for a bad segment in the new
   TSS, delivered in the new task's context; a double fault (#GP while delivering #NP) through a
   task gate to a task with its own stack, which reads the faulting state from the old TSS.
   Every switch sets CR0.TS (§7.3 step 11); with paging on, CR3 comes from the new TSS. A switch
   to a TSS with the T flag set raises #DB (DR6.BT) before the new task's first instruction,
   and every switch clears DR7's local enables (§17.2.4, §17.3.1.5). Prints one line per case;
   the test compares them with what QEMU printed. */
#include "rt.h"

#define MAIN_TSS 0x28
#define TSS_A 0x30
#define TSS_B 0x38
#define TSS_DF 0x40
#define TSS_SHORT 0x48    /* 32-bit TSS, limit 0x66 */
#define GATE_A 0x50       /* task gate (in the GDT) to TSS_A */
#define TSS16_SHORT 0x58  /* 16-bit TSS, limit 0x2a */
#define TSS_C 0x60        /* its DS is execute-only code */
#define XO_CODE 0x68      /* execute-only code segment */
#define NP_DATA 0x70      /* not-present data segment */
#define GDT_ENTRIES 15

#define EFLAGS_NT 0x4000
#define CR0_TS 8

static u32 gdt[GDT_ENTRIES * 2] __attribute__((aligned(8)));
static u32 tss_a[26], tss_b[26], tss_df[26], tss_c[26], tss_short[26], tss16[26];
static u8 stack_a[4096], stack_b[4096], stack_df[4096], stack_c[4096];

static void set_desc(u32 sel, u32 base, u32 limit, u32 type_byte, u32 flags) {
  u32 i = sel >> 3;
  gdt[i * 2] = (limit & 0xFFFF) | (base << 16);
  gdt[i * 2 + 1] = ((base >> 16) & 0xFF) | (type_byte << 8) | (limit & 0xF0000) | (flags << 20) |
                   (base & 0xFF000000);
}
static u32 busy(u32 sel) { return (gdt[(sel >> 3) * 2 + 1] >> 9) & 1; }
static u16 str(void) { u16 v; __asm__ volatile("str %0" : "=r"(v)); return v; }
static void clts(void) { __asm__ volatile("clts"); }

static void tss_init(u32 *t, void (*entry)(void), u8 *stack, u32 stack_size) {
  memset(t, 0, 104);
  t[7] = read_cr3();
  t[8] = (u32)entry;                /* EIP */
  t[9] = 0x2;                       /* EFLAGS: IF clear */
  t[14] = (u32)stack + stack_size;  /* ESP */
  t[18] = KERNEL_DS;                /* ES */
  t[19] = KERNEL_CS;
  t[20] = KERNEL_DS;                /* SS */
  t[21] = KERNEL_DS;                /* DS */
  t[22] = KERNEL_DS;
  t[23] = KERNEL_DS;
  t[25] = 104u << 16;               /* I/O map base beyond the limit */
}

/* ---- the tasks: each entry calls its body, then returns to its caller with IRET (NT set) ---- */
void task_a_body(void);
void task_b_body(void);
void task_df_body(u32 error);
void task_a_entry(void);
void task_b_entry(void);
void task_df_entry(void);
void task_jmp_entry(void);
void task_c_entry(void);
void ts_handler(void);
void task_cr3_entry(void);
void task_t_entry(void);
void db_handler(void);
void np_resume(void);
__asm__(".text\n"
        "task_a_entry: call task_a_body\n\t iret\n\t jmp task_a_entry\n"
        "task_b_entry: call task_b_body\n\t iret\n\t jmp task_b_entry\n"
        /* the error code of #DF is on the new task's stack */
        "task_df_entry: movl %esp, df_esp\n\t call task_df_body\n\t add $4, %esp\n\t iret\n"
        "task_jmp_entry: pushfl\n\t popl jmp_flags\n\t movl %cr0, %eax\n\t movl %eax, jmp_cr0\n\t"
        " movl $0x1234, %ebx\n\t ljmp $0x28, $0\n"
        "task_c_entry: hlt\n"
        "task_cr3_entry: movl 0x700000, %eax\n\t movl %eax, cr3_seen\n\t movl %cr3, %eax\n\t"
        " movl %eax, cr3_task\n\t iret\n"
        "task_t_entry: movl %dr7, %eax\n\t movl %eax, t_dr7\n\t incl t_ran\n\t iret\n"
        /* #DB: the pushed EIP, TR and DR6, then back (the gate cleared NT, the IRET restores it) */
        "db_handler: pushl %eax\n\t movl 4(%esp), %eax\n\t movl %eax, db_eip\n\t"
        " movl %dr6, %eax\n\t movl %eax, db_dr6\n\t str db_tr\n\t incl db_count\n\t"
        " popl %eax\n\t iret\n"
        /* #TS in task C's context: the segment registers loaded after the faulting one are not
           usable (SDM Vol. 3 §7.3), so reload DS first; record the frame and TR, then jump back
           to the main task */
        "ts_handler: movw $0x10, %ax\n\t movw %ax, %ds\n\t popl ts_error\n\t popl ts_eip\n\t str ts_tr\n\t ljmp $0x28, $0\n");

volatile u32 a_flags, a_link, a_tr, a_busy, b_flags, b_link, b_tr, b_busy, a_after_eax;
volatile u32 jmp_flags, jmp_cr0, ts_error, ts_eip;
volatile u16 ts_tr;
volatile u32 cr3_seen, cr3_task;
volatile u32 t_dr7, t_ran, db_eip, db_dr6, db_count;
volatile u16 db_tr;
volatile u32 df_error, df_link, df_tr, df_flags, df_old_eip, df_old_esp, df_esp;

void task_a_body(void) {
  a_flags = read_eflags();
  a_link = tss_a[0] & 0xFFFF;
  a_tr = str();
  a_busy = busy(MAIN_TSS) | busy(TSS_A) << 1 | busy(TSS_B) << 2;
  u32 eax = 0xA;
  __asm__ volatile("lcall $0x38, $0" : "+a"(eax)::"memory");
  a_after_eax = eax; /* task A's own EAX, restored from its TSS */
}
void task_b_body(void) {
  b_flags = read_eflags();
  b_link = tss_b[0] & 0xFFFF;
  b_tr = str();
  b_busy = busy(MAIN_TSS) | busy(TSS_A) << 1 | busy(TSS_B) << 2;
  __asm__ volatile("movl $0xB, %%eax" ::: "eax");
}
void task_df_body(u32 error) {
  df_error = error;
  df_link = tss_df[0] & 0xFFFF;
  df_tr = str();
  df_flags = read_eflags();
  df_old_eip = rt_tss[8];
  df_old_esp = rt_tss[14];
  rt_tss[8] = (u32)np_resume; /* the old task resumes past the faulting load */
}

static void case_call_nested(void) {
  tss_init(tss_a, task_a_entry, stack_a, sizeof stack_a);
  tss_init(tss_b, task_b_entry, stack_b, sizeof stack_b);
  tss_a[0] = 0xFFFF;
  tss_b[0] = 0xFFFF;
  clts();
  u32 ebx = 0x5EB, esi = 0x5E1;
  __asm__ volatile("lcall $0x30, $0" : "+b"(ebx), "+S"(esi)::"memory", "eax", "ecx", "edx", "edi");
  u32 main_busy = busy(MAIN_TSS) | busy(TSS_A) << 1 | busy(TSS_B) << 2;
  printf("call: A link %04x tr %04x NT %u busy %x; B link %04x tr %04x NT %u busy %x\n", a_link,
         a_tr, (a_flags & EFLAGS_NT) != 0, a_busy, b_link, b_tr, (b_flags & EFLAGS_NT) != 0, b_busy);
  printf("call: back in main: tr %04x busy %x NT %u TS %u ebx %x esi %x; A saw eax %x after B\n",
         str(), main_busy, (read_eflags() & EFLAGS_NT) != 0, (read_cr0() & CR0_TS) != 0, ebx, esi,
         a_after_eax);
  CHECK_EQ(a_link, MAIN_TSS, "A's back link");
  CHECK_EQ(b_link, TSS_A, "B's back link");
  CHECK_EQ(a_busy, 3, "busy bits in A");
  CHECK_EQ(b_busy, 7, "busy bits in B");
  CHECK_EQ(main_busy, 1, "busy bits after both IRETs");
  CHECK(a_flags & b_flags & EFLAGS_NT, "NT in the nested tasks");
  CHECK_EQ(ebx, 0x5EB, "main's EBX");
  CHECK_EQ(a_after_eax, 0xA, "A's EAX");
  /* B's TSS holds its state as saved by the IRET: EAX 0xB, NT clear, EIP past the IRET */
  printf("call: B saved eax %x eflags %x eip=entry+%u\n", tss_b[10], tss_b[9],
         tss_b[8] - (u32)task_b_entry);
  CHECK_EQ(tss_b[10], 0xB, "B's saved EAX");
  CHECK_EQ(tss_b[9] & EFLAGS_NT, 0, "B's saved NT");
}

static void case_call_gate(void) {
  tss_init(tss_a, task_a_entry, stack_a, sizeof stack_a);
  tss_init(tss_b, task_b_entry, stack_b, sizeof stack_b);
  clts();
  __asm__ volatile("lcall $0x50, $0" ::: "memory", "eax", "ecx", "edx", "ebx", "esi", "edi");
  printf("gate: A link %04x tr %04x busy %x\n", a_link, a_tr, a_busy);
  CHECK_EQ(a_link, MAIN_TSS, "A's back link through the task gate");
}

static void case_jmp(void) {
  tss_init(tss_a, task_jmp_entry, stack_a, sizeof stack_a);
  tss_a[0] = 0x4321;
  clts();
  u32 ebx = 0x77;
  __asm__ volatile("ljmp $0x30, $0" : "+b"(ebx)::"memory", "eax", "ecx", "edx", "esi", "edi");
  printf("jmp: link %04x NT %u TS %u, back: tr %04x busy %x ebx %x; A saved ebx %x eip=entry+%u\n",
         tss_a[0] & 0xFFFF, (jmp_flags & EFLAGS_NT) != 0, (jmp_cr0 & CR0_TS) != 0, str(),
         busy(MAIN_TSS) | busy(TSS_A) << 1, ebx, tss_a[13], tss_a[8] - (u32)task_jmp_entry);
  CHECK_EQ(tss_a[0] & 0xFFFF, 0x4321, "JMP writes no back link");
  CHECK_EQ(jmp_flags & EFLAGS_NT, 0, "NT after JMP");
  CHECK_EQ(busy(TSS_A), 0, "A's busy bit after the JMP back");
  CHECK_EQ(ebx, 0x77, "main's EBX after the JMP back");
}

static void case_faults(void) {
  int v;
  tss_init(tss_a, task_a_entry, stack_a, sizeof stack_a);
  v = TRY("lcall $0x28, $0");
  printf("busy: call to the running task: vector %d error %x\n", v, rt_fault.error);
  CHECK(v == 13 && rt_fault.error == MAIN_TSS, "CALL to a busy TSS");
  gdt[(TSS_A >> 3) * 2 + 1] |= 0x200;
  v = TRY("lcall $0x30, $0");
  printf("busy: call to busy A: vector %d error %x\n", v, rt_fault.error);
  CHECK(v == 13 && rt_fault.error == TSS_A, "CALL to a busy TSS");
  v = TRY("lcall $0x50, $0");
  printf("busy: call through a gate to busy A: vector %d error %x\n", v, rt_fault.error);
  CHECK(v == 13 && rt_fault.error == TSS_A, "CALL through a task gate to a busy TSS");
  v = TRY("ljmp $0x30, $0");
  printf("busy: jmp to busy A: vector %d error %x\n", v, rt_fault.error);
  CHECK(v == 13 && rt_fault.error == TSS_A, "JMP to a busy TSS");
  gdt[(TSS_A >> 3) * 2 + 1] &= ~0x200u;
  v = TRY("lcall $0x48, $0");
  printf("limit: 32-bit TSS limit 0x66: vector %d error %x\n", v, rt_fault.error);
  CHECK(v == 10 && rt_fault.error == TSS_SHORT, "32-bit TSS below 0x67");
  v = TRY("lcall $0x58, $0");
  printf("limit: 16-bit TSS limit 0x2a: vector %d error %x\n", v, rt_fault.error);
  CHECK(v == 10 && rt_fault.error == TSS16_SHORT, "16-bit TSS below 0x2b");
  /* IRET with NT set to a back link whose TSS is not busy: #TS(back link) */
  rt_tss[0] = TSS_A;
  v = TRY("pushfl\n\t orl $0x4000, (%%esp)\n\t popfl\n\t iret", ::: "memory");
  __asm__ volatile("pushfl\n\t andl $~0x4000, (%%esp)\n\t popfl" ::: "memory", "cc");
  rt_tss[0] = 0;
  printf("iret: NT to an available TSS: vector %d error %x\n", v, rt_fault.error);
  CHECK(v == 10 && rt_fault.error == TSS_A, "IRET to a task that is not busy");
  printf("busy after the faults: %x\n", busy(MAIN_TSS) | busy(TSS_A) << 1);
  CHECK_EQ(busy(MAIN_TSS) | busy(TSS_A) << 1, 1, "busy bits after the faults");
}

static void case_bad_segment(void) {
  tss_init(tss_c, task_c_entry, stack_c, sizeof stack_c);
  tss_c[21] = XO_CODE; /* DS */
  idt_set_gate(10, (u32)ts_handler, KERNEL_CS, GATE_INT, 0, 1);
  clts();
  __asm__ volatile("ljmp $0x60, $0" ::: "memory", "eax", "ecx", "edx", "ebx", "esi", "edi");
  idt_set_stub(10, GATE_INT, 0);
  printf("bad DS: #TS error %x eip=entry+%d tr %04x; C saved ds %x eip=entry+%d; busy %x\n",
         ts_error, (int)(ts_eip - (u32)task_c_entry), ts_tr, tss_c[21],
         (int)(tss_c[8] - (u32)task_c_entry), busy(MAIN_TSS) | busy(TSS_C) << 1);
  CHECK_EQ(ts_error, XO_CODE, "#TS error code");
  /* SDM Vol. 3 §7.3: a fault after the commit point is in the new task's context, so it
     restarts at the new task's first instruction; QEMU 7.2 pushes an EIP of the old task. */
  if (ts_eip != (u32)task_c_entry)
    printf("DEVIATION from the SDM above: #TS pushed EIP %x, not the new task's %x\n", ts_eip,
           (u32)task_c_entry);
  CHECK_EQ(ts_tr, TSS_C, "TR in the #TS handler");
}

static void case_double_fault(void) {
  tss_init(tss_df, task_df_entry, stack_df, sizeof stack_df);
  /* #NP's gate names a selector beyond the GDT limit: #GP while delivering #NP is a #DF */
  idt_set_gate(11, 0, 0x1F8, GATE_INT, 0, 1);
  u32 *g = (u32 *)(rt_idt + 8 * 8);
  g[0] = (u32)TSS_DF << 16;
  g[1] = 0x8500; /* present task gate, DPL 0 */
  clts();
  u32 esp_before;
  __asm__ volatile("movl %%esp, %0\n\t"
                   "movw %1, %%ax\n\t"
                   "np_insn: movw %%ax, %%ds\n\t"
                   "np_resume:"
                   : "=&r"(esp_before)
                   : "i"(NP_DATA)
                   : "memory", "eax", "ecx", "edx", "ebx", "esi", "edi");
  extern char np_insn[];
  idt_set_stub(8, GATE_INT, 0);
  idt_set_stub(11, GATE_INT, 0);
  printf("#DF: error %x link %04x tr %04x NT %u; old eip=insn+%d esp=%s; stack %s; busy %x\n",
         df_error, df_link, df_tr, (df_flags & EFLAGS_NT) != 0, (int)(df_old_eip - (u32)np_insn),
         df_old_esp == esp_before ? "same" : "differs",
         df_esp == (u32)stack_df + sizeof stack_df - 4 ? "own" : "other",
         busy(MAIN_TSS) | busy(TSS_DF) << 1);
  CHECK_EQ(df_error, 0, "#DF error code");
  CHECK_EQ(df_link, MAIN_TSS, "#DF task's back link");
  CHECK_EQ(df_tr, TSS_DF, "TR in the #DF task");
  CHECK_EQ(df_old_eip, (u32)np_insn, "the faulting EIP saved in the old TSS");
}

/* With paging on, a switch loads CR3 from a 32-bit TSS and flushes the TLB (§7.3 step 12, §7.5):
   the new task sees its own mapping of one page, the old one its own again after the IRET. The
   old task's CR3 is not saved on the way out, so the main task's TSS must hold it. */
static void case_cr3(void) {
  const u32 va = 0x700000;
  u32 *pd1 = pg_identity_directory(), *pd2 = pg_identity_directory();
  u32 *page1 = pg_alloc(), *page2 = pg_alloc();
  *page1 = 0xAAAA;
  *page2 = 0xBBBB;
  pg_map(pd1, va, (u32)page1, PTE_P | PTE_W);
  pg_map(pd2, va, (u32)page2, PTE_P | PTE_W);
  rt_tss[7] = (u32)pd1;
  pg_enable(pd1, 0);
  u32 before = *(volatile u32 *)va; /* now in the TLB */
  tss_init(tss_a, task_cr3_entry, stack_a, sizeof stack_a);
  tss_a[7] = (u32)pd2;
  __asm__ volatile("lcall $0x30, $0" ::: "memory", "eax", "ecx", "edx", "ebx", "esi", "edi");
  u32 after = *(volatile u32 *)va;
  u32 cr3_main = read_cr3();
  pg_disable();
  printf("cr3: main sees %x, the task %x with its CR3 %s, main again %x with CR3 %s\n", before,
         cr3_seen, cr3_task == (u32)pd2 ? "from its TSS" : "wrong", after,
         cr3_main == (u32)pd1 ? "from its TSS" : "wrong");
  CHECK_EQ(cr3_seen, 0xBBBB, "the task's mapping");
  CHECK_EQ(after, 0xAAAA, "the main task's mapping after the IRET");
}

/* The T flag (bit 0 of the word at offset 100, §7.2.1): #DB after the switch completes, before
   the new task's first instruction, with BT in DR6 (§17.3.1.5; a trap, so the pushed EIP is that
   instruction). The switch also clears L0 of DR7 and keeps G0 (§17.2.4); DR0 points at nothing
   this guest executes. QEMU 7.2 does not implement the T flag. */
#define DR6_BT 0x8000
#define DR6_BS 0x4000
static void case_trap_flag(void) {
  tss_init(tss_a, task_t_entry, stack_a, sizeof stack_a);
  tss_a[25] |= 1; /* T */
  idt_set_gate(1, (u32)db_handler, KERNEL_CS, GATE_INT, 0, 1);
  __asm__ volatile("mov %0, %%dr0\n\t mov %1, %%dr7" ::"r"(0xFFFF0u), "r"(0x3u));
  write_dr6(0);
  __asm__ volatile("lcall $0x30, $0" ::: "memory", "eax", "ecx", "edx", "ebx", "esi", "edi");
  u32 dr7_after;
  __asm__ volatile("mov %%dr7, %0" : "=r"(dr7_after));
  __asm__ volatile("mov %0, %%dr7" ::"r"(0u));
  write_dr6(0);
  idt_set_stub(1, GATE_INT, 0);
  printf("T flag: the task ran %u, DR7 in it %x, in main after %x\n", t_ran, t_dr7 & 0xFF, dr7_after & 0xFF);
  CHECK_EQ(t_ran, 1, "the task with T set ran once");
  CHECK_EQ(t_dr7 & 0xFF, 2, "DR7 in the new task: L0 cleared, G0 kept");
  if (db_count == 0) {
    printf("DEVIATION from the SDM: no #DB after the switch to a TSS with T set\n");
    return;
  }
  printf("T flag: #DB %u, eip=entry+%d tr %04x, DR6 BT %u BS %u\n", db_count,
         (int)(db_eip - (u32)task_t_entry), db_tr, (db_dr6 & DR6_BT) != 0, (db_dr6 & DR6_BS) != 0);
  CHECK_EQ(db_count, 1, "one #DB for the switch");
  CHECK_EQ(db_eip, (u32)task_t_entry, "#DB before the new task's first instruction");
  CHECK_EQ(db_tr, TSS_A, "TR in the #DB handler");
  CHECK(db_dr6 & DR6_BT, "DR6.BT");
}

int guest_main(u32 magic, u32 info) {
  (void)magic;
  (void)info;
  memcpy(gdt, rt_gdt, 10 * 8);
  set_desc(TSS_A, (u32)tss_a, 103, 0x89, 0);
  set_desc(TSS_B, (u32)tss_b, 103, 0x89, 0);
  set_desc(TSS_DF, (u32)tss_df, 103, 0x89, 0);
  set_desc(TSS_SHORT, (u32)tss_short, 0x66, 0x89, 0);
  gdt[(GATE_A >> 3) * 2] = (u32)TSS_A << 16;
  gdt[(GATE_A >> 3) * 2 + 1] = 0x8500;
  set_desc(TSS16_SHORT, (u32)tss16, 0x2a, 0x81, 0);
  set_desc(TSS_C, (u32)tss_c, 103, 0x89, 0);
  set_desc(XO_CODE, 0, 0xFFFFF, 0x98, 0xC);
  set_desc(NP_DATA, 0, 0xFFFFF, 0x12, 0xC);
  struct __attribute__((packed)) {
    u16 limit;
    u32 base;
  } d = {sizeof gdt - 1, (u32)gdt};
  __asm__ volatile("lgdt %0" ::"m"(d));
  case_call_nested();
  case_call_gate();
  case_jmp();
  case_faults();
  case_bad_segment();
  case_double_fault();
  case_cr3();
  case_trap_flag();
  printf("CR0.TS after the last switch: %u\n", (read_cr0() & CR0_TS) != 0);
  clts();
  return 0;
}
