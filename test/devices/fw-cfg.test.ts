// QEMU's fw_cfg through its two ports, against the layout of QEMU's fw_cfg specification (fw_cfg.rst in its documentation): the
// selector takes a 16-bit key, the data port reads the item a byte at a time, numbers are
// little-endian but the file directory's big-endian.
import { describe, expect, it } from "vitest";
import {
  FW_CFG_BOOT_DEVICE, FW_CFG_FILE_DIR, FW_CFG_ID, FW_CFG_MAX_CPUS, FW_CFG_NB_CPUS, FW_CFG_RAM_SIZE, FW_CFG_SIGNATURE, FwCfg,
} from "../../src/devices/fw-cfg.js";

const SELECTOR = 0;
const DATA = 1;

function readItem(dev: FwCfg, key: number, n: number): number[] {
  dev.write(SELECTOR, key, 2);
  return Array.from({ length: n }, () => dev.read(DATA, 1));
}

/** The file directory as firmware parses it: big-endian count, then size, key, name per file. */
function directory(dev: FwCfg): Map<string, { size: number; key: number }> {
  const count = readItem(dev, FW_CFG_FILE_DIR, 4).reduce((a, b) => a * 256 + b);
  const bytes = readItem(dev, FW_CFG_FILE_DIR, 4 + count * 64).slice(4);
  const files = new Map<string, { size: number; key: number }>();
  for (let i = 0; i < count; i++) {
    const e = bytes.slice(i * 64, (i + 1) * 64);
    const name = String.fromCharCode(...e.slice(8, e.indexOf(0, 8)));
    files.set(name, { size: e.slice(0, 4).reduce((a, b) => a * 256 + b), key: e[4] * 256 + e[5] });
  }
  return files;
}

const le = (bytes: number[]) => bytes.reduceRight((a, b) => a * 256 + b, 0);

describe("fw_cfg", () => {
  const ram = 128 * 2 ** 20;
  const dev = new FwCfg({ ramSize: ram, cpus: 1 });

  it("reads the signature QEMU, and an ID with only the traditional interface (bit 0; no DMA, bit 1)", () => {
    expect(String.fromCharCode(...readItem(dev, FW_CFG_SIGNATURE, 4))).toBe("QEMU");
    expect(le(readItem(dev, FW_CFG_ID, 4))).toBe(1);
  });

  it("gives RAM size (u64), CPU counts (u16) and the boot device little-endian", () => {
    expect(readItem(dev, FW_CFG_RAM_SIZE, 8)).toEqual([0, 0, 0, 8, 0, 0, 0, 0]);
    expect(readItem(dev, FW_CFG_NB_CPUS, 2)).toEqual([1, 0]);
    expect(readItem(dev, FW_CFG_MAX_CPUS, 2)).toEqual([1, 0]);
    expect(readItem(dev, FW_CFG_BOOT_DEVICE, 2)).toEqual(["c".charCodeAt(0), 0]);
  });

  it("reads 0 past an item's end and for a key that names nothing, and selecting again starts over", () => {
    dev.write(SELECTOR, FW_CFG_SIGNATURE, 2);
    for (let i = 0; i < 4; i++) dev.read(DATA, 1);
    expect(dev.read(DATA, 1)).toBe(0);
    expect(readItem(dev, 0x3fff, 3)).toEqual([0, 0, 0]);
    expect(readItem(dev, FW_CFG_SIGNATURE, 1)).toEqual(["Q".charCodeAt(0)]);
  });

  it("selects the same item with the write bit (14) set, and ignores data writes", () => {
    dev.write(SELECTOR, 0x4000 | FW_CFG_SIGNATURE, 2);
    dev.write(DATA, 0x21, 1);
    expect(String.fromCharCode(...Array.from({ length: 4 }, () => dev.read(DATA, 1)))).toBe("QEMU");
  });

  it("lists etc/e820 (one RAM entry: u64 base, u64 length, u32 type 1) and etc/boot-fail-wait (-1) in a big-endian directory", () => {
    const files = directory(dev);
    expect([...files.keys()]).toEqual(["etc/boot-fail-wait", "etc/e820"]);
    const e820 = files.get("etc/e820")!;
    expect(e820.size).toBe(20);
    const entry = readItem(dev, e820.key, 20);
    expect(le(entry.slice(0, 8))).toBe(0);
    expect(le(entry.slice(8, 16))).toBe(ram);
    expect(le(entry.slice(16, 20))).toBe(1);
    const wait = files.get("etc/boot-fail-wait")!;
    expect(le(readItem(dev, wait.key, wait.size))).toBe(0xffffffff);
  });

  it("keeps its selection and offset across save and restore", () => {
    dev.write(SELECTOR, FW_CFG_SIGNATURE, 2);
    dev.read(DATA, 1);
    const copy = new FwCfg({ ramSize: ram, cpus: 1 });
    copy.restore(dev.save());
    expect(String.fromCharCode(copy.read(DATA, 1))).toBe("E");
    expect(() => copy.restore({ key: "x" })).toThrow(/fw_cfg/);
  });
});
