// National Semiconductor / TI 16550A UART (PC16550D data sheet), eight ports: RBR/THR/DLL,
// IER/DLM, IIR/FCR, LCR, MCR, LSR, MSR, SCR. Its INTR output reaches the IRQ line only while MCR
// OUT2 is set and loopback is off: that is how the PC wires it (OUT2 enables the IRQ driver),
// and why PC drivers (Linux's 8250, our uart guest) set OUT2.
//
// The line is infinitely fast in the transmit direction: a byte written to THR is handed to
// the sink at once, so THR and the transmitter are always empty again by the next instruction
// (LSR THRE and TEMT read 1, and the THRE interrupt re-arms after each write, as after a real
// FIFO drain). Received bytes wait in a host-side queue and enter the receive FIFO as room
// allows while MCR RTS is set (the far end obeys RTS/CTS flow control), so the guest never
// sees an overrun from host input, nor loses input sent before its driver was ready; the character-timeout interrupt
// fires four character times (at the programmed baud rate, in virtual time) after the last
// FIFO activity, as the data sheet says.

import {
  type AccessWidth,
  type DeadlineChanged,
  type IrqLine,
  type PortDevice,
  type TimeSource,
  type TimedDevice,
  WIDTH_8,
  checkedState,
  copyState,
  noDeadlineChange,
} from "./device.js";

/** The 16550A's reference clock: 1.8432 MHz, divided by 16 × divisor to give the bit rate. */
export const UART_CLOCK_HZ = 1843200;

// Register offsets (DLAB = 0 unless noted).
export const UART_RBR = 0;
export const UART_THR = 0;
export const UART_DLL = 0; // DLAB = 1
export const UART_IER = 1;
export const UART_DLM = 1; // DLAB = 1
export const UART_IIR = 2;
export const UART_FCR = 2;
export const UART_LCR = 3;
export const UART_MCR = 4;
export const UART_LSR = 5;
export const UART_MSR = 6;
export const UART_SCR = 7;

export const IER_RDA = 0x01;
export const IER_THRE = 0x02;
export const IER_RLS = 0x04;
export const IER_MS = 0x08;

export const IIR_NONE = 0x01;
export const IIR_MS = 0x00;
export const IIR_THRE = 0x02;
export const IIR_RDA = 0x04;
export const IIR_RLS = 0x06;
export const IIR_TIMEOUT = 0x0c;
export const IIR_FIFO = 0xc0;

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_PE = 0x04;
export const LSR_FE = 0x08;
export const LSR_BI = 0x10;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;
export const LSR_FIFO_ERROR = 0x80;

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;

const FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];

export interface Uart16550State {
  ier: number;
  lcr: number;
  mcr: number;
  /** LSR error bits (OE, PE, FE, BI) not yet read; DR/THRE/TEMT are derived. */
  lsrErrors: number;
  /** MSR delta bits (low nibble) not yet read. */
  msrDeltas: number;
  /** The modem status inputs from the far end (CTS, DSR, RI, DCD as MSR bits 4–7). */
  modemLines: number;
  scr: number;
  dll: number;
  dlm: number;
  fifoEnabled: boolean;
  triggerLevel: number;
  /** Receive FIFO (or the RBR alone, with FIFOs off), oldest first. */
  rx: number[];
  /** The last byte read from the receiver, which an empty RBR reads as again. */
  lastRead: number;
  /** THRE interrupt latch: set when THR empties, cleared by an IIR read that reports it or a THR write. */
  thrInterrupt: boolean;
  /** Character timeout indication (IIR 0x0C), cleared by reading RBR. */
  timeout: boolean;
  /** Virtual ns at which the character timeout fires, -1 for none. */
  timeoutAt: number;
  /** Bytes from the host not yet received (they enter the FIFO as room allows). */
  input: number[];
}

function freshState(): Uart16550State {
  return {
    ier: 0,
    lcr: 0,
    mcr: 0,
    lsrErrors: 0,
    msrDeltas: 0,
    modemLines: MSR_CTS | MSR_DSR | MSR_DCD,
    scr: 0,
    dll: 12,
    dlm: 0,
    fifoEnabled: false,
    triggerLevel: 1,
    rx: [],
    lastRead: 0,
    thrInterrupt: false,
    timeout: false,
    timeoutAt: -1,
    input: [],
  };
}

export class Uart16550 implements PortDevice, TimedDevice {
  readonly portCount = 8;
  readonly widths = WIDTH_8;
  s: Uart16550State = freshState();
  private irqLevel = false;

  constructor(
    private readonly clock: TimeSource,
    private readonly irq: IrqLine,
    /** Each transmitted byte, in order. */
    private readonly sink: (byte: number) => void,
    private readonly deadlineChanged: DeadlineChanged = noDeadlineChange,
    readonly name = "16550A UART",
  ) {}

  /** Master reset (data sheet table "UART Reset Configuration"); host input still waiting stays queued. */
  reset(): void {
    const input = this.s.input;
    const scr = this.s.scr;
    this.s = freshState();
    this.s.input = input;
    this.s.scr = scr; // SCR is not affected by MR
    this.update();
  }

  // ---- host side ----------------------------------------------------------------------------

  /** Bytes arriving on the serial line from the host. */
  receive(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.s.input.push(bytes[i] & 0xff);
    this.pullInput();
    this.update();
  }

  /** Bytes received from the host and not yet in the guest's FIFO. */
  get pendingInput(): number {
    return this.s.input.length;
  }

  /** Set the far end's modem lines (MSR bits 4–7: CTS, DSR, RI, DCD). */
  setModemLines(lines: number): void {
    const before = this.msrInputs();
    this.s.modemLines = lines & 0xf0;
    this.noteMsrChange(before);
    this.update();
  }

  // ---- derived registers --------------------------------------------------------------------

  private get loop(): boolean {
    return (this.s.mcr & MCR_LOOP) !== 0;
  }

  private get capacity(): number {
    return this.s.fifoEnabled ? FIFO_SIZE : 1;
  }

  /** MSR bits 4–7: in loopback, DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD (data sheet "MCR bit 4"). */
  private msrInputs(): number {
    const m = this.s.mcr;
    if (!this.loop) return this.s.modemLines;
    return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) | (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
  }

  private noteMsrChange(before: number): void {
    const after = this.msrInputs();
    const changed = before ^ after;
    if (changed & MSR_CTS) this.s.msrDeltas |= MSR_DCTS;
    if (changed & MSR_DSR) this.s.msrDeltas |= MSR_DDSR;
    if (changed & MSR_DCD) this.s.msrDeltas |= MSR_DDCD;
    if (before & MSR_RI && !(after & MSR_RI)) this.s.msrDeltas |= MSR_TERI; // trailing edge only
  }

  private lsr(): number {
    const s = this.s;
    let v = s.lsrErrors | LSR_THRE | LSR_TEMT;
    if (s.rx.length > 0) v |= LSR_DR;
    if (s.fifoEnabled && s.lsrErrors & (LSR_PE | LSR_FE | LSR_BI)) v |= LSR_FIFO_ERROR;
    return v;
  }

  /** The highest-priority pending interrupt in IIR bits 0–3 (data sheet table "Interrupt Control Functions"). */
  private interruptId(): number {
    const s = this.s;
    if (s.ier & IER_RLS && s.lsrErrors & (LSR_OE | LSR_PE | LSR_FE | LSR_BI)) return IIR_RLS;
    if (s.ier & IER_RDA) {
      if (s.rx.length >= (s.fifoEnabled ? s.triggerLevel : 1)) return IIR_RDA;
      if (s.timeout) return IIR_TIMEOUT;
    }
    if (s.ier & IER_THRE && s.thrInterrupt) return IIR_THRE;
    if (s.ier & IER_MS && s.msrDeltas & 0x0f) return IIR_MS;
    return IIR_NONE;
  }

  private update(): void {
    const level = this.interruptId() !== IIR_NONE && (this.s.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }

  /** Nanoseconds one character takes on the line: start, data, parity and stop bits at the divisor's rate. */
  characterTimeNs(): number {
    const s = this.s;
    const divisor = s.dll | (s.dlm << 8) || 0x10000;
    const data = 5 + (s.lcr & 3);
    const stop = s.lcr & 4 ? (data === 5 ? 1.5 : 2) : 1;
    const bits = 1 + data + (s.lcr & 8 ? 1 : 0) + stop;
    return (bits * 16 * divisor * 1e9) / UART_CLOCK_HZ;
  }

  // ---- receiver -----------------------------------------------------------------------------

  /** A character reached the receiver (from the line or, in loopback, from the transmitter). */
  private rxByte(byte: number): void {
    const s = this.s;
    if (s.rx.length < this.capacity) s.rx.push(byte);
    else if (!s.fifoEnabled) {
      s.rx[0] = byte; // the unread RBR is overwritten
      s.lsrErrors |= LSR_OE;
    } else s.lsrErrors |= LSR_OE; // the character in the shift register is lost
    this.rxActivity();
  }

  private pullInput(): void {
    const s = this.s;
    if (this.loop) return; // loopback disconnects the receiver from the line
    // The far end honours RTS/CTS flow control: it sends only while the UART asserts RTS. A
    // driver raises RTS once it is ready to receive (Linux's 8250 does when the tty is opened,
    // after its startup has cleared the FIFOs), so input queued at power-on is not lost to a
    // probe or a FIFO reset before anyone reads it.
    if ((s.mcr & MCR_RTS) === 0) return;
    let moved = false;
    while (s.input.length > 0 && s.rx.length < this.capacity) {
      s.rx.push(s.input.shift()!);
      moved = true;
    }
    if (moved) this.rxActivity();
  }

  /** A character entered or left the FIFO: the timeout clock restarts (data sheet "FIFO Interrupt Mode Operation"). */
  private rxActivity(): void {
    const s = this.s;
    s.timeout = false;
    if (!s.fifoEnabled || s.rx.length === 0) {
      s.timeoutAt = -1;
      return;
    }
    const wasArmed = s.timeoutAt >= 0;
    s.timeoutAt = this.clock.now() + 4 * this.characterTimeNs();
    if (!wasArmed) this.deadlineChanged();
  }

  private clearRx(): void {
    this.s.rx.length = 0;
    this.s.timeout = false;
    this.s.timeoutAt = -1;
  }

  // ---- PortDevice ---------------------------------------------------------------------------

  read(offset: number, _width: AccessWidth): number {
    const s = this.s;
    let v: number;
    switch (offset & 7) {
      case 0:
        if (s.lcr & LCR_DLAB) return s.dll;
        if (s.rx.length > 0) s.lastRead = s.rx.shift()!;
        v = s.lastRead;
        if (s.rx.length === 0) s.lsrErrors &= ~LSR_OE;
        this.rxActivity();
        this.pullInput();
        break;
      case 1:
        return s.lcr & LCR_DLAB ? s.dlm : s.ier;
      case 2: {
        const id = this.interruptId();
        // Reading IIR while it reports THRE is what acknowledges that interrupt.
        if (id === IIR_THRE) s.thrInterrupt = false;
        v = id | (s.fifoEnabled ? IIR_FIFO : 0);
        break;
      }
      case 3:
        return s.lcr;
      case 4:
        return s.mcr;
      case 5:
        v = this.lsr();
        s.lsrErrors = 0; // reading LSR clears OE, PE, FE, BI
        break;
      case 6:
        v = this.msrInputs() | s.msrDeltas;
        s.msrDeltas = 0;
        break;
      default:
        return s.scr;
    }
    this.update();
    return v;
  }

  write(offset: number, value: number, _width: AccessWidth): void {
    const s = this.s;
    value &= 0xff;
    switch (offset & 7) {
      case 0:
        if (s.lcr & LCR_DLAB) {
          s.dll = value;
          return;
        }
        s.thrInterrupt = false;
        if (this.loop) this.rxByte(value);
        else this.sink(value);
        // The byte left THR (and the transmitter) at once: THR is empty again.
        s.thrInterrupt = true;
        break;
      case 1:
        if (s.lcr & LCR_DLAB) {
          s.dlm = value;
          return;
        }
        // Enabling the THRE interrupt while THR is empty raises it at once.
        if (value & IER_THRE && !(s.ier & IER_THRE)) s.thrInterrupt = true;
        s.ier = value & 0x0f;
        break;
      case 2: {
        const enable = (value & 0x01) !== 0;
        if (enable !== s.fifoEnabled) {
          s.fifoEnabled = enable;
          this.clearRx(); // changing FCR bit 0 resets both FIFOs
        }
        if (enable) {
          if (value & 0x02) this.clearRx();
          s.triggerLevel = TRIGGER_LEVELS[value >> 6];
        }
        this.pullInput();
        break;
      }
      case 3:
        s.lcr = value;
        return;
      case 4: {
        const before = this.msrInputs();
        const wasLoop = this.loop;
        s.mcr = value & 0x1f;
        this.noteMsrChange(before);
        if (!this.loop) this.pullInput(); // loopback ended, or RTS rose
        break;
      }
      case 5:
      case 6:
        return; // LSR and MSR are read-only here (factory test writes are not modelled)
      default:
        s.scr = value;
        return;
    }
    this.update();
  }

  // ---- TimedDevice --------------------------------------------------------------------------

  nextDeadline(now: number): number {
    const t = this.s.timeoutAt;
    if (t < 0) return Infinity;
    return t > now ? t : now;
  }

  tick(now: number): void {
    const s = this.s;
    if (s.timeoutAt >= 0 && now >= s.timeoutAt) {
      s.timeoutAt = -1;
      if (s.rx.length > 0 && s.fifoEnabled) s.timeout = true;
      this.update();
    }
  }

  save(): Uart16550State {
    return copyState(this.s);
  }

  restore(state: unknown): void {
    const fresh: Uart16550State = freshState();
    // The byte arrays vary in length, so they are checked here rather than by shape.
    const s: Uart16550State = checkedState(this.name, fresh, { ...(state as object), rx: [], input: [] });
    const src = state as Uart16550State;
    const bytes = (a: unknown, what: string) => {
      if (!Array.isArray(a) || a.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new Error(`${this.name}: cannot restore: ${what} is not an array of bytes`);
      return a.slice() as number[];
    };
    s.rx = bytes(src.rx, "rx").slice(0, FIFO_SIZE);
    s.input = bytes(src.input, "input");
    this.s = s;
    this.irqLevel = false;
    this.irq(false);
    this.update();
    this.deadlineChanged();
  }
}
