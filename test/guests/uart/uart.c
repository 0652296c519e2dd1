/* uart: the 16550A on COM1 as a driver uses it: registers (divisor latch, scratch, IIR FIFO
   bits, LSR), loopback, then interrupt-driven transmit (THRE interrupt) and receive on IRQ4:
   reads one line from the host and echoes it uppercased. The PIT gives a 60 s timeout. */
#include "rt.h"

#define COM1 0x3F8
#define RBR 0
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDA 0x01
#define IER_THRE 0x02

#define RING 256
static volatile u8 tx_buf[RING], rx_buf[RING];
static volatile u32 tx_head, tx_tail, rx_head, rx_tail;
static volatile u32 thre_irqs, rx_irqs, irq4s, ticks, ier_shadow;

static void uart_irq(struct rt_frame *f) {
  (void)f;
  irq4s++;
  for (int guard = 0; guard < 64; guard++) {
    u8 iir = inb(COM1 + IIR);
    if (iir & 1) break;
    switch (iir & 0x0E) {
      case 0x06: /* line status */
        inb(COM1 + LSR);
        break;
      case 0x04: /* received data */
      case 0x0C: /* character timeout */
        rx_irqs++;
        while (inb(COM1 + LSR) & LSR_DR) {
          u8 c = inb(COM1 + RBR);
          if (rx_head - rx_tail < RING) rx_buf[rx_head++ % RING] = c;
        }
        break;
      case 0x02: /* THR empty: refill up to the 16-byte FIFO */
        thre_irqs++;
        for (int n = 0; n < 16 && tx_tail != tx_head; n++) outb(COM1 + THR, tx_buf[tx_tail++ % RING]);
        if (tx_tail == tx_head) outb(COM1 + IER, ier_shadow &= ~IER_THRE);
        break;
      default: /* modem status */
        inb(COM1 + MSR);
    }
  }
  outb(0x20, 0x20);
}

static void timer_irq(struct rt_frame *f) {
  (void)f;
  ticks++;
  outb(0x20, 0x20);
}

static void tx_puts(const char *s) {
  while (*s) {
    while (tx_head - tx_tail >= RING) sti_hlt(), cli();
    tx_buf[tx_head++ % RING] = (u8)*s++;
  }
  /* Enabling THRE with the holding register empty raises the interrupt at once. */
  outb(COM1 + IER, ier_shadow |= IER_THRE);
}

static void registers(void) {
  outb(COM1 + SCR, 0x5A);
  u8 s1 = inb(COM1 + SCR);
  outb(COM1 + SCR, 0xA5);
  u8 s2 = inb(COM1 + SCR);
  CHECK(s1 == 0x5A && s2 == 0xA5, "scratch register read back %02x %02x", s1, s2);
  outb(COM1 + LCR, 0x83);
  u8 dll = inb(COM1 + 0), dlm = inb(COM1 + 1);
  outb(COM1 + LCR, 0x03);
  CHECK(dll == 1 && dlm == 0, "divisor latch read back %02x %02x", dll, dlm);
  CHECK_EQ(inb(COM1 + LCR), 0x03, "LCR");
  u8 iir = inb(COM1 + IIR);
  CHECK((iir & 0xCF) == 0xC1, "IIR %02x: want FIFOs enabled (C0) and no interrupt (01)", iir);
  u8 lsr = inb(COM1 + LSR);
  CHECK((lsr & (LSR_THRE | LSR_TEMT)) == (LSR_THRE | LSR_TEMT), "LSR %02x lacks THRE|TEMT", lsr);
  printf("ok   registers: SCR, divisor latch 0x%02x%02x, IIR %02x, LSR %02x\n", dlm, dll, iir, lsr);

  /* Loopback (MCR bit 4): transmitted bytes come back as received; the modem outputs show up
     as the modem inputs (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD). */
  outb(COM1 + MCR, 0x1B);
  u8 msr = inb(COM1 + MSR);
  char got[4] = {0};
  for (int i = 0; i < 3; i++) outb(COM1 + THR, (u8)("xyz"[i]));
  for (int i = 0; i < 3; i++) {
    u32 spins = 0;
    while (!(inb(COM1 + LSR) & LSR_DR) && spins < 1000000) spins++;
    got[i] = (char)inb(COM1 + RBR);
  }
  u8 lsr_after = inb(COM1 + LSR);
  outb(COM1 + MCR, 0x0B);
  CHECK((msr & 0xF0) == 0xB0, "loopback MSR %02x, want B0 in the high nibble", msr);
  CHECK(got[0] == 'x' && got[1] == 'y' && got[2] == 'z', "loopback received \"%s\"", got);
  CHECK(!(lsr_after & LSR_DR), "data left after reading the loopback bytes: LSR %02x", lsr_after);
  printf("ok   loopback: received \"%s\", MSR %02x\n", got, msr);
}

int guest_main(u32 magic, u32 info) {
  (void)magic, (void)info;
  printf("uart: 16550 on COM1, IRQ4\n");
  registers();

  idt_set_handler(0x24, uart_irq);
  idt_set_handler(0x20, timer_irq);
  pic_remap_and_mask(0xEE, 0xFF); /* IRQ0 (timeout) and IRQ4 */
  outb(0x43, 0x34);
  outb(0x40, 11932 & 0xFF);
  outb(0x40, 11932 >> 8);
  outb(COM1 + FCR, 0x07);         /* FIFOs on, cleared, RX trigger at 1 byte */
  outb(COM1 + MCR, 0x0B);         /* OUT2 gates the UART's interrupt onto IRQ4 on a PC */
  while (inb(COM1 + LSR) & LSR_DR) inb(COM1 + RBR);
  outb(COM1 + IER, ier_shadow = IER_RDA);
  sti();

  tx_puts("uart: interrupt-driven transmit\n");
  tx_puts("ready> ");
  u32 len = 0;
  char line[80];
  int done = 0;
  while (!done && ticks < 6000) {
    sti_hlt();
    cli();
    while (rx_tail != rx_head && !done) {
      char c = (char)rx_buf[rx_tail++ % RING];
      if (c == '\r' || c == '\n') done = 1;
      else if (len < sizeof line - 1) line[len++] = c;
    }
    sti();
  }
  line[len] = 0;
  for (u32 i = 0; i < len; i++)
    if (line[i] >= 'a' && line[i] <= 'z') line[i] -= 32;
  tx_puts("\nECHO: ");
  tx_puts(line);
  tx_puts("\n");
  while (tx_tail != tx_head && ticks < 6100) sti_hlt();
  cli();
  while (!(inb(COM1 + LSR) & LSR_TEMT)) {
  }
  outb(COM1 + IER, 0);
  outb(0x21, 0xFF);
  CHECK(done, "no line received within 60 s (%u bytes)", len);
  CHECK(thre_irqs > 0, "no THRE interrupts");
  CHECK(rx_irqs > 0, "no receive interrupts");
  CHECK(tx_tail == tx_head, "transmit queue not drained");
  printf("uart: %u IRQ4s (%u THRE, %u receive), %u bytes echoed\n", irq4s, thre_irqs, rx_irqs, len);
  return rt_failures ? 1 : 0;
}
