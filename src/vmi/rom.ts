// The VMI option ROM, built at machine start (docs/vmi.md). One image serves twice: the guest finds
// its header below 1 MiB (physical 0xC0000) and calls vmi_init and get_reloc there; those two
// jump into the same image mapped at virtual_top, where every call's entry point lives and where
// alone our hypercall instruction is legal.
//
// Each entry point is guest code running at the kernel's privilege. What it can do with the
// shared area or a native instruction it does without an exit (the control-register shadows,
// the virtual IF, descriptor tables, the cycle counter, queueing page-table updates in lazy
// MMU mode); everything else is one hypercall, identified to the host by its offset in the
// image (`exits`).

import * as L from "../../assembly/layout.js";
import { Asm, Cc, R } from "./x86.js";
import { Call, PCI_DEVICE_VMI, PCI_VENDOR_VMWARE, Reloc, VMI_API_MAJOR, VMI_API_MINOR, VMI_SIGNATURE, PAGE_DEFER } from "../../assembly/vmi-abi.js";
import { CALL_NAMES } from "./calls.js";

/** Where the guest scans for option ROMs (docs/vmi.md "Finding the ROM"), and where we put ours. */
export const ROM_SCAN_START = 0xc0000;
export const ROM_SCAN_END = 0xe0000;
export const ROM_PHYS = 0xc0000;
/** The start of the reserved linear range, 64 MiB below 4 GiB (docs/vmi.md "The reserved linear range"). */
export const DEFAULT_VIRTUAL_TOP = 0xfc000000;
export const LICENSE = "GPL v2";
/** The PnP expansion header's strings, which Linux prints ("VMI: Found vmi386 VMI ROM, …"). */
export const MANUFACTURER = "vmi386";
export const PRODUCT = "VMI ROM";

// Image layout (offsets from the header).
const HEADER_INIT = 128;
const HEADER_GET_RELOC = 136;
const PCI_HEADER = 0x90;
const LICENSE_OFFSET = 0xb0;
/** The PnP expansion header (32 bytes) and its two strings, between the PCI structure's end and the license. */
const PNP_HEADER = 0x40;
const PNP_LENGTH = 0x20;
const MANUFACTURER_OFFSET = 0x60;
const PRODUCT_OFFSET = 0x70;
const RELOC_TYPES = 0xc0;
const RELOC_TARGETS = RELOC_TYPES + L.SP_CALL_SLOTS * 4;
const CODE = 0x400;

/** Why the host was entered from a given hypercall site. */
export const enum ExitKind {
  /** The call itself: the host performs it. */
  Call,
  /** A page-table update was queued and filled the queue: the host drains it. */
  QueueFull,
  /** vmi_init. */
  Init,
}

export interface ExitSite {
  call: number;
  kind: ExitKind;
}

export interface RomOptions {
  virtualTop?: number;
  /** Deferred-queue entries, a power of two from 1 to SP_QUEUE_MAX. */
  queueCapacity?: number;
  /** What GetCycleFrequency returns: the TSC's rate in Hz. */
  cycleFrequency: number;
}

export interface Rom {
  image: Uint8Array;
  virtualTop: number;
  queueCapacity: number;
  /** Hypercall sites: ROM offset of the instruction → what it is for. */
  exits: Map<number, ExitSite>;
  /** get_reloc's answer for each call number. */
  relocs: Map<number, { type: Reloc; target: number }>;
}

/** Build the ROM image for one machine. */
export function buildRom(opts: RomOptions): Rom {
  const top = opts.virtualTop ?? DEFAULT_VIRTUAL_TOP;
  const cap = opts.queueCapacity ?? 64;
  if (!Number.isInteger(cap) || cap < 1 || cap > L.SP_QUEUE_MAX || (cap & (cap - 1)) !== 0) {
    throw new Error(`VMI queue capacity must be a power of two from 1 to ${L.SP_QUEUE_MAX}, not ${cap}`);
  }
  if (top % 0x400000 !== 0 || top < 0x80000000) throw new Error(`virtual_top ${top.toString(16)} must be 4 MiB aligned and in the top half`);
  const sh = top + L.VMI_SHARED_OFFSET;
  const q = sh + L.SP_QUEUE;
  const counter = (n: number) => sh + L.SP_ROM_COUNTS + 4 * n;
  const a = new Asm(top + CODE);
  const exits = new Map<number, ExitSite>();
  const relocs = new Map<number, { type: Reloc; target: number }>();
  const exit = (call: number, kind: ExitKind = ExitKind.Call) => {
    exits.set(CODE + a.pos, { call, kind });
    a.vmcall();
  };
  const entry = (call: number, type: Reloc = Reloc.CALL_REL) => {
    a.align(8);
    relocs.set(call, { type, target: a.here });
  };
  const served = (call: number) => a.incMem(counter(call));
  /** The call is always a hypercall; stack arguments (beyond EAX, EDX, ECX) arrive in ESI, EDI. */
  const exitEntry = (call: number, stackArgs = 0) => {
    entry(call);
    if (stackArgs >= 1) a.push(R.ESI);
    if (stackArgs >= 2) a.push(R.EDI);
    if (stackArgs >= 1) a.loadStack(R.ESI, 4 + 4 * stackArgs);
    if (stackArgs >= 2) a.loadStack(R.EDI, 8 + 4 * stackArgs);
    exit(call);
    if (stackArgs >= 2) a.pop(R.EDI);
    if (stackArgs >= 1) a.pop(R.ESI);
    a.ret();
  };
  /** Served natively in the ROM: body, then ret. */
  const nativeEntry = (call: number, body: () => void) => {
    entry(call);
    served(call);
    body();
    a.ret();
  };

  // vmi_init and get_reloc (reached from the header's 8-byte slots).
  const initAt = a.here;
  exit(0, ExitKind.Init);
  a.ret();
  a.align(8);
  const getRelocAt = a.here;
  {
    const none = a.label();
    a.cmpImm(R.EAX, L.SP_CALL_SLOTS).jcc8(Cc.AE, none);
    a.loadTable(R.EDX, R.EAX, top + RELOC_TYPES);
    a.loadTable(R.EAX, R.EAX, top + RELOC_TARGETS);
    a.ret();
    a.bind(none).xor(R.EAX, R.EAX).xor(R.EDX, R.EDX).ret();
  }

  // Native instructions at the kernel's privilege: no exit needed.
  nativeEntry(Call.CPUID, () => a.cpuid());
  nativeEntry(Call.WRMSR, () => a.wrmsr());
  nativeEntry(Call.RDMSR, () => a.rdmsr());
  nativeEntry(Call.SetGDT, () => a.lgdtEax());
  nativeEntry(Call.SetIDT, () => a.lidtEax());
  nativeEntry(Call.GetGDT, () => a.sgdtEax());
  nativeEntry(Call.GetIDT, () => a.sidtEax());
  nativeEntry(Call.SetLDT, () => a.lldtAx());
  nativeEntry(Call.SetTR, () => a.ltrAx());
  nativeEntry(Call.GetLDT, () => a.xor(R.EAX, R.EAX).sldtEax());
  nativeEntry(Call.GetTR, () => a.xor(R.EAX, R.EAX).strEax());
  for (const call of [Call.WriteGDTEntry, Call.WriteLDTEntry, Call.WriteIDTEntry]) {
    // (table EAX, index EDX, low word ECX, high word on the stack)
    nativeEntry(call, () => {
      a.storeScaled8(R.EAX, R.EDX, 0, R.ECX);
      a.push(R.ECX).loadStack(R.ECX, 8).storeScaled8(R.EAX, R.EDX, 4, R.ECX).pop(R.ECX);
    });
  }
  nativeEntry(Call.WBINVD, () => a.wbinvd());
  nativeEntry(Call.RDPMC, () => a.rdpmc());
  nativeEntry(Call.RDTSC, () => a.rdtsc());
  nativeEntry(Call.SetCR2, () => a.movCr2Eax().store(sh + L.SP_CR2, R.EAX));
  nativeEntry(Call.CLTS, () => a.clts().andMemImm(sh + L.SP_CR0, ~8));
  // The control registers from their shadows.
  nativeEntry(Call.GetCR0, () => a.load(R.EAX, sh + L.SP_CR0));
  nativeEntry(Call.GetCR2, () => a.load(R.EAX, sh + L.SP_CR2));
  nativeEntry(Call.GetCR3, () => a.load(R.EAX, sh + L.SP_CR3));
  nativeEntry(Call.GetCR4, () => a.load(R.EAX, sh + L.SP_CR4));
  // Identity: this hypervisor's guest-physical addresses are its machine addresses.
  nativeEntry(Call.MachineToPhysical, () => {});
  nativeEntry(Call.PhysicalToMachine, () => {});
  nativeEntry(Call.WallclockUpdated, () => a.xor(R.EAX, R.EAX));
  nativeEntry(Call.GetCycleFrequency, () => a.movImm(R.EAX, opts.cycleFrequency >>> 0).movImm(R.EDX, Math.floor(opts.cycleFrequency / 2 ** 32)));
  {
    // GetCycleCounter(counter): real and available are the TSC; nothing is ever stolen.
    entry(Call.GetCycleCounter);
    const zero = a.label();
    served(Call.GetCycleCounter);
    a.cmpImm(R.EAX, 2).jcc8(Cc.AE, zero).rdtsc().ret();
    a.bind(zero).xor(R.EAX, R.EAX).xor(R.EDX, R.EDX).ret();
  }

  // The virtual interrupt flag. Enabling exits only when an interrupt is already waiting.
  {
    entry(Call.EnableInterrupts);
    const pending = a.label();
    a.storeByteImm(sh + L.SP_VIF, 1).cmpByteImm(sh + L.SP_PENDING, 0).jcc8(Cc.NE, pending);
    served(Call.EnableInterrupts);
    a.ret();
    a.bind(pending);
    exit(Call.EnableInterrupts);
    a.ret();
  }
  nativeEntry(Call.DisableInterrupts, () => a.storeByteImm(sh + L.SP_VIF, 0));
  nativeEntry(Call.GetInterruptMask, () => a.loadByte(R.EAX, sh + L.SP_VIF).shlImm(R.EAX, 9));
  {
    // SetInterruptMask(flags image in EAX): IF is bit 9, i.e. bit 1 of AH.
    entry(Call.SetInterruptMask);
    const done = a.label();
    const pending = a.label();
    a.testAhImm(2).setccMem(Cc.NE, sh + L.SP_VIF).jcc8(Cc.E, done);
    a.cmpByteImm(sh + L.SP_PENDING, 0).jcc8(Cc.NE, pending);
    a.bind(done);
    served(Call.SetInterruptMask);
    a.ret();
    a.bind(pending);
    exit(Call.SetInterruptMask);
    a.ret();
  }
  // IRET and SYSEXIT are jumped to. The core's IRET sets the virtual IF from the popped flags.
  entry(Call.IRET, Reloc.JUMP_REL);
  served(Call.IRET);
  a.iret();
  {
    // SYSEXIT (EDX = EIP, ECX = ESP) with interrupts enabled, as Linux's irq_enable_sysexit.
    entry(Call.SYSEXIT, Reloc.JUMP_REL);
    const go = a.label();
    a.storeByteImm(sh + L.SP_VIF, 1).cmpByteImm(sh + L.SP_PENDING, 0).jcc8(Cc.E, go);
    exit(Call.SYSEXIT);
    a.bind(go);
    served(Call.SYSEXIT);
    a.sysexit();
  }
  // Halt is Linux's safe_halt: enable interrupts and wait for one.
  nativeEntry(Call.Halt, () => a.storeByteImm(sh + L.SP_VIF, 1).hlt());

  // Page-table updates: queued in lazy MMU mode (or when the guest says DEFER), else one exit.
  const queued = (call: number, ptr: R | null, value: R | null, flags: R | null, deferIn: R.ECX | R.EDX | null) => {
    entry(call);
    const queue = a.label();
    const full = a.label();
    a.cmpByteImm(sh + L.SP_LAZY_MODE, 1).jcc8(Cc.E, queue);
    if (deferIn !== null) a.testLowByteImm(deferIn, PAGE_DEFER).jcc8(Cc.NE, queue);
    exit(call);
    a.ret();
    // Append (op, entry pointer, value, flags); the host translates the pointer when it drains.
    a.bind(queue);
    a.push(R.EDI);
    a.load(R.EDI, sh + L.SP_QUEUE_TAIL).incMem(sh + L.SP_QUEUE_TAIL).andImm(R.EDI, cap - 1).shlImm(R.EDI, 4);
    a.storeIndexedImm(R.EDI, q, call);
    if (ptr !== null) a.storeIndexed(R.EDI, q + 4, ptr);
    else a.storeIndexedImm(R.EDI, q + 4, 0);
    if (value !== null) a.storeIndexed(R.EDI, q + 8, value);
    else a.storeIndexedImm(R.EDI, q + 8, 0);
    if (flags !== null) a.storeIndexed(R.EDI, q + 12, flags);
    else a.storeIndexedImm(R.EDI, q + 12, 0);
    a.load(R.EDI, sh + L.SP_QUEUE_TAIL).subMem(R.EDI, sh + L.SP_QUEUE_HEAD).cmpImm(R.EDI, cap);
    a.pop(R.EDI).jcc8(Cc.AE, full);
    a.ret();
    a.bind(full);
    exit(call, ExitKind.QueueFull);
    a.ret();
  };
  // SetPxE(value EAX, entry pointer EDX, flags ECX); UpdatePxE(entry pointer EAX, flags EDX);
  // InvalPage(linear address EAX).
  queued(Call.SetPxE, R.EDX, R.EAX, R.ECX, R.ECX);
  queued(Call.UpdatePxE, R.EAX, null, R.EDX, R.EDX);
  queued(Call.InvalPage, null, R.EAX, null, null);
  // The PAE forms take a 64-bit entry (EDX:EAX) and a stack argument: always an exit.
  exitEntry(Call.SetPxELong, 1);
  exitEntry(Call.UpdatePxELong);

  {
    // SetLazyMode: entering a lazy mode needs no exit; leaving one exits only to drain a queue.
    entry(Call.SetLazyMode);
    const set = a.label();
    const drain = a.label();
    a.cmpImm(R.EAX, 1).jcc8(Cc.E, set).cmpImm(R.EAX, 2).jcc8(Cc.E, set);
    a.test(R.EAX, R.EAX).jcc8(Cc.NE, drain);
    a.storeByteImm(sh + L.SP_LAZY_MODE, 0);
    a.push(R.EDI).load(R.EDI, sh + L.SP_QUEUE_TAIL).cmpMem(R.EDI, sh + L.SP_QUEUE_HEAD).pop(R.EDI).jcc8(Cc.NE, drain);
    served(Call.SetLazyMode);
    a.ret();
    a.bind(set);
    a.storeAl(sh + L.SP_LAZY_MODE);
    served(Call.SetLazyMode);
    a.ret();
    a.bind(drain);
    exit(Call.SetLazyMode);
    a.ret();
  }

  // Everything else is one hypercall. Stack arguments: AllocatePage (start, count),
  // SetLinearMapping (pfn), SetAlarm (period, 64-bit).
  exitEntry(Call.UpdateKernelStack);
  exitEntry(Call.SetCR0);
  exitEntry(Call.SetCR3);
  exitEntry(Call.SetCR4);
  exitEntry(Call.SetDR);
  exitEntry(Call.GetDR);
  exitEntry(Call.Reboot);
  exitEntry(Call.Shutdown);
  exitEntry(Call.AllocatePage, 2);
  exitEntry(Call.ReleasePage);
  exitEntry(Call.FlushTLB);
  exitEntry(Call.SetLinearMapping, 1);
  exitEntry(Call.SetIOPLMask);
  exitEntry(Call.SetInitialAPState);
  exitEntry(Call.APICWrite);
  exitEntry(Call.APICRead);
  exitEntry(Call.SetAlarm, 2);
  exitEntry(Call.CancelAlarm);
  exitEntry(Call.GetWallclockTime);
  // IODelay: a no-op for this machine's devices; the guest patches the call out.
  relocs.set(Call.IODelay, { type: Reloc.NOP, target: 0 });

  const code = a.finish();
  for (const n of CALL_NAMES.keys()) if (!relocs.has(n)) throw new Error(`ROM builder: call ${n} (${CALL_NAMES.get(n)}) has no entry point`);

  // The image: header, PCI header, license, relocation tables, code; 512-byte units; checksum.
  const size = Math.ceil((CODE + code.length + 1) / 512) * 512;
  if (size > L.VMI_ROM_MAX_PAGES * 4096) throw new Error(`ROM image of ${size} bytes exceeds ${L.VMI_ROM_MAX_PAGES} pages`);
  if (size / 512 > 255) throw new Error(`ROM image of ${size} bytes is too long for the header's length byte`);
  const img = new Uint8Array(size);
  const dv = new DataView(img.buffer);
  dv.setUint16(0, 0xaa55, true);
  img[2] = size / 512;
  img[3] = 0xcb; // the 16-bit entry: a BIOS that far-calls it gets straight back (RETF)
  img.fill(0x90, 4, 7);
  dv.setUint32(8, VMI_SIGNATURE, true);
  img[12] = VMI_API_MINOR;
  img[13] = VMI_API_MAJOR;
  img[14] = 0; // jump slots: none (get_reloc answers instead)
  dv.setUint32(16, top, true);
  dv.setUint16(22, LICENSE_OFFSET, true);
  dv.setUint16(24, PCI_HEADER, true);
  dv.setUint16(26, PNP_HEADER, true);
  // vmi_init / get_reloc: jump to their bodies above virtual_top without touching a register.
  img.set(new Asm(0).pushRet(initAt).finish(), HEADER_INIT);
  img.set(new Asm(0).pushRet(getRelocAt).finish(), HEADER_GET_RELOC);
  // PCI Data Structure (PCI Firmware spec §5.1.2).
  img.set([0x50, 0x43, 0x49, 0x52], PCI_HEADER); // "PCIR"
  dv.setUint16(PCI_HEADER + 4, PCI_VENDOR_VMWARE, true);
  dv.setUint16(PCI_HEADER + 6, PCI_DEVICE_VMI, true);
  dv.setUint16(PCI_HEADER + 10, 0x18, true); // structure length
  img[PCI_HEADER + 13] = 0x05; // class: bridge… other (0x05 0x80 0x00 reads "memory, other")
  img[PCI_HEADER + 14] = 0x80;
  dv.setUint16(PCI_HEADER + 16, size / 512, true);
  dv.setUint16(PCI_HEADER + 18, 0x0100, true); // ROM version 1.0
  img[PCI_HEADER + 21] = 0x80; // last image
  img.set(new TextEncoder().encode(LICENSE + "\0"), LICENSE_OFFSET);
  // PnP expansion header (Plug and Play BIOS Specification 1.0A, appendix A): "$PnP", revision 1,
  // length in 16-byte units, no next header, a checksum over its own bytes, then the string
  // offsets from the start of the image that Linux's check_vmi_rom reads at +0x0e and +0x10.
  img.set([0x24, 0x50, 0x6e, 0x50], PNP_HEADER); // "$PnP"
  img[PNP_HEADER + 4] = 1;
  img[PNP_HEADER + 5] = PNP_LENGTH / 16;
  dv.setUint16(PNP_HEADER + 0x0e, MANUFACTURER_OFFSET, true);
  dv.setUint16(PNP_HEADER + 0x10, PRODUCT_OFFSET, true);
  img[PNP_HEADER + 0x12] = 0x05; // device type: bridge, other (as the PCI class above)
  img[PNP_HEADER + 0x13] = 0x80;
  img[PNP_HEADER + 9] = checksumByte(img.subarray(PNP_HEADER, PNP_HEADER + PNP_LENGTH));
  img.set(new TextEncoder().encode(MANUFACTURER + "\0"), MANUFACTURER_OFFSET);
  img.set(new TextEncoder().encode(PRODUCT + "\0"), PRODUCT_OFFSET);
  for (const [n, r] of relocs) {
    dv.setUint32(RELOC_TYPES + 4 * n, r.type, true);
    dv.setUint32(RELOC_TARGETS + 4 * n, r.target >>> 0, true);
  }
  img.set(code, CODE);
  img[size - 1] = checksumByte(img.subarray(0, size - 1));
  return { image: img, virtualTop: top, queueCapacity: cap, exits, relocs };
}

/** The byte that makes `bytes` plus itself sum to zero modulo 256 (option ROM and PnP checksums). */
function checksumByte(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum += b;
  return (256 - (sum & 0xff)) & 0xff;
}
