/* timer: the 8259A PIC and the 8254 PIT. IRQ0 counts are checked against PIT periods observed
   independently (channel 0 read back with the latch command, channel 2 through port 0x61),
   never against wall-clock loops; HLT with IF=1 must wake on IRQ0; EOI, IRR, ISR and IMR must
   behave as the 8259A data sheet says. Runs the same under QEMU (real time) and our emulator's
   deterministic mode (virtual time). */
#include "rt.h"

#define PIT_HZ 1193182u
#define PIC1 0x20
#define PIC1_DATA 0x21

static volatile u32 ticks, isr_in_handler, isr_after_eoi, skip_eoi;

static void on_irq0(struct rt_frame *f) {
  (void)f;
  ticks++;
  outb(PIC1, 0x0B); /* OCW3: read ISR */
  isr_in_handler = inb(PIC1);
  if (skip_eoi) {
    skip_eoi = 0;
    return;
  }
  outb(PIC1, 0x20); /* non-specific EOI */
  isr_after_eoi = inb(PIC1);
}

static u8 pic_irr(void) {
  outb(PIC1, 0x0A);
  return inb(PIC1);
}

static void pit_channel0(u32 divisor) {
  outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
  outb(0x40, divisor & 0xFF);
  outb(0x40, divisor >> 8);
}

static u32 pit_read0(void) {
  outb(0x43, 0x00); /* counter latch, channel 0 */
  u32 lo = inb(0x40);
  return lo | (u32)inb(0x40) << 8;
}

/* Polls channel 0 until it has wrapped `periods` times (the count goes up when it reloads);
   the caller chooses IF. Returns false if the counter seems stuck. */
static int wait_periods(u32 periods, u32 divisor) {
  u32 prev = pit_read0(), wraps = 0, same = 0;
  while (wraps < periods) {
    u32 now = pit_read0();
    if (now > divisor || now == 0) {
      printf("FAIL channel 0 read back %u, outside 1..%u\n", now, divisor);
      rt_failures++;
      return 0;
    }
    if (now > prev) wraps++;
    same = now == prev ? same + 1 : 0;
    if (same > 1000000) {
      printf("FAIL channel 0 stuck at %u\n", now);
      rt_failures++;
      return 0;
    }
    prev = now;
  }
  return 1;
}

/* Lets a quarter of a channel-0 period pass (called just after a wrap, so no wrap happens):
   time for a request the PIC has just released to reach the CPU. */
static void wait_quarter(u32 divisor) {
  u32 start = pit_read0();
  for (u32 n = 0; n < 10000000; n++) {
    u32 now = pit_read0();
    if (now > start || start - now >= divisor / 4) return;
  }
}

int guest_main(u32 magic, u32 info) {
  (void)magic, (void)info;
  const u32 div100 = PIT_HZ / 100, div1000 = (PIT_HZ + 500) / 1000;
  idt_set_handler(0x20, on_irq0);
  pic_remap_and_mask(0xFE, 0xFF); /* vectors 0x20/0x28, only IRQ0 unmasked */
  pit_channel0(div100);
  printf("timer: PIC at 0x20/0x28, PIT channel 0 mode 2, divisor %u (100 Hz)\n", div100);

  /* 1. HLT with IF=1 wakes on IRQ0, once per tick. */
  u64 t0 = rdtsc();
  u32 wakes = 0;
  for (; wakes < 20; wakes++) {
    sti_hlt();
    cli();
  }
  u64 t1 = rdtsc();
  CHECK_EQ(ticks, wakes, "IRQ0 count after 20 HLT wakeups");
  CHECK(isr_in_handler & 1, "ISR bit 0 not set inside the handler: %02x", isr_in_handler);
  CHECK(!(isr_after_eoi & 1), "ISR bit 0 still set after EOI: %02x", isr_after_eoi);
  printf("ok   20 HLT wakeups, %u IRQ0s; ISR in handler %02x, after EOI %02x; %llu TSC/tick\n",
         ticks, isr_in_handler, isr_after_eoi, (t1 - t0) / 20);

  /* 2. IRQ0s counted against channel 0 periods seen by read-back, with IF=1. */
  u32 before = ticks;
  sti();
  int ok = wait_periods(30, div100);
  cli();
  u32 got = ticks - before;
  CHECK(ok && got >= 29 && got <= 31, "IRQ0s over 30 channel-0 periods: %u", got);
  printf("ok   %u IRQ0s over 30 channel-0 periods\n", got);

  /* 3. With IF=0 the request waits in IRR and is delivered right after STI. */
  before = ticks;
  wait_periods(2, div100);
  u8 irr = pic_irr();
  CHECK(irr & 1, "IRR bit 0 not set while IF=0: %02x", irr);
  CHECK_EQ(ticks, before, "IRQ0 delivered with IF=0");
  __asm__ volatile("sti; nop; cli" ::: "memory");
  CHECK_EQ(ticks, before + 1, "one IRQ0 right after STI (edge-triggered: one request, not two)");
  printf("ok   IRQ0 held in IRR (%02x) with IF=0, one delivery after STI\n", irr);

  /* 4. A masked IRQ stays pending in IRR and is delivered once on unmasking. */
  outb(PIC1_DATA, 0xFF);
  before = ticks;
  sti();
  wait_periods(3, div100);
  u32 masked = ticks - before;
  outb(PIC1_DATA, 0xFE);
  wait_quarter(div100);
  u32 unmasked = ticks - before;
  cli();
  CHECK_EQ(masked, 0, "IRQ0s while masked in IMR");
  CHECK_EQ(unmasked, 1, "IRQ0s delivered on unmasking");
  printf("ok   masked IRQ0: %u while masked, %u on unmasking\n", masked, unmasked);

  /* 5. Without EOI the in-service IRQ0 blocks further IRQ0s; the EOI releases the next. */
  skip_eoi = 1;
  before = ticks;
  sti();
  wait_periods(4, div100);
  u32 blocked = ticks - before;
  outb(PIC1, 0x0B);
  u8 isr = inb(PIC1);
  outb(PIC1, 0x20);
  wait_quarter(div100);
  u32 released = ticks - before;
  cli();
  CHECK_EQ(blocked, 1, "IRQ0s with the first one never EOI'd");
  CHECK(isr & 1, "ISR bit 0 not set while the handler skipped EOI: %02x", isr);
  CHECK_EQ(released, 2, "IRQ0s once the EOI arrived");
  printf("ok   missing EOI blocks IRQ0 (%u, ISR %02x); EOI releases it (%u)\n", blocked, isr, released);

  /* 6. Channel 2 (gate and OUT on port 0x61) as an independent clock: a 50 ms one-shot. */
  pit_channel0(div1000);
  wait_periods(1, div1000);
  outb(0x61, (inb(0x61) & ~0x02) | 0x01); /* gate 2 high, speaker off */
  outb(0x43, 0xB0);                       /* channel 2, lobyte/hibyte, mode 0, binary */
  const u32 count2 = PIT_HZ / 20;         /* 50 ms */
  sti();
  before = ticks;
  outb(0x42, count2 & 0xFF);
  outb(0x42, count2 >> 8);
  u32 spins = 0;
  while (!(inb(0x61) & 0x20) && ticks - before < 500) spins++;
  u32 during = ticks - before;
  cli();
  CHECK(inb(0x61) & 0x20, "channel 2 OUT (port 0x61 bit 5) never went high");
  CHECK(during >= 48 && during <= 52, "1000 Hz IRQ0s during a 50 ms channel-2 one-shot: %u", during);
  printf("ok   %u IRQ0s at 1000 Hz during a 50 ms channel-2 one-shot\n", during);

  /* Stop the timer before exiting. */
  outb(PIC1_DATA, 0xFF);
  printf("timer: %u IRQ0s in all\n", ticks);
  return rt_failures ? 1 : 0;
}
