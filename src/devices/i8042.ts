// The PC AT keyboard controller (Intel 8042 running IBM's firmware) with a keyboard attached and
// no mouse: port 0 (0x60) is the data port (output buffer / input buffer as data), port 4 (0x64)
// the status register / input buffer as a command. Command and status meanings are the IBM PC AT
// Technical Reference's ("Keyboard Controller") and the PS/2 additions for the auxiliary port;
// the keyboard's replies are the IBM keyboard's ("Keyboard Commands").
//
// The 8042 decodes address line A2 only, so its two ports are 0x60 and 0x64 with 0x61 (system
// control port B) between them: the controller is two one-port devices on the bus, `dataPort`
// and `commandPort`, over one state. read()/write() take the offset from 0x60 (0 or 4), as if
// it sat on A2, for tests that poke it directly.
//
// Replies go through one queue standing in for the output buffer and the keyboard's own
// transmit buffer: each byte is presented in turn, and IRQ1 (keyboard bytes) or IRQ12 (aux
// bytes) follows "output buffer full" when the command byte enables it. Nothing here depends on
// time: the controller and keyboard answer at once. No scancode input yet.

import { type AccessWidth, type IrqLine, type PortDevice, WIDTH_8, checkedState, copyState, noIrq } from "./device.js";

/** Status register bits (IBM AT TR, "Status-Register Bit Definition"). */
export const ST_OBF = 0x01;
export const ST_IBF = 0x02;
export const ST_SYS = 0x04;
/** The last write to the input buffer was a command (port 0x64), not data. */
export const ST_CMD = 0x08;
/** Keyboard inhibit switch: 1 = not inhibited. */
export const ST_UNLOCKED = 0x10;
/** PS/2: the byte in the output buffer came from the auxiliary device. */
export const ST_AUX = 0x20;

/** Command byte bits (controller RAM byte 0). */
export const CB_KBD_INT = 0x01;
export const CB_AUX_INT = 0x02;
export const CB_SYS = 0x04;
export const CB_KBD_DISABLE = 0x10;
export const CB_AUX_DISABLE = 0x20;
export const CB_XLATE = 0x40;

/** Output port bits (IBM AT TR, "Output Port Definition"). */
export const OUT_RESET = 0x01; // 0 = reset the system processor
export const OUT_A20 = 0x02;
const OUT_OBF_KBD = 0x10;
const OUT_OBF_AUX = 0x20;

/** Keyboard replies. */
export const KBD_ACK = 0xfa;
export const KBD_BAT_OK = 0xaa;
export const AUX_RESEND = 0xfe;

export interface I8042State {
  /** Controller RAM (32 bytes, commands 0x20–0x3F / 0x60–0x7F); byte 0 is the command byte. */
  ram: number[];
  /** Bytes waiting to be read from port 0x60, oldest first: [byte, fromAux (0/1)] pairs flattened. */
  queue: number[];
  /** The byte last read from the output buffer (what a read of an empty buffer returns). */
  last: number;
  /** Which controller command waits for its data byte on port 0x60 (0 = none: data goes to the keyboard). */
  pendingCommand: number;
  /** Which keyboard command waits for its parameter byte (0 = none). */
  pendingKeyboard: number;
  /** Status bit 3: the last input-buffer write was a command. */
  lastWasCommand: boolean;
  /** Output port bits other than the two buffer-full bits (computed). */
  outputPort: number;
  /** The keyboard is scanning (enabled by 0xF4, disabled by 0xF5). */
  scanning: boolean;
  /** The level IRQ1 and IRQ12 are driven at. */
  irq1: boolean;
  irq12: boolean;
}

function freshState(): I8042State {
  const ram = new Array<number>(32).fill(0);
  // What a PC BIOS leaves: keyboard interrupt on, system flag set (POST passed), scancode
  // translation on, the aux port's clock off.
  ram[0] = CB_KBD_INT | CB_SYS | CB_XLATE | CB_AUX_DISABLE;
  return {
    ram,
    queue: [],
    last: 0,
    pendingCommand: 0,
    pendingKeyboard: 0,
    lastWasCommand: false,
    // Reset line high (running), A20 enabled, keyboard clock and data lines idle high.
    outputPort: 0xc0 | OUT_A20 | OUT_RESET,
    scanning: true,
    irq1: false,
    irq12: false,
  };
}

/** One of the controller's two ports, as the bus sees it. */
class I8042Port implements PortDevice {
  readonly portCount = 1;
  readonly widths = WIDTH_8;

  constructor(
    readonly name: string,
    private readonly controller: I8042,
    private readonly offset: 0 | 4,
  ) {}

  /** The data port's RESET resets the controller; the command port has no state of its own. */
  reset(): void {
    if (this.offset === 0) this.controller.reset();
  }

  read(_offset: number, width: AccessWidth): number {
    return this.controller.read(this.offset, width);
  }

  write(_offset: number, value: number, width: AccessWidth): void {
    this.controller.write(this.offset, value, width);
  }

  /** The controller's state is saved through the controller (Machine.saveDevices). */
  save(): null {
    return null;
  }

  restore(_state: unknown): void {}
}

export class I8042 {
  readonly name = "8042 keyboard controller";
  s: I8042State = freshState();
  /** Port 0x60: output buffer / input buffer as data. */
  readonly dataPort: PortDevice;
  /** Port 0x64: status register / input buffer as a command. */
  readonly commandPort: PortDevice;

  constructor(
    /** Runs when the guest pulses the reset line (output port bit 0 low): the machine reports a reset. */
    private readonly resetRequest: () => void,
    private readonly irq1: IrqLine = noIrq,
    private readonly irq12: IrqLine = noIrq,
  ) {
    this.dataPort = new I8042Port("8042 keyboard controller (data)", this, 0);
    this.commandPort = new I8042Port("8042 keyboard controller (status/command)", this, 4);
  }

  reset(): void {
    this.s = freshState();
    this.irq1(false);
    this.irq12(false);
  }

  /** The command byte (controller RAM byte 0). */
  get commandByte(): number {
    return this.s.ram[0];
  }

  /** The A20 gate as output port bit 1 last set it (remembered only: the core does not mask A20). */
  get a20(): boolean {
    return (this.s.outputPort & OUT_A20) !== 0;
  }

  // ---- the output buffer ---------------------------------------------------------------------

  private push(byte: number, aux: boolean): void {
    this.s.queue.push(byte & 0xff, aux ? 1 : 0);
    this.updateIrq();
  }

  private keyboardReply(...bytes: number[]): void {
    for (const b of bytes) this.push(b, false);
  }

  /**
   * IRQ1 is "output buffer full with a keyboard byte" gated by command byte bit 0, IRQ12 the same
   * for aux bytes and bit 1. A new byte reaching the buffer is a new rising edge.
   */
  private updateIrq(forceEdge = false): void {
    const s = this.s;
    const full = s.queue.length > 0;
    const aux = full && s.queue[1] === 1;
    const l1 = full && !aux && (s.ram[0] & CB_KBD_INT) !== 0;
    const l12 = aux && (s.ram[0] & CB_AUX_INT) !== 0;
    if (forceEdge && s.irq1) {
      s.irq1 = false;
      this.irq1(false);
    }
    if (forceEdge && s.irq12) {
      s.irq12 = false;
      this.irq12(false);
    }
    if (l1 !== s.irq1) {
      s.irq1 = l1;
      this.irq1(l1);
    }
    if (l12 !== s.irq12) {
      s.irq12 = l12;
      this.irq12(l12);
    }
  }

  private status(): number {
    const s = this.s;
    let v = ST_UNLOCKED;
    if (s.queue.length > 0) v |= ST_OBF | (s.queue[1] === 1 ? ST_AUX : 0);
    if (s.ram[0] & CB_SYS) v |= ST_SYS;
    if (s.lastWasCommand) v |= ST_CMD;
    return v; // IBF is always 0: every write is taken at once
  }

  // ---- controller commands (port 0x64) -------------------------------------------------------

  private command(cmd: number): void {
    const s = this.s;
    s.pendingCommand = 0;
    if (cmd >= 0x20 && cmd <= 0x3f) {
      this.keyboardReply(s.ram[cmd & 0x1f]); // read controller RAM (0x20: the command byte)
      return;
    }
    if (cmd >= 0x60 && cmd <= 0x7f) {
      s.pendingCommand = cmd; // write controller RAM: the data byte follows
      return;
    }
    // 0xF0–0xFF pulse the output port's low four bits for 6 µs where the command has a 0 bit;
    // bit 0 is the system reset line (IBM AT TR, command 0xFX).
    if (cmd >= 0xf0) {
      if ((cmd & 1) === 0) this.resetRequest();
      return;
    }
    switch (cmd) {
      case 0xa7: // disable the aux interface (PS/2): sets command byte bit 5
        s.ram[0] |= CB_AUX_DISABLE;
        break;
      case 0xa8:
        s.ram[0] &= ~CB_AUX_DISABLE;
        break;
      case 0xa9: // aux interface test: 0 = no error
        this.keyboardReply(0x00);
        break;
      case 0xaa: // self test: 0x55 = passed
        this.keyboardReply(0x55);
        break;
      case 0xab: // keyboard interface test: 0 = no error
        this.keyboardReply(0x00);
        break;
      case 0xad: // disable keyboard: sets command byte bit 4
        s.ram[0] |= CB_KBD_DISABLE;
        break;
      case 0xae:
        s.ram[0] &= ~CB_KBD_DISABLE;
        break;
      case 0xc0: // read input port: bit 7 keyboard not inhibited, bit 5 no manufacturing jumper
        this.keyboardReply(0xa0);
        break;
      case 0xd0: {
        // Read output port; bits 4/5 show the output buffer holding a keyboard / aux byte.
        const q = s.queue;
        const full = q.length > 0 ? (q[1] === 1 ? OUT_OBF_AUX : OUT_OBF_KBD) : 0;
        this.keyboardReply((s.outputPort & ~(OUT_OBF_KBD | OUT_OBF_AUX)) | full);
        break;
      }
      case 0xd1: // write output port: data follows
      case 0xd2: // write keyboard output buffer (as if the keyboard sent it)
      case 0xd3: // write aux output buffer
      case 0xd4: // write to the aux device
        s.pendingCommand = cmd;
        break;
      case 0xdd: // A20 off / on (commands some controllers add)
        s.outputPort &= ~OUT_A20;
        break;
      case 0xdf:
        s.outputPort |= OUT_A20;
        break;
      default:
        break; // unknown commands are ignored
    }
  }

  /** A data byte for the controller command that asked for one. */
  private commandData(cmd: number, v: number): void {
    const s = this.s;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      s.ram[cmd & 0x1f] = v;
      if (cmd === 0x60) this.updateIrq();
      return;
    }
    switch (cmd) {
      case 0xd1:
        s.outputPort = v;
        if ((v & OUT_RESET) === 0) this.resetRequest();
        break;
      case 0xd2:
        this.push(v, false);
        break;
      case 0xd3:
        this.push(v, true);
        break;
      case 0xd4:
        // No mouse: the byte is not acknowledged; the aux port answers "resend".
        this.push(AUX_RESEND, true);
        break;
    }
  }

  // ---- the keyboard (data written to port 0x60 with no command pending) ----------------------

  private keyboard(v: number): void {
    const s = this.s;
    const pending = s.pendingKeyboard;
    if (pending !== 0) {
      s.pendingKeyboard = 0;
      // Parameter bytes: LED state (0xED), typematic rate (0xF3), scancode set (0xF0: 0 asks).
      this.keyboardReply(KBD_ACK);
      if (pending === 0xf0 && v === 0) this.keyboardReply(s.ram[0] & CB_XLATE ? 0x41 : 0x02);
      return;
    }
    switch (v) {
      case 0xed:
      case 0xf3:
      case 0xf0:
        s.pendingKeyboard = v;
        this.keyboardReply(KBD_ACK);
        break;
      case 0xee: // echo
        this.keyboardReply(0xee);
        break;
      case 0xf2: // identify: an MF2 keyboard
        this.keyboardReply(KBD_ACK, 0xab, 0x83);
        break;
      case 0xf4:
        s.scanning = true;
        this.keyboardReply(KBD_ACK);
        break;
      case 0xf5: // disable: also restores the defaults
        s.scanning = false;
        this.keyboardReply(KBD_ACK);
        break;
      case 0xff: // reset: acknowledge, then the basic assurance test passes
        s.scanning = true;
        this.keyboardReply(KBD_ACK, KBD_BAT_OK);
        break;
      default: // 0xF6 set defaults and the rest: acknowledged
        this.keyboardReply(KBD_ACK);
    }
  }

  // ---- PortDevice ----------------------------------------------------------------------------

  /** A read at offset 0 (port 0x60) or 4 (port 0x64). */
  read(offset: number, _width: AccessWidth): number {
    const s = this.s;
    if (offset === 4) return this.status();
    if (offset !== 0) return 0xff;
    if (s.queue.length > 0) {
      s.last = s.queue[0];
      s.queue.splice(0, 2);
      // Reading empties the buffer (IRQ falls); the next byte is a new buffer-full edge.
      this.updateIrq(true);
    }
    return s.last;
  }

  /** A write at offset 0 (port 0x60) or 4 (port 0x64). */
  write(offset: number, value: number, _width: AccessWidth): void {
    value &= 0xff;
    const s = this.s;
    if (offset === 4) {
      s.lastWasCommand = true;
      this.command(value);
      return;
    }
    if (offset !== 0) return;
    s.lastWasCommand = false;
    const cmd = s.pendingCommand;
    if (cmd !== 0) {
      s.pendingCommand = 0;
      this.commandData(cmd, value);
    } else this.keyboard(value);
  }

  save(): I8042State {
    return copyState(this.s);
  }

  restore(state: unknown): void {
    // The queue's length varies: check it on its own, the rest against a fresh state.
    const queue = (state as { queue?: unknown } | null)?.queue;
    if (!Array.isArray(queue) || queue.length % 2 !== 0 || !queue.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xff)) {
      throw new Error(`${this.name}: cannot restore: state.queue is not a list of byte/source pairs`);
    }
    const st = checkedState(this.name, freshState(), { ...(state as object), queue: [] });
    st.queue = queue.slice() as number[];
    this.s = st;
    this.irq1(st.irq1);
    this.irq12(st.irq12);
  }
}
