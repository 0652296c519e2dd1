// Virtual-8086 mode's segment state (SDM Vol. 3 ch. 20): entering it (IRET, a task switch)
// loads every segment register as real mode does, at CPL 3; leaving it for an interrupt
// handler saves ES, DS, FS, GS on the ring-0 stack and nulls them (§20.3.1.1).

import { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, STATE_CPL } from "../layout";
import * as cpu from "../cpu";
import { setSegCache } from "../cpu";
import { segmentsChanged } from "../segments";
import { updateAccessMasks } from "../mmu";

/** What a real-mode-style load gives in virtual-8086 mode: present read/write data, DPL 3, 64 KiB (as QEMU's load_seg_vm). */
const V86_ATTR: u32 = 0xf3;

function loadV86Segment(seg: i32, selector: u32): void {
  const s = selector & 0xffff;
  setSegCache(seg, s, s << 4, 0xffff, V86_ATTR);
}

/** All six segment registers from real-mode selectors, and CPL 3 (SDM Vol. 3 §20.2.1). */
export function loadV86Segments(cs: u32, ss: u32, es: u32, ds: u32, fs: u32, gs: u32): void {
  loadV86Segment(SEG_CS, cs);
  loadV86Segment(SEG_SS, ss);
  loadV86Segment(SEG_ES, es);
  loadV86Segment(SEG_DS, ds);
  loadV86Segment(SEG_FS, fs);
  loadV86Segment(SEG_GS, gs);
  if (cpu.cpl != 3) {
    cpu.cpl = 3;
    store<u32>(STATE_CPL, 3);
    updateAccessMasks();
  }
  segmentsChanged();
}

/** After an interrupt from virtual-8086 mode: DS, ES, FS, GS are null in the handler (§20.3.1.1). */
export function nullV86DataSegments(): void {
  setSegCache(SEG_ES, 0, 0, 0, 0);
  setSegCache(SEG_DS, 0, 0, 0, 0);
  setSegCache(SEG_FS, 0, 0, 0, 0);
  setSegCache(SEG_GS, 0, 0, 0, 0);
  segmentsChanged();
}
