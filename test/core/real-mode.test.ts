// Real mode as a BIOS-less boot uses it: 16-bit code, the IVT, INT/IRET, then LGDT, CR0.PE
// and a far jump into 32-bit protected mode. Expected values follow from the SDM's
// definitions of each instruction (Vol. 3 §9.9 "Mode switching"), not from our output.

import { describe, it, expect } from "vitest";
import { Core, Seg } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

// nasm -f bin (ORG 0x7C00):
//   cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7000
//   mov word [0x100], handler; mov word [0x102], 0     ; IVT entry 0x40
//   mov bx,5; int 0x40; push bx                         ; handler: bx = 3*bx
//   lgdt [gdtr]; mov eax,cr0; or al,1; mov cr0,eax; jmp 0x08:pm
// handler: mov si,bx; lea bx,[bx+si]; add bx,si; iret
// pm (BITS 32): mov ax,0x10; mov ds,ax; mov ss,ax; mov esp,0x9000
//   movzx eax, word [0x6ffe]; mov ebx,0xdeadbeef; hlt
// gdt: null, flat code 0x00cf9a000000ffff, flat data 0x00cf92000000ffff; gdtr
const CODE =
  "fa31c08ed88ed0bc0070c70600012e7cc70602010000bb0500cd40530f0116687c0f20c00c010f22c0ea357c0800" +
  "89de8d1801f3cf66b810008ed88ed0bc009000000fb705fe6f0000bbefbeaddef4900000000000000000ffff0000" +
  "009acf00ffff00000092cf001700507c0000";

describe("real mode", () => {
  it("runs 16-bit code, an IVT interrupt, and switches to protected mode", async () => {
    const core = await Core.load({
      ramSize: 1 << 20,
      imports: nullImports,
    });
    core.ram.set(Buffer.from(CODE, "hex"), 0x7c00);
    core.setSegment(Seg.CS, 0, 0, 0xffff, 0x9b);
    core.eip = 0x7c00;
    expect(core.run(1000)).toBe(L.EXIT_HLT_DISABLED);
    expect(core.reg(0)).toBe(15); // the value the real-mode handler computed, pushed at 0:6FFE
    expect(core.reg(3)).toBe(0xdeadbeef);
    expect(core.reg(4)).toBe(0x9000);
    expect(core.cr(0) & 1).toBe(1);
    expect(core.segment(Seg.CS).selector).toBe(0x08);
    expect(core.segment(Seg.SS)).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc093 });
    // IRET restored FLAGS: IF stays clear (CLI), so HLT ends the run.
    expect(core.eflags & 0x200).toBe(0);
    expect(core.counters().instructions).toBe(26); // 25 before HLT, and HLT itself retires
  });
});
