// A snapshot file that is truncated, corrupted, foreign, of another format or from another core
// build is refused with one line before anything is built from it.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { Machine } from "../../src/machine.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";
import { SnapshotError, decodeSnapshot, encodeSnapshot } from "../../src/snapshot/file.js";
import type { MachineSnapshot } from "../../src/snapshot/snapshot.js";

const guests = join(dirname(fileURLToPath(import.meta.url)), "../guests");

let snapshot: MachineSnapshot;
let file: Uint8Array;

beforeAll(async () => {
  const m = await Machine.create({ memSize: 4 << 20, deterministic: true });
  loadMultiboot(m, new Uint8Array(readFileSync(join(guests, "timer/timer.elf"))), { name: "timer.elf", cmdline: "" });
  await m.run({ maxInstructions: 200_000 });
  snapshot = m.save();
  file = await encodeSnapshot(snapshot);
});

async function refusal(bytes: Uint8Array): Promise<string> {
  try {
    await decodeSnapshot(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(SnapshotError);
    const message = (e as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("the file was accepted");
}

describe("snapshot file", () => {
  it("round-trips, and zero pages are not stored", async () => {
    const back = await decodeSnapshot(file);
    expect(back.core.memory.pages).toEqual(snapshot.core.memory.pages);
    expect(Buffer.compare(back.core.memory.data, snapshot.core.memory.data)).toBe(0);
    expect(back.core.globals).toEqual(snapshot.core.globals);
    expect(back.devices).toEqual(snapshot.devices);
    // 4 MiB of RAM and 80 MiB of caches before it, nearly all zero: a few hundred KiB at most.
    expect(file.length).toBeLessThan(512 << 10);
  });

  it("refuses a truncated file", async () => {
    expect(await refusal(file.subarray(0, file.length - 1000))).toMatch(/truncated or corrupted/);
    expect(await refusal(file.subarray(0, 12))).toMatch(/truncated/);
  });

  it("refuses a corrupted file (checksum)", async () => {
    const bad = file.slice();
    bad[bad.length >> 1] ^= 0x40;
    expect(await refusal(bad)).toMatch(/checksum does not match/);
  });

  it("refuses a foreign file (magic)", async () => {
    expect(await refusal(new TextEncoder().encode("#!/bin/sh\necho not a snapshot\n".padEnd(100)))).toMatch(/not a vmi386 snapshot/);
    expect(await refusal(new Uint8Array(0))).toMatch(/not a vmi386 snapshot/);
  });

  it("refuses another file format version", async () => {
    const other = file.slice();
    new DataView(other.buffer).setUint32(8, 99, true);
    expect(await refusal(other)).toMatch(/file format 99, this vmi386 reads format 1/);
  });

  it("refuses a snapshot from another core build", async () => {
    const foreign = await decodeSnapshot(await encodeSnapshot({ ...snapshot, core: { ...snapshot.core, build: "0123456789abcdef0123456789abcdef" } }));
    await expect(Machine.restore(foreign)).rejects.toThrow(/saved by core build 0123456789abcdef0123456789abcdef, this is build [0-9a-f]{32}/);
  });
});
