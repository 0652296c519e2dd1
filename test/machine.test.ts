// The Machine: board wiring, the run loop's stop reasons, and a hand-assembled guest that
// programs the PIT and PIC and counts IRQ0s, checked against the programmed rate in virtual time.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as L from "../assembly/layout.js";
import { Machine } from "../src/machine.js";
import { PIT_HZ } from "../src/devices/pit8254.js";
import { NASM, requiresTool } from "./support/requires-tool.js";

const here = dirname(fileURLToPath(import.meta.url));
const MEM = 2 << 20;
const LOAD = 0x10000;

// test/machine/irq0.asm, assembled with `nasm -f bin` (the last test checks these bytes against it).
// It builds an IDT at 0x20000 (vector 0x20 → irq0, all others → exit 0x55), initializes the
// PIT counter 0 in mode 2 with divisor 1193 (1000.15 Hz), then the 8259A pair (ICW1 0x11,
// vectors 0x20/0x28, cascade on IR2, 8086 mode, only IRQ0 unmasked), STI, and waits for 100 IRQ0s
// in HLT (EBX = 0) or spinning (EBX != 0); the handler counts and sends a non-specific EOI.
// Then CLI and OUT 0xF4 with 0x2A.
const IRQ0_GUEST =
  "bc009000000f0115c0000100bf00000200b900010000b8a0000100668907c747020800008ec1e8106689470683c708e2e5b8930001" +
  "0066a300010200c1e81066a3060102000f011dc6000100b034e64366b8a904e64088e0e640b011e620e6a0b020e621b028e6a1b004" +
  "e621b002e6a1b001e621e6a1b0fee621b0ffe6a1fb85db7501f4833dcc0001006472f2fab02ae6f4f4ff05cc00010050b020e62058" +
  "cfb055e6f4faf490900000000000000000ffff0000009acf00ffff00000092cf001700a8000100ff070000020000000000";
const TICKS_ADDR = 0x100cc;
const DIVISOR = 1193;

async function machineWith(code: string, opts: { deterministic?: boolean; ebx?: number } = {}): Promise<Machine> {
  const m = await Machine.create({ memSize: MEM, deterministic: opts.deterministic ?? true });
  m.ram.set(Buffer.from(code, "hex"), LOAD);
  m.core.enterFlatProtectedMode(LOAD);
  m.core.setReg(L.REG_EBX, opts.ebx ?? 0);
  return m;
}

function ticks(m: Machine): number {
  return new DataView(m.ram.buffer, m.ram.byteOffset).getUint32(TICKS_ADDR, true);
}

describe("Machine", () => {
  it("creates the core with guest RAM and wires the PC devices at their ports", async () => {
    const m = await Machine.create({ memSize: MEM, deterministic: true });
    expect(m.ram.length).toBe(MEM);
    expect(m.ram.byteOffset).toBe(L.RAM_BASE);
    expect(m.bus.deviceAt(0x20)).toBe(m.pic.master);
    expect(m.bus.deviceAt(0xa1)).toBe(m.pic.slave);
    expect(m.bus.deviceAt(0x4d1)).toBe(m.pic.elcr);
    expect(m.bus.deviceAt(0x43)).toBe(m.pit);
    expect(m.bus.deviceAt(0x3ff)).toBe(m.uart);
    expect(m.bus.deviceAt(0xf4)).toBe(m.debugExit);
    expect(m.bus.deviceAt(0x61)).toBe(m.systemControlB);
    expect(m.bus.deviceAt(0x92)).toBe(m.systemControlA);
    expect(m.bus.deviceAt(0x80)).toBe(m.postCode);
    expect(m.bus.deviceAt(0x2f8)).toBe(null);
    expect(m.serialOutput).toBe("");
    expect(m.core.intr).toBe(false);
  });

  it("stops on HLT with interrupts disabled, with the EIP in the message", async () => {
    const m = await machineWith("faf4"); // cli; hlt
    const r = await m.run({ maxInstructions: 1000 });
    expect(r.reason).toBe("hlt-disabled");
    expect(r.message).toContain("EIP=0x00010002");
    expect(r.instructions).toBe(2);
  });

  it("stops after maxInstructions", async () => {
    const m = await machineWith("ebfe"); // jmp $
    const r = await m.run({ maxInstructions: 12345 });
    expect(r.reason).toBe("max-instructions");
    expect(r.instructions).toBe(12345);
    expect(r.counters.instructions).toBe(12345);
    expect(r.mips).toBeGreaterThan(0);
  });

  it("stops on the wall-clock timeout", async () => {
    const m = await machineWith("ebfe");
    const r = await m.run({ wallTimeoutMs: 50 });
    expect(r.reason).toBe("timeout");
    expect(r.wallMs).toBeGreaterThanOrEqual(50);
  });

  it("debug-exit: OUT 0xF4 of v stops with (v << 1) | 1, also as the last instruction of a slice", async () => {
    // mov eax, 0x12345678; out 0xf4, eax; jmp $
    const code = "b878563412" + "e7f4" + "ebfe";
    const m = await machineWith(code);
    const r = await m.run({ maxInstructions: 1000 });
    expect(r).toMatchObject({ reason: "debug-exit", exitCode: 0x12345678 * 2 + 1, instructions: 2 });
    const m2 = await machineWith(code);
    const r2 = await m2.run({ maxInstructions: 2 });
    expect(r2).toMatchObject({ reason: "debug-exit", exitCode: 0x12345678 * 2 + 1, instructions: 2 });
  });

  it("reports a reset requested through port 0x92 bit 0", async () => {
    const m = await machineWith("b001e692ebfe"); // mov al,1; out 0x92,al; jmp $
    const r = await m.run({ maxInstructions: 1000 });
    expect(r.reason).toBe("reset");
  });

  it("reports a triple fault with its EIP", async () => {
    // lidt [0x10010] (limit 0, base 0); ud2 → #UD's gate is past the limit: #GP → #DF → shutdown.
    const code = "0f011d10000100" + "0f0b" + "00".repeat(7) + "00".repeat(6);
    const m = await machineWith(code);
    const r = await m.run({ maxInstructions: 1000 });
    expect(r.reason).toBe("triple-fault");
    expect(r.message).toMatch(/^triple fault at EIP=0x[0-9a-f]{8}/);
  });

  it("HLT with IF=1 and no device able to wake it is 'idle' in deterministic mode", async () => {
    // Mask every IRQ, then sti; hlt. Only the UART's character timeout could fire, and it has no data.
    const code = "b0ffe621e6a1" + "fbf4" + "ebfe";
    const m = await machineWith(code);
    const r = await m.run({ maxInstructions: 1000, wallTimeoutMs: 10_000 });
    expect(r.reason).toBe("idle");
  });

  it("COM1 output reaches serialOutput, or the serialOut sink", async () => {
    // mov dx,0x3f8; mov al,'h'; out dx,al; mov al,'i'; out dx,al; cli; hlt
    const code = "66baf803" + "b068ee" + "b069ee" + "faf4";
    const m = await machineWith(code);
    await m.run({ maxInstructions: 100 });
    expect(m.serialOutput).toBe("hi");
    const got: number[] = [];
    const m2 = await Machine.create({ memSize: MEM, deterministic: true, serialOut: (b) => got.push(...b) });
    m2.ram.set(Buffer.from(code, "hex"), LOAD);
    m2.core.enterFlatProtectedMode(LOAD);
    await m2.run({ maxInstructions: 100 });
    expect(String.fromCharCode(...got)).toBe("hi");
  });

  it("unclaimed ports read all ones and are counted; unmapped MMIO reads all ones", async () => {
    // mov dx,0x2f8; in al,dx; mov ebx,eax; in eax,dx; mov ecx,[0xfff00000]; cli; hlt
    const code = "66baf802" + "ec" + "89c3" + "ed" + "8b0d0000f0ff" + "faf4";
    const m = await machineWith(code);
    m.core.setReg(L.REG_EAX, 0);
    const r = await m.run({ maxInstructions: 100 });
    expect(r.reason).toBe("hlt-disabled");
    expect(m.core.reg(L.REG_EBX)).toBe(0xff);
    expect(m.core.reg(L.REG_EAX)).toBe(0xffffffff);
    expect(m.core.reg(L.REG_ECX)).toBe(0xffffffff);
    expect(r.counters.unclaimedPortReads).toBe(5);
    expect(r.counters.mmioUnmappedReads).toBeGreaterThan(0);
  });

  it("IRQ0 through the PIC at the PIT's programmed rate in virtual time, HLT skipping ahead", async () => {
    const m = await machineWith(IRQ0_GUEST);
    const r = await m.run({ maxInstructions: 10_000_000 });
    expect(r).toMatchObject({ reason: "debug-exit", exitCode: 0x55 });
    expect(ticks(m)).toBe(100);
    expect(r.counters.interrupts).toBe(100);
    // 100 periods of 1193 input clocks, the first starting one clock after the count was written.
    const period = (DIVISOR * 1e9) / PIT_HZ;
    expect(r.counters.virtualNs).toBeGreaterThanOrEqual(100 * period);
    // …plus at most the time the guest spent executing (instructions and port accesses).
    const busy = r.instructions * m.clock.nsPerInstruction + (r.counters.portIn + r.counters.portOut) * m.clock.nsPerPortAccess;
    expect(r.counters.virtualNs).toBeLessThan(100 * period + busy);
    // HLT skipped the idle time: far fewer instructions than the 10 ms of spinning would take.
    expect(r.instructions).toBeLessThan(10_000);
  });

  it("IRQ0 at the programmed rate while the CPU spins, and identical counters on a second run", async () => {
    const a = await machineWith(IRQ0_GUEST, { ebx: 1 });
    const ra = await a.run({ maxInstructions: 50_000_000 });
    expect(ra).toMatchObject({ reason: "debug-exit", exitCode: 0x55 });
    expect(ticks(a)).toBe(100);
    // 100 ms of virtual time at 10 ns per instruction and 1 µs per port access.
    const io = (ra.counters.portIn + ra.counters.portOut) * a.clock.nsPerPortAccess;
    const expected = ((100 * DIVISOR * 1e9) / PIT_HZ - io) / a.clock.nsPerInstruction;
    expect(ra.instructions).toBeGreaterThan(expected * 0.999);
    expect(ra.instructions).toBeLessThan(expected * 1.001 + 1000);
    const b = await machineWith(IRQ0_GUEST, { ebx: 1 });
    const rb = await b.run({ maxInstructions: 50_000_000 });
    expect(rb.counters).toEqual(ra.counters);
    expect(rb.instructions).toBe(ra.instructions);
  });

  it("deterministic mode keeps the TSC a clock of virtual time, through port accesses and HLT", async () => {
    const m = await machineWith(IRQ0_GUEST);
    const r = await m.run({ maxInstructions: 10_000_000 });
    expect(r.reason).toBe("debug-exit");
    // rdtsc; cli; hlt — run after the guest stopped, at a known virtual time.
    m.ram.set(Buffer.from("0f31faf4", "hex"), 0x30000);
    m.core.eip = 0x30000;
    const t = m.clock.now();
    await m.run({ maxInstructions: 10 });
    const tsc = m.core.reg(L.REG_EAX) + m.core.reg(L.REG_EDX) * 2 ** 32;
    expect(Math.abs(tsc - t / m.clock.nsPerInstruction)).toBeLessThan(3);
  });

  it("deterministic mode: RDTSC counts port-access time at once, not only at slice ends", async () => {
    // mov ecx, 1000; rdtsc; mov esi, eax; mov edi, edx
    // loop: in al, 0x61; dec ecx; jnz loop
    // rdtsc; cli; hlt
    const m = await machineWith("b9e80300000f3189c689d7e4614975fb0f31faf4");
    const r = await m.run({ maxInstructions: 100_000 });
    expect(r.reason).toBe("hlt-disabled");
    const t0 = m.core.reg(L.REG_ESI) + m.core.reg(L.REG_EDI) * 2 ** 32;
    const t1 = m.core.reg(L.REG_EAX) + m.core.reg(L.REG_EDX) * 2 ** 32;
    // Between the two RDTSCs: 3 + 3 × 1000 instructions and 1000 port reads, each read
    // nsPerPortAccess / nsPerInstruction ticks long (a Linux kernel calibrates the TSC by
    // polling the PIT this way, so the two clocks must agree within a slice).
    const ticksPerPort = m.clock.nsPerPortAccess / m.clock.nsPerInstruction;
    expect(t1 - t0).toBe(3 + 3000 + 1000 * ticksPerPort);
  });

  it("real-time mode: HLT sleeps until the PIT's next tick, and the rate follows the wall clock", async () => {
    const m = await machineWith(IRQ0_GUEST, { deterministic: false });
    const r = await m.run({ wallTimeoutMs: 10_000 });
    expect(r).toMatchObject({ reason: "debug-exit", exitCode: 0x55 });
    expect(ticks(m)).toBe(100);
    expect(r.wallMs).toBeGreaterThan(95);
    expect(r.wallMs).toBeLessThan(2000);
    // The guest does nothing but wait for 100 ticks of 1 ms: most of those 100 ms are spent
    // asleep in HLT. Measured against the ticks' span rather than the wall time, which a loaded
    // host stretches with time the process spends descheduled, halted or not.
    expect(r.haltedMs).toBeGreaterThan(50);
    expect(r.haltedMs).toBeLessThanOrEqual(r.wallMs);
  });

  it("real-time mode: the TSC keeps counting at 100 MHz of virtual time while the CPU halts", async () => {
    const m = await machineWith(IRQ0_GUEST, { deterministic: false });
    expect((await m.run({ wallTimeoutMs: 10_000 })).reason).toBe("debug-exit");
    // The PIT still ticks at 1 kHz into the guest's IRQ0 handler. rdtsc; mov esi, eax;
    // mov edi, edx; mov ecx, 20; sti; l: hlt; loop l; rdtsc; cli; hlt: 20 ticks in HLT.
    m.ram.set(Buffer.from("0f3189c689d7b914000000fbf4e2fd0f31faf4", "hex"), 0x30000);
    m.core.eip = 0x30000;
    const r = await m.run({ wallTimeoutMs: 10_000 });
    expect(r.reason).toBe("hlt-disabled");
    const t0 = m.core.reg(L.REG_ESI) + m.core.reg(L.REG_EDI) * 2 ** 32;
    const t1 = m.core.reg(L.REG_EAX) + m.core.reg(L.REG_EDX) * 2 ** 32;
    // 19 to 20 PIT periods of 1.0 ms of virtual time, a few hundred instructions: counting
    // instructions instead, the TSC would have moved by those few hundred.
    expect(t1 - t0).toBeGreaterThan(18.9e-3 * 100e6);
    expect(t1 - t0).toBeLessThan(20.2e-3 * 100e6);
  });

  requiresTool(NASM).it("the IRQ0 guest bytes are what nasm makes of test/machine/irq0.asm", () => {
    const dir = mkdtempSync(join(tmpdir(), "vmi386-"));
    try {
      const out = join(dir, "irq0.bin");
      const r = spawnSync("nasm", ["-f", "bin", "-o", out, join(here, "machine/irq0.asm")], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(out).toString("hex")).toBe(IRQ0_GUEST);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
