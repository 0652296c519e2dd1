// --mem parsing: binary suffixes (K = 1024, as QEMU's -m), the core's 1M..3G range, 4 KiB pages.
import { describe, expect, it } from "vitest";
import { SizeError, formatSize, parseMemSize, parseSize } from "../../src/size.js";

describe("sizes", () => {
  it("parses plain bytes and K/M/G suffixes, any case, with optional B/iB", () => {
    expect(parseSize("4096")).toBe(4096);
    expect(parseSize("64K")).toBe(65536);
    expect(parseSize("128M")).toBe(128 * 2 ** 20);
    expect(parseSize("128m")).toBe(128 * 2 ** 20);
    expect(parseSize("128MiB")).toBe(128 * 2 ** 20);
    expect(parseSize("2GB")).toBe(2 * 2 ** 30);
    expect(parseSize("1G")).toBe(2 ** 30);
  });

  it("rejects what is not a whole size", () => {
    for (const bad of ["", "M", "1.5G", "-1M", "0x100000", "12X", "1 G B", "1e6"]) {
      expect(() => parseSize(bad, "--mem"), bad).toThrow(SizeError);
    }
  });

  it("enforces the guest RAM rules with messages naming the rule", () => {
    expect(parseMemSize("1M")).toBe(2 ** 20);
    expect(parseMemSize("3G")).toBe(3 * 2 ** 30);
    expect(parseMemSize("1028K")).toBe(1028 * 1024);
    expect(() => parseMemSize("1020K")).toThrow("--mem 1020K is too small: guest RAM must be at least 1M");
    expect(() => parseMemSize("3073M")).toThrow("--mem 3073M is too large: guest RAM can be at most 3G");
    expect(() => parseMemSize("1026K")).toThrow("--mem 1026K is not a multiple of 4 KiB (1050624 bytes)");
  });

  it("formats exactly, never rounding", () => {
    expect(formatSize(128 * 2 ** 20)).toBe("128M");
    expect(formatSize(3 * 2 ** 30)).toBe("3G");
    expect(formatSize(1216 * 1024)).toBe("1216K");
    expect(formatSize(1000)).toBe("1000 bytes");
  });
});
