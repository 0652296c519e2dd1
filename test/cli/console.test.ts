// The interactive console: a terminal's keys go to COM1 raw, with QEMU's Ctrl-A escape.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConsoleKeys, type CliInput } from "../../src/cli.js";
import { cli } from "../support/run-cli.js";
import { bzImage } from "../loader/bzimage-builder.js";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (u: Uint8Array) => String.fromCharCode(...u);

describe("ConsoleKeys", () => {
  it("passes keys through, and Ctrl-A x quits without sending what follows", () => {
    const k = new ConsoleKeys();
    expect(k.feed(bytes("ls\r"))).toEqual({ send: bytes("ls\r"), quit: false });
    expect(k.feed(bytes("ab\x01xcd"))).toEqual({ send: bytes("ab"), quit: true });
  });

  it("Ctrl-A Ctrl-A and Ctrl-A a send one Ctrl-A; Ctrl-A then another key sends both", () => {
    const k = new ConsoleKeys();
    expect(text(k.feed(bytes("\x01\x01|\x01a|\x01c")).send)).toBe("\x01|\x01|\x01c");
  });

  it("an escape split across chunks still quits", () => {
    const k = new ConsoleKeys();
    expect(k.feed(bytes("q\x01"))).toEqual({ send: bytes("q"), quit: false });
    expect(k.feed(bytes("x"))).toEqual({ send: new Uint8Array(0), quit: true });
  });
});

describe("vmi386 run on a terminal", () => {
  it("puts the terminal in raw mode, and Ctrl-A x stops a guest that never ends, with status 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmi386-console-"));
    const kernel = join(dir, "spin");
    writeFileSync(kernel, bzImage({ payload: Uint8Array.of(0xeb, 0xfe) })); // jmp $
    const modes: boolean[] = [];
    let listener: ((c: Uint8Array | string) => void) | null = null;
    const stdin: CliInput = {
      isTTY: true,
      setRawMode: (raw: boolean) => modes.push(raw),
      on: (_e, l) => {
        listener = l;
        setTimeout(() => l(bytes("\x01x")), 50);
      },
      removeListener: () => (listener = null),
      pause: () => undefined,
    };
    const r = await cli(["run", "--kernel", kernel, "--mem", "16M", "--timeout", "20"], stdin);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("Ctrl-A x quits");
    expect(r.stderr).toMatch(/stopped\s+quit/);
    expect(modes).toEqual([true, false]);
    expect(listener).toBe(null);
  });

  it("after Ctrl-A x at a half-written line (a prompt), the statistics start on a line of their own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmi386-console-"));
    const kernel = join(dir, "prompt");
    // mov dx, 0x3f8; mov al, '>'; out dx, al; jmp $
    writeFileSync(kernel, bzImage({ payload: Uint8Array.of(0x66, 0xba, 0xf8, 0x03, 0xb0, 0x3e, 0xee, 0xeb, 0xfe) }));
    const r = await cli(["run", "--kernel", kernel, "--mem", "16M", "--timeout", "20"], quitAfter(50), { stdoutIsTTY: true });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(">");
    expect(r.stderr).toMatch(/Ctrl-A s saves a snapshot\n\n--- vmi386 statistics ---\n/);
    // A guest whose output ends a line gets no empty line; nor does a stdout that is no terminal.
    const piped = await cli(["run", "--kernel", kernel, "--mem", "16M", "--timeout", "20"], quitAfter(50));
    expect(piped.stderr).toMatch(/Ctrl-A s saves a snapshot\n--- vmi386 statistics ---\n/);
  });
});

/** A terminal on stdin whose user types Ctrl-A x after `ms`. */
function quitAfter(ms: number): CliInput {
  return {
    isTTY: true,
    setRawMode: () => undefined,
    on: (_e, l) => void setTimeout(() => l(bytes("\x01x")), ms),
    removeListener: () => undefined,
    pause: () => undefined,
  };
}
