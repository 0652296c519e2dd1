// QEMU's isa-debugcon: bytes written go out a line at a time (the rest at flush), and reads
// return 0xE9, QEMU's readback value. The machine has it only when asked, at 0xE9 and 0x402.
import { describe, expect, it } from "vitest";
import { DebugCon } from "../../src/devices/debugcon.js";
import { Machine, PORT_DEBUGCON, PORT_DEBUGCON_SEABIOS } from "../../src/machine.js";

describe("debug console", () => {
  it("hands on each line as it ends, and the rest at flush", () => {
    const out: string[] = [];
    const con = new DebugCon((b) => out.push(String.fromCharCode(...b)));
    for (const c of "hi\nthere") con.write(0, c.charCodeAt(0), 1);
    expect(out).toEqual(["hi\n"]);
    con.flush();
    expect(out).toEqual(["hi\n", "there"]);
  });

  it("reads back 0xE9", () => {
    expect(new DebugCon(() => {}).read(0, 1)).toBe(0xe9);
  });

  it("sits at ports 0xE9 and 0x402 of a machine given a sink, and nowhere without one", async () => {
    const withSink = await Machine.create({ memSize: 2 ** 20, debugcon: () => {} });
    expect(withSink.bus.read(PORT_DEBUGCON, 1)).toBe(0xe9);
    expect(withSink.bus.read(PORT_DEBUGCON_SEABIOS, 1)).toBe(0xe9);
    const without = await Machine.create({ memSize: 2 ** 20 });
    expect(without.bus.read(PORT_DEBUGCON, 1)).toBe(0xff);
    expect(without.bus.read(PORT_DEBUGCON_SEABIOS, 1)).toBe(0xff);
  });
});
