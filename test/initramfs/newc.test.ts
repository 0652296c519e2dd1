// The newc writer against GNU cpio: the same members written by `cpio -o -H newc` from a tree
// on disk must give the same bytes, and GNU cpio must read our archive back to the same tree.

import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, chmodSync, lstatSync, utimesSync, lutimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeNewc, type NewcEntry } from "../../src/initramfs/newc.js";
import { busyboxInitramfs } from "../../scripts/build-initramfs.js";

import { CPIO, requiresTool } from "../support/requires-tool.js";

/** GNU cpio is the oracle. */
const cpio = requiresTool(CPIO);

const dir = mkdtempSync(join(tmpdir(), "newc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (s: string) => new TextEncoder().encode(s);
const members: NewcEntry[] = [
  { kind: "dir", name: "bin" },
  { kind: "file", name: "bin/busybox", data: bytes("not really busybox\n"), mode: 0o755 },
  { kind: "symlink", name: "bin/sh", target: "busybox" },
  { kind: "dir", name: "etc" },
  { kind: "file", name: "etc/empty", data: new Uint8Array(0) },
  { kind: "file", name: "etc/three", data: bytes("abc") }, // 3 bytes: data padding
  { kind: "file", name: "init", data: bytes("#!/bin/sh\necho hi\n"), mode: 0o755 },
];

/** The members as a tree on disk, times 0, for GNU cpio to archive. */
function materialize(root: string): void {
  for (const m of members) {
    const p = join(root, m.name);
    if (m.kind === "dir") mkdirSync(p);
    else if (m.kind === "file") {
      writeFileSync(p, m.data);
      chmodSync(p, m.mode ?? 0o644);
    } else symlinkSync(m.target, p);
  }
  for (const m of [...members].reverse()) {
    const p = join(root, m.name);
    if (m.kind === "symlink") lutimesSync(p, 0, 0);
    else utimesSync(p, 0, 0);
  }
}

describe("newc archives", () => {
  cpio.it("are byte for byte what GNU cpio writes for the same tree", () => {
    const root = join(dir, "tree");
    mkdirSync(root);
    chmodSync(root, 0o755);
    materialize(root);
    const names = members.map((m) => m.name).join("\n") + "\n";
    const gnu = execFileSync("cpio", ["--quiet", "-o", "-H", "newc", "-R", "0:0", "--reproducible"], { cwd: root, input: names });
    expect(Buffer.from(writeNewc(members)).equals(gnu)).toBe(true);
  });

  cpio.it("are read back by GNU cpio to the same files, modes and links", () => {
    const out = join(dir, "out");
    mkdirSync(out);
    execFileSync("cpio", ["--quiet", "-i", "-d", "--no-absolute-filenames"], { cwd: out, input: writeNewc(members) });
    for (const m of members) {
      const p = join(out, m.name);
      const st = lstatSync(p);
      if (m.kind === "dir") expect(st.isDirectory()).toBe(true);
      else if (m.kind === "symlink") expect(readlinkSync(p)).toBe(m.target);
      else {
        expect(readFileSync(p)).toEqual(Buffer.from(m.data));
        expect(st.mode & 0o7777).toBe(m.mode ?? 0o644);
      }
    }
  });

  it("ends with the trailer, zero-filled to a 512-byte block", () => {
    const a = writeNewc(members);
    expect(a.length % 512).toBe(0);
    const text = Buffer.from(a).toString("latin1");
    expect(text.startsWith("070701")).toBe(true);
    // the trailer: ino 0, mode 0, nlink 1, size 0, namesize 11
    expect(text).toContain("07070100000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000B00000000TRAILER!!!\0");
  });

  it("refuses names the kernel would misplace or that collide", () => {
    const f = (name: string): NewcEntry => ({ kind: "file", name, data: new Uint8Array(0) });
    expect(() => writeNewc([f("/init")])).toThrow(/relative path/);
    expect(() => writeNewc([f("./init")])).toThrow(/relative path/);
    expect(() => writeNewc([f("a/../../etc")])).toThrow(/relative path/);
    expect(() => writeNewc([f("")])).toThrow(/relative path/);
    expect(() => writeNewc([f("init"), f("init")])).toThrow(/twice/);
    expect(() => writeNewc([f("TRAILER!!!")])).toThrow(/end marker/);
  });

  it("builds the busybox initramfs with /init, busybox and the standard directories", () => {
    const a = Buffer.from(busyboxInitramfs(bytes("BB"), bytes("INIT"))).toString("latin1");
    for (const name of ["bin\0", "dev\0", "proc\0", "root\0", "sys\0", "tmp\0", "bin/busybox\0", "init\0"]) expect(a).toContain(name);
  });
});
