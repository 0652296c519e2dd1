/* apic: the local APIC (Intel SDM Vol. 3A ch. 10) and the 82093AA I/O APIC. Checks CPUID's APIC
   flag and IA32_APIC_BASE, self-IPIs through the ICR, EOI and the ISR, TPR/PPR masking, the LVT
   timer one-shot and periodic against the divide configuration (its rate measured against the
   8254 PIT, never a wall-clock loop), and the I/O APIC's routing of the PIT (pin 2, as the MP
   table says) and COM1 (pin 4), NMI (a self-IPI in delivery mode NMI, the PIT through an I/O
   APIC entry in NMI mode, the blocking of NMIs until the handler's IRET) and the 8259A through
   the I/O APIC's ExtINT pin 0. Runs the same under QEMU (its APICs, as SeaBIOS leaves them) and
   our emulator with --apic. */
#include "rt.h"

#define APIC 0xFEE00000u
#define APIC_ID 0x20
#define APIC_VER 0x30
#define APIC_TPR 0x80
#define APIC_PPR 0xA0
#define APIC_EOI 0xB0
#define APIC_SVR 0xF0
#define APIC_ISR 0x100
#define APIC_IRR 0x200
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3E0
#define IOAPIC 0xFEC00000u
#define PIT_HZ 1193182u

#define V_TIMER 0x30
#define V_IPI_LOW 0x41
#define V_IPI_LOW2 0x42
#define V_IPI_HIGH 0x51
#define V_PIT 0x60
#define V_COM1 0x64

static inline u32 apic_rd(u32 r) { return *(volatile u32 *)(APIC + r); }
static inline void apic_wr(u32 r, u32 v) { *(volatile u32 *)(APIC + r) = v; }
static inline u32 io_rd(u32 r) { *(volatile u32 *)IOAPIC = r; return *(volatile u32 *)(IOAPIC + 0x10); }
static inline void io_wr(u32 r, u32 v) { *(volatile u32 *)IOAPIC = r; *(volatile u32 *)(IOAPIC + 0x10) = v; }
static inline u64 rdmsr(u32 n) { u32 lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(n)); return ((u64)hi << 32) | lo; }

static int isr_bit(u32 v) { return (apic_rd(APIC_ISR + (v >> 5) * 0x10) >> (v & 31)) & 1; }
static int irr_bit(u32 v) { return (apic_rd(APIC_IRR + (v >> 5) * 0x10) >> (v & 31)) & 1; }

static volatile u32 timer_ticks, ipi_low, ipi_low2, ipi_high, pit_irqs, com1_irqs;
static volatile u32 low_isr_in_handler, high_while_low, skip_eoi, com1_iir;

static void self_ipi(u32 vector) { apic_wr(APIC_ICR_LOW, (1u << 18) | vector); /* shorthand self, fixed, edge */ }

static void on_timer(struct rt_frame *f) { (void)f; timer_ticks++; apic_wr(APIC_EOI, 0); }
static void on_ipi_low(struct rt_frame *f) {
  (void)f;
  ipi_low++;
  low_isr_in_handler = isr_bit(V_IPI_LOW);
  if (skip_eoi) return;
  apic_wr(APIC_EOI, 0);
}
static void on_ipi_low2(struct rt_frame *f) { (void)f; ipi_low2++; apic_wr(APIC_EOI, 0); }
static void on_ipi_high(struct rt_frame *f) { (void)f; ipi_high++; high_while_low = isr_bit(V_IPI_LOW); apic_wr(APIC_EOI, 0); }
static void on_pit(struct rt_frame *f) { (void)f; pit_irqs++; apic_wr(APIC_EOI, 0); }
static volatile u32 pic_irqs;
static void on_pic_irq0(struct rt_frame *f) { (void)f; pic_irqs++; outb(0x20, 0x20); }
static volatile u32 nmis, nmi_depth, nmi_nested, nmi_resend, nmis_in_handler, nmi_if;
static void self_nmi(void) { apic_wr(APIC_ICR_LOW, (1u << 18) | (4u << 8) | 0x33); /* self, NMI: the vector is ignored */ }
static void on_nmi(struct rt_frame *f) {
  if (nmi_depth++ != 0) nmi_nested = 1;
  nmis++;
  nmi_if = (f->eflags >> 9) & 1;
  if (nmi_resend) {
    /* A second NMI while this one is handled waits for the IRET (SDM Vol. 3 §6.7.1). */
    nmi_resend = 0;
    self_nmi();
    for (volatile int i = 0; i < 1000; i++) {}
    nmis_in_handler = nmis;
  }
  nmi_depth--;
}
static inline void wrmsr(u32 n, u64 v) { __asm__ volatile("wrmsr" ::"c"(n), "a"((u32)v), "d"((u32)(v >> 32))); }
static void on_com1(struct rt_frame *f) {
  (void)f;
  com1_irqs++;
  com1_iir = inb(0x3FA);
  outb(0x3F9, 0); /* IER off: the line drops */
  apic_wr(APIC_EOI, 0);
}

static void pit_channel0(u32 divisor) {
  outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2, binary */
  outb(0x40, divisor & 0xFF);
  outb(0x40, divisor >> 8);
}
static u32 pit_read0(void) {
  outb(0x43, 0x00);
  u32 lo = inb(0x40);
  return lo | (u32)inb(0x40) << 8;
}
/* Polls channel 0 until it has wrapped `periods` times (see the timer guest). */
static void wait_periods(u32 periods) {
  u32 prev = pit_read0(), wraps = 0;
  for (u32 n = 0; wraps < periods && n < 100000000; n++) {
    u32 now = pit_read0();
    if (now > prev) wraps++;
    prev = now;
  }
}

int guest_main(u32 magic, u32 info) {
  (void)magic, (void)info;
  u32 a, b, c, d;
  cpuid(1, &a, &b, &c, &d);
  CHECK(d & (1u << 9), "CPUID.1:EDX.APIC clear: %x", d);
  u64 base = rdmsr(0x1B);
  /* SDM §10.4.4: base 0xFEE00000, BSP (bit 8) and global enable (bit 11). */
  CHECK_EQ((u32)base & 0xFFFFF900u, 0xFEE00900u, "IA32_APIC_BASE");
  u32 ver = apic_rd(APIC_VER);
  CHECK((ver & 0xF0) == 0x10 && ((ver >> 16) & 0xFF) >= 3, "version register %x: not an integrated APIC with 4+ LVTs", ver);
  printf("ok   CPUID APIC flag, IA32_APIC_BASE %x, version %x\n", (u32)base, ver);

  pic_remap_and_mask(0xFF, 0xFF); /* the 8259As stay out of the way */
  idt_set_handler(V_TIMER, on_timer);
  idt_set_handler(V_IPI_LOW, on_ipi_low);
  idt_set_handler(V_IPI_LOW2, on_ipi_low2);
  idt_set_handler(V_IPI_HIGH, on_ipi_high);
  idt_set_handler(V_PIT, on_pit);
  idt_set_handler(V_COM1, on_com1);
  idt_set_handler(0xFF, on_ipi_low2); /* spurious: counted, never expected */
  apic_wr(APIC_SVR, 0x1FF); /* software enable, spurious vector 0xFF (§10.9) */
  apic_wr(APIC_TPR, 0);

  /* 1. A self-IPI is delivered at once with IF=1; in service during its handler, not after EOI. */
  sti();
  self_ipi(V_IPI_LOW);
  cli();
  CHECK_EQ(ipi_low, 1, "self-IPI deliveries");
  CHECK_EQ(low_isr_in_handler, 1, "ISR bit inside the handler");
  CHECK_EQ(isr_bit(V_IPI_LOW), 0, "ISR bit after EOI");
  CHECK_EQ(apic_rd(APIC_ICR_LOW) & (1u << 12), 0, "ICR delivery status idle");
  printf("ok   self-IPI delivered, ISR set in handler and cleared by EOI\n");

  /* 2. With IF=0 it waits in the IRR; STI delivers it. */
  self_ipi(V_IPI_LOW);
  CHECK_EQ(irr_bit(V_IPI_LOW), 1, "IRR bit with IF=0");
  CHECK_EQ(ipi_low, 1, "delivered with IF=0");
  __asm__ volatile("sti; nop; cli" ::: "memory");
  CHECK_EQ(ipi_low, 2, "delivered after STI");
  printf("ok   IPI held in IRR with IF=0, delivered after STI\n");

  /* 3. TPR masking (§10.8.3): class 4 (0x41) is held while TPR = 0x50; PPR follows TPR. */
  apic_wr(APIC_TPR, 0x50);
  CHECK_EQ(apic_rd(APIC_PPR), 0x50, "PPR with TPR 0x50 and nothing in service");
  sti();
  self_ipi(V_IPI_LOW);
  u32 held = ipi_low;
  self_ipi(V_IPI_HIGH); /* class 5 = TPR class: also held (must be above, §10.8.3.2) */
  u32 held_high = ipi_high;
  apic_wr(APIC_TPR, 0x40);
  u32 after40 = ipi_high;
  u32 low_after40 = ipi_low;
  apic_wr(APIC_TPR, 0);
  cli();
  CHECK_EQ(held, 2, "class 4 IPI delivered through TPR 0x50");
  CHECK_EQ(held_high, 0, "class 5 IPI delivered through TPR 0x50");
  CHECK_EQ(after40, 1, "class 5 IPI once TPR is 0x40");
  CHECK_EQ(low_after40, 2, "class 4 IPI while TPR is 0x40");
  CHECK_EQ(ipi_low, 3, "class 4 IPI once TPR is 0");
  printf("ok   TPR 0x50 holds classes 4 and 5; 0x40 releases 5; 0 releases 4\n");

  /* 4. In service: the same class waits for the EOI, a higher class nests (PPR = ISR class). */
  skip_eoi = 1;
  sti();
  self_ipi(V_IPI_LOW);
  cli();
  skip_eoi = 0;
  CHECK_EQ(isr_bit(V_IPI_LOW), 1, "ISR bit without EOI");
  CHECK_EQ(apic_rd(APIC_PPR), 0x40, "PPR with vector 0x41 in service");
  sti();
  self_ipi(V_IPI_LOW2);
  u32 same_class = ipi_low2;
  self_ipi(V_IPI_HIGH);
  u32 nested = ipi_high;
  apic_wr(APIC_EOI, 0); /* ends 0x41: 0x42 follows */
  cli();
  CHECK_EQ(same_class, 0, "same-class IPI while 0x41 in service");
  CHECK_EQ(nested, 2, "higher-class IPI while 0x41 in service");
  CHECK_EQ(ipi_low2, 1, "same-class IPI after the EOI");
  CHECK_EQ(isr_bit(V_IPI_LOW), 0, "ISR bit after the late EOI");
  printf("ok   in-service class blocks 0x42 until EOI; 0x51 nests\n");

  /* 5. The timer's rate: a one-shot with a large count, read across 10 PIT periods of 1 ms. */
  const u32 div1000 = (PIT_HZ + 500) / 1000;
  pit_channel0(div1000);
  apic_wr(APIC_LVT_TIMER, (1u << 16) | V_TIMER); /* masked one-shot */
  apic_wr(APIC_TIMER_DIV, 0xB); /* divide by 1 */
  apic_wr(APIC_TIMER_INIT, 0xFFFFFFFFu);
  wait_periods(1);
  u32 c0 = apic_rd(APIC_TIMER_CUR);
  wait_periods(10);
  u32 c1 = apic_rd(APIC_TIMER_CUR);
  u32 per_ms = (c0 - c1) / 10; /* timer counts per ms at divide 1 */
  CHECK(c1 < c0 && per_ms > 1000, "timer current count did not fall: %x -> %x", c0, c1);
  apic_wr(APIC_TIMER_DIV, 0x3); /* divide by 16 */
  wait_periods(1);
  c0 = apic_rd(APIC_TIMER_CUR);
  wait_periods(10);
  c1 = apic_rd(APIC_TIMER_CUR);
  u32 per_ms16 = (c0 - c1) / 10;
  CHECK(per_ms16 * 16 > per_ms * 9 / 10 && per_ms16 * 16 < per_ms * 11 / 10, "divide 16: %u counts/ms against %u at divide 1", per_ms16, per_ms);
  apic_wr(APIC_TIMER_INIT, 0);
  CHECK_EQ(apic_rd(APIC_TIMER_CUR), 0, "current count after writing initial count 0");
  printf("ok   timer counts ~%u/ms at divide 1, 1/16 of that at divide 16\n", per_ms / 1000 * 1000);

  /* 6. One-shot: exactly one interrupt after initial count x divide, current count 0 after. */
  timer_ticks = 0;
  apic_wr(APIC_TIMER_DIV, 0xB);
  apic_wr(APIC_LVT_TIMER, V_TIMER);
  apic_wr(APIC_TIMER_INIT, per_ms * 2); /* 2 ms */
  sti();
  wait_periods(1);
  u32 early = timer_ticks;
  wait_periods(5);
  cli();
  CHECK_EQ(early, 0, "one-shot fired before half its time");
  CHECK_EQ(timer_ticks, 1, "one-shot interrupts");
  CHECK_EQ(apic_rd(APIC_TIMER_CUR), 0, "one-shot current count after expiry");
  printf("ok   one-shot: one interrupt, then current count 0\n");

  /* 7. Periodic: initial count x divide sets the period; 40 ms of PIT time. */
  static const u32 divs[2][2] = {{0xB, 1}, {0x3, 16}};
  for (u32 i = 0; i < 2; i++) {
    u32 period_ms = 2, count = per_ms * period_ms / divs[i][1];
    timer_ticks = 0;
    apic_wr(APIC_TIMER_DIV, divs[i][0]);
    apic_wr(APIC_LVT_TIMER, (1u << 17) | V_TIMER);
    apic_wr(APIC_TIMER_INIT, count);
    sti();
    wait_periods(40);
    cli();
    apic_wr(APIC_LVT_TIMER, 1u << 16);
    apic_wr(APIC_TIMER_INIT, 0);
    u32 got = timer_ticks;
    CHECK(got >= 19 && got <= 21, "periodic, divide %u, count %u: %u interrupts in 40 ms, want 20", divs[i][1], count, got);
    printf("ok   periodic divide %u: %u interrupts in 40 PIT ms, period %u ms\n", divs[i][1], got, period_ms);
  }

  /* 8. The I/O APIC: 24 entries, and the PIT's IRQ 0 arrives on pin 2 (MP table override). */
  u32 iover = io_rd(1);
  CHECK_EQ((iover >> 16) & 0xFF, 23, "I/O APIC maximum redirection entry");
  CHECK(io_rd(0x10 + 2 * 2) & (1u << 16), "pin 2 not masked at start: %x", io_rd(0x10 + 2 * 2));
  io_wr(0x11 + 2 * 2, 0); /* destination: APIC ID 0, physical */
  io_wr(0x10 + 2 * 2, V_PIT); /* fixed, edge, active high, unmasked */
  apic_wr(APIC_LVT_LINT0, 1u << 16); /* 8259A virtual wire off: only the I/O APIC delivers */
  pit_irqs = 0;
  sti();
  wait_periods(20);
  cli();
  io_wr(0x10 + 2 * 2, (1u << 16) | V_PIT);
  u32 pit_got = pit_irqs;
  CHECK(pit_got >= 19 && pit_got <= 21, "PIT interrupts through I/O APIC pin 2: %u in 20 periods", pit_got);
  printf("ok   I/O APIC version %x: PIT on pin 2, %u interrupts in 20 periods\n", iover & 0xFF, pit_got);

  /* 9. COM1 on pin 4: THR-empty interrupt (IER bit 1) arrives as its vector. */
  io_wr(0x11 + 2 * 4, 0);
  io_wr(0x10 + 2 * 4, V_COM1);
  outb(0x3FC, 0x08); /* MCR OUT2: the PC gates the UART's IRQ with it */
  sti();
  outb(0x3F9, 0x02);
  wait_periods(2);
  cli();
  io_wr(0x10 + 2 * 4, (1u << 16) | V_COM1);
  CHECK_EQ(com1_irqs, 1, "COM1 interrupts through I/O APIC pin 4");
  CHECK_EQ(com1_iir & 0x0F, 0x02, "COM1 IIR: THR empty");
  printf("ok   COM1 on pin 4: %u interrupt, IIR %x\n", com1_irqs, com1_iir);

  /* 10. NMI: a self-IPI with delivery mode NMI is vector 2, taken with IF clear and without
     the IRR, ISR or an EOI; one sent from the handler waits for its IRET. */
  idt_set_handler(2, on_nmi);
  cli();
  self_nmi();
  for (volatile int i = 0; i < 1000; i++) {}
  u32 nmi_single = nmis;
  nmi_resend = 1;
  self_nmi();
  for (volatile int i = 0; i < 3000; i++) {}
  CHECK_EQ(nmi_single, 1, "NMIs after one NMI self-IPI with IF clear");
  CHECK_EQ(nmi_if, 0, "IF in the EFLAGS the NMI pushed");
  CHECK_EQ(nmis, 3, "NMIs after the second self-IPI, which sent a third from its handler");
  CHECK_EQ(nmis_in_handler, 2, "NMIs seen in the handler after it sent one (blocked until IRET)");
  CHECK_EQ(nmi_nested, 0, "nested NMI handlers");
  CHECK_EQ(apic_rd(APIC_ISR + 0x10 * (0x33 >> 5)) | apic_rd(APIC_IRR + 0x10 * (0x33 >> 5)), 0, "ISR and IRR after NMIs");
  printf("ok   NMI self-IPI: vector 2 with IF clear; one sent by the handler waits for its IRET (%u, then %u)\n", nmi_single, nmis);

  /* 11. The PIT on I/O APIC pin 2 in delivery mode NMI: an NMI per period, IF clear. */
  nmis = 0;
  io_wr(0x10 + 2 * 2, 4u << 8); /* NMI, edge, unmasked */
  wait_periods(10);
  io_wr(0x10 + 2 * 2, (1u << 16) | V_PIT);
  u32 pit_nmis = nmis;
  CHECK(pit_nmis >= 9 && pit_nmis <= 11, "NMIs from I/O APIC pin 2 in 10 PIT periods: %u", pit_nmis);
  printf("ok   I/O APIC pin 2 in NMI mode: %u NMIs in 10 PIT periods with IF clear\n", pit_nmis);

  /* 12. The 8259A through I/O APIC pin 0 in ExtINT mode (virtual wire mode B, MP spec §3.6.2.2;
     LINT0 stays masked): the vector comes from the 8259A, which gets the EOI. */
  idt_set_handler(0x20, on_pic_irq0);
  pic_irqs = 0;
  io_wr(0x11, 0);
  io_wr(0x10, 7u << 8); /* ExtINT, edge, unmasked */
  outb(0x21, 0xFE); /* IRQ0 only */
  sti();
  wait_periods(5);
  cli();
  outb(0x21, 0xFF);
  io_wr(0x10, 1u << 16);
  if (pic_irqs == 0) {
    /* QEMU 7.2 wires no 8259A output to I/O APIC pin 0 (its IRQ 0 goes to pin 2). */
    printf("DEVIATION from the MP spec (3.6.2.2): no 8259A interrupt through I/O APIC pin 0 in ExtINT mode\n");
  } else {
    CHECK(pic_irqs >= 4 && pic_irqs <= 6, "8259A interrupts through I/O APIC pin 0 in 5 PIT periods: %u", pic_irqs);
    printf("ok   I/O APIC pin 0 in ExtINT mode: 8259A IRQ0 as its vector (%u in 5 periods)\n", pic_irqs);
  }
  pic_irqs = 0;

  /* 13. The 8259A: blocked while LINT0 is masked; once IA32_APIC_BASE's global enable is clear
     the APIC is gone (§10.4.3: CPUID's flag too) and the PIC drives INTR directly. Last: a P6
     cannot enable it again without a reset. */
  outb(0x21, 0xFE); /* IRQ0 only */
  sti();
  wait_periods(5);
  cli();
  u32 blocked = pic_irqs;
  wrmsr(0x1B, base & ~(u64)(1u << 11));
  cpuid(1, &a, &b, &c, &d);
  sti();
  wait_periods(5);
  cli();
  outb(0x21, 0xFF);
  CHECK_EQ(blocked, 0, "8259A interrupts with LINT0 masked");
  CHECK_EQ(d & (1u << 9), 0, "CPUID APIC flag with the APIC disabled");
  if (pic_irqs == 0) {
    /* QEMU 7.2 keeps routing the PIC through the (masked) LINT0 and only on changes of its
       output: not counted as a failure, and guests.test.ts requires the ok line from us. */
    printf("DEVIATION from the SDM (10.4.3): no 8259A interrupt with the APIC globally disabled\n");
  } else {
    CHECK(pic_irqs >= 4 && pic_irqs <= 6, "8259A interrupts in 5 PIT periods with the APIC disabled: %u", pic_irqs);
    printf("ok   APIC disabled: 8259A IRQ0 straight to INTR (%u in 5 periods), CPUID APIC flag clear\n", pic_irqs);
  }
  return 0;
}
