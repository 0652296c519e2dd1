// The 16550A poked as a driver pokes it; expectations from the PC16550D data sheet.
import { beforeEach, describe, expect, it } from "vitest";
import { PortBus } from "../../src/devices/bus.js";
import { Uart16550 } from "../../src/devices/uart16550.js";
import { FakeClock, RecordingLine } from "./fake.js";

const COM1 = 0x3f8;
const [RBR, THR, IER, IIR, FCR, LCR, MCR, LSR, MSR, SCR] = [0, 0, 1, 2, 2, 3, 4, 5, 6, 7];

let clock: FakeClock;
let irq: RecordingLine;
let sent: number[];
let uart: Uart16550;
let bus: PortBus;
const out = (reg: number, v: number) => bus.write(COM1 + reg, v, 1);
const inb = (reg: number) => bus.read(COM1 + reg, 1);

beforeEach(() => {
  clock = new FakeClock();
  irq = new RecordingLine();
  sent = [];
  uart = new Uart16550(clock, irq.line, (b) => sent.push(b));
  bus = new PortBus();
  bus.claim(COM1, uart);
});

/** 115200 8N1, as our guests' runtime sets it up. */
function init(fcr = 0x07): void {
  out(IER, 0);
  out(LCR, 0x80);
  out(0, 0x01);
  out(1, 0x00);
  out(LCR, 0x03);
  out(FCR, fcr);
  out(MCR, 0x0b); // DTR, RTS, OUT2
}

describe("16550A UART", () => {
  it("reset state: IER 0, IIR 01 (no interrupt, FIFOs off), LCR 0, MCR 0, LSR 60 (THRE, TEMT)", () => {
    expect([inb(IER), inb(IIR), inb(LCR), inb(MCR), inb(LSR)]).toEqual([0, 0x01, 0, 0, 0x60]);
  });

  it("divisor latch: DLAB=1 maps DLL/DLM over RBR/IER, DLAB=0 maps them back", () => {
    out(IER, 0x05);
    out(LCR, 0x83);
    out(0, 0x0c);
    out(1, 0x01);
    expect([inb(0), inb(1)]).toEqual([0x0c, 0x01]);
    out(LCR, 0x03);
    expect(inb(IER)).toBe(0x05);
    expect(inb(LCR)).toBe(0x03);
    expect(sent).toEqual([]);
    // 8N1 at divisor 0x10c (≈ 428 baud): 10 bits of 16 × 268 reference clocks.
    expect(uart.characterTimeNs()).toBeCloseTo((10 * 16 * 268 * 1e9) / 1843200, 3);
  });

  it("scratch register holds what is written", () => {
    out(SCR, 0x5a);
    expect(inb(SCR)).toBe(0x5a);
  });

  it("transmit: THR bytes go to the sink; THRE and TEMT stay set", () => {
    init();
    for (const c of "ok\n") out(THR, c.charCodeAt(0));
    expect(String.fromCharCode(...sent)).toBe("ok\n");
    expect(inb(LSR) & 0x60).toBe(0x60);
  });

  it("receive: DR while data waits, RBR in order, DR clear once drained", () => {
    init();
    uart.receive([0x41, 0x42]);
    expect(inb(LSR) & 0x01).toBe(1);
    expect(inb(RBR)).toBe(0x41);
    expect(inb(RBR)).toBe(0x42);
    expect(inb(LSR) & 0x01).toBe(0);
  });

  it("host input waits while RTS is clear (the far end obeys RTS/CTS) and arrives once RTS rises", () => {
    init();
    out(MCR, 0x09); // DTR, OUT2: RTS clear
    uart.receive([0x41, 0x42]);
    expect(inb(LSR) & 0x01).toBe(0);
    out(FCR, 0x07); // a FIFO reset meanwhile loses nothing: the bytes are still on the far side
    out(MCR, 0x0b); // RTS
    expect(inb(LSR) & 0x01).toBe(1);
    expect([inb(RBR), inb(RBR)]).toEqual([0x41, 0x42]);
    expect(uart.pendingInput).toBe(0);
  });

  it("IIR reports FIFOs enabled in bits 7–6", () => {
    init(0x07);
    expect(inb(IIR)).toBe(0xc1);
    out(FCR, 0x00);
    expect(inb(IIR)).toBe(0x01);
  });

  it("IIR priorities: line status > received data > THR empty > modem status; each cleared its own way", () => {
    init(0x00);
    out(IER, 0x0f);
    // THRE was raised by enabling it with THR empty.
    expect(inb(IIR)).toBe(0x02);
    expect(inb(IIR)).toBe(0x01); // reading IIR while it said THRE clears it
    out(MCR, 0x13); // loopback with OUT2 off: DCD (looped from OUT2) drops
    out(THR, 1);
    out(THR, 2); // the RBR was not read: overrun
    expect(inb(IIR)).toBe(0x06);
    expect(inb(LSR) & 0x03).toBe(0x03); // OE and DR; the read clears OE
    expect(inb(IIR)).toBe(0x04);
    expect(inb(RBR)).toBe(2);
    expect(inb(IIR)).toBe(0x02); // the THR writes re-armed THRE
    expect(inb(IIR)).toBe(0x00); // modem status: DCD changed
    expect(inb(MSR)).toBe(0x38);
    expect(inb(IIR)).toBe(0x01);
  });

  it("IRQ4 follows the interrupt only while OUT2 is set and loopback is off", () => {
    init();
    out(MCR, 0x03);
    out(IER, 0x02);
    expect(irq.level).toBe(false);
    out(MCR, 0x0b);
    expect(irq.level).toBe(true);
    inb(IIR);
    expect(irq.level).toBe(false);
    out(THR, 0x21); // the byte leaves at once: THR empty again
    expect(irq.level).toBe(true);
    out(IER, 0);
    expect(irq.level).toBe(false);
  });

  it("loopback: transmitted bytes are received, nothing reaches the line, MSR mirrors MCR", () => {
    init();
    out(MCR, 0x1b); // loop, OUT2, RTS, DTR
    expect(inb(MSR) & 0xf0).toBe(0xb0); // DCD (OUT2), DSR (DTR), CTS (RTS)
    out(MCR, 0x14); // loop, OUT1 only
    expect(inb(MSR) & 0xf0).toBe(0x40);
    out(MCR, 0x10);
    expect(inb(MSR)).toBe(0x04); // RI's trailing edge
    for (const b of [0x78, 0x79, 0x7a]) out(THR, b);
    expect([inb(RBR), inb(RBR), inb(RBR)]).toEqual([0x78, 0x79, 0x7a]);
    expect(sent).toEqual([]);
    // Host input waits while the receiver is looped back.
    uart.receive([0x31]);
    expect(inb(LSR) & 1).toBe(0);
    out(MCR, 0x0b);
    expect(inb(RBR)).toBe(0x31);
  });

  it("FIFO trigger levels: received-data interrupt at 1, 4, 8, 14 bytes", () => {
    for (const [fcr, level] of [
      [0x07, 1],
      [0x47, 4],
      [0x87, 8],
      [0xc7, 14],
    ]) {
      init(fcr);
      out(IER, 0x01);
      uart.receive(new Array(level - 1).fill(0x61));
      expect(inb(IIR) & 0x0f, `trigger ${level}: below`).toBe(0x01);
      uart.receive([0x62]);
      expect(inb(IIR) & 0x0f, `trigger ${level}: at`).toBe(0x04);
      out(FCR, fcr | 0x02); // clear the receive FIFO
      expect(inb(LSR) & 1).toBe(0);
    }
  });

  it("character timeout: data below the trigger level interrupts four character times after the last activity", () => {
    init(0x87); // trigger at 8
    out(IER, 0x01);
    uart.receive([0x61, 0x62]);
    const four = 4 * uart.characterTimeNs();
    expect(uart.nextDeadline(clock.t)).toBeCloseTo(four, 6);
    clock.t = four - 1;
    uart.tick(clock.t);
    expect(inb(IIR) & 0x0f).toBe(0x01);
    clock.t = uart.nextDeadline(clock.t);
    uart.tick(clock.t);
    expect(inb(IIR) & 0x0f).toBe(0x0c);
    expect(irq.level).toBe(true);
    expect(inb(RBR)).toBe(0x61); // reading RBR clears the timeout and restarts its clock
    expect(inb(IIR) & 0x0f).toBe(0x01);
    expect(uart.nextDeadline(clock.t)).toBeCloseTo(clock.t + four, 6);
  });

  it("host input beyond the 16-byte FIFO waits instead of overrunning", () => {
    init();
    const text = "0123456789abcdefghij";
    uart.receive(Array.from(text, (c) => c.charCodeAt(0)));
    expect(uart.pendingInput).toBe(4);
    let got = "";
    while (inb(LSR) & 1) got += String.fromCharCode(inb(RBR));
    expect(got).toBe(text);
    expect(inb(LSR) & 0x02).toBe(0);
  });

  it("modem status interrupt when the far end's lines change", () => {
    init();
    out(IER, 0x08);
    uart.setModemLines(0x30); // DCD drops
    expect(inb(IIR) & 0x0f).toBe(0x00);
    expect(inb(MSR)).toBe(0x38);
    expect(inb(IIR) & 0x0f).toBe(0x01);
  });

  it("save/restore round-trips through JSON and rejects non-byte FIFO contents", () => {
    init();
    uart.receive([1, 2, 3]);
    const saved = JSON.parse(JSON.stringify(uart.save()));
    const other = new Uart16550(clock, () => {}, () => {});
    other.restore(saved);
    expect(other.save()).toEqual(saved);
    expect(() => other.restore({ ...saved, rx: [300] })).toThrow(/rx is not an array of bytes/);
  });
});
