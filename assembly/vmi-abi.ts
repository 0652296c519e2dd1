// VMI API 3.0: the call numbers, relocation types and flags Linux's CONFIG_VMI used
// (2.6.21–2.6.36, asm/vmi.h and asm/vmi_time.h). One file, so the numbers are written once;
// they changed between VMI versions, and these are 3.0's. The AssemblyScript core (vmi-queue.ts),
// the TypeScript host (src/vmi) and, through the generated test/guests/lib/vmi-abi.inc and
// vmi-abi.h, the test guests all read this file: keep it to `export const NAME = number` lines
// and the two const enums, which every one of them reads alike (scripts/vmi-abi-headers.ts).

export const VMI_API_MAJOR = 3;
export const VMI_API_MINOR = 0;
/** "cVmi", at offset 8 of the ROM header. */
export const VMI_SIGNATURE = 0x696d5663;
export const PCI_VENDOR_VMWARE = 0x15ad;
export const PCI_DEVICE_VMI = 0x0801;

export const enum Call {
  CPUID = 0,
  WRMSR = 1,
  RDMSR = 2,
  SetGDT = 3,
  SetLDT = 4,
  SetIDT = 5,
  SetTR = 6,
  GetGDT = 7,
  GetLDT = 8,
  GetIDT = 9,
  GetTR = 10,
  WriteGDTEntry = 11,
  WriteLDTEntry = 12,
  WriteIDTEntry = 13,
  UpdateKernelStack = 14,
  SetCR0 = 15,
  SetCR2 = 16,
  SetCR3 = 17,
  SetCR4 = 18,
  GetCR0 = 19,
  GetCR2 = 20,
  GetCR3 = 21,
  GetCR4 = 22,
  WBINVD = 23,
  SetDR = 24,
  GetDR = 25,
  RDPMC = 26,
  RDTSC = 27,
  CLTS = 28,
  EnableInterrupts = 29,
  DisableInterrupts = 30,
  GetInterruptMask = 31,
  SetInterruptMask = 32,
  IRET = 33,
  SYSEXIT = 34,
  Halt = 35,
  Reboot = 36,
  Shutdown = 37,
  SetPxE = 38,
  SetPxELong = 39,
  UpdatePxE = 40,
  UpdatePxELong = 41,
  MachineToPhysical = 42,
  PhysicalToMachine = 43,
  AllocatePage = 44,
  ReleasePage = 45,
  InvalPage = 46,
  FlushTLB = 47,
  SetLinearMapping = 48,
  SetIOPLMask = 61,
  SetInitialAPState = 62,
  APICWrite = 63,
  APICRead = 64,
  IODelay = 65,
  GetCycleFrequency = 66,
  GetCycleCounter = 67,
  SetAlarm = 68,
  CancelAlarm = 69,
  GetWallclockTime = 70,
  WallclockUpdated = 71,
  SetLazyMode = 73,
}

/** get_reloc's relocation types (the low byte of EDX). */
export const enum Reloc {
  NONE = 0,
  CALL_REL = 1,
  JUMP_REL = 2,
  NOP = 3,
}

// Page kinds (AllocatePage, ReleasePage, and the level in PTE-update flags).
export const PAGE_PT = 0x01;
export const PAGE_PD = 0x02;
export const PAGE_PDP = 0x04;
export const PAGE_PML4 = 0x08;
export const PAGE_PAE = 0x10;
export const PAGE_CLONE = 0x20;
export const PAGE_ZEROED = 0x40;
// PTE-update flags.
export const PAGE_CURRENT_AS = 0x10;
export const PAGE_DEFER = 0x20;
export const PAGE_VA_MASK = 0xfffff000;

export const FLUSH_TLB = 0x01;
export const FLUSH_GLOBAL = 0x02;

export const LAZY_OFF = 0;
export const LAZY_MMU = 1;
export const LAZY_CPU = 2;
/** 2.6.21–22: flush what is queued without leaving the mode. */
export const LAZY_FLUSH = 3;

// Timer (asm/vmi_time.h).
export const CYCLES_REAL = 0;
export const CYCLES_AVAILABLE = 1;
export const CYCLES_STOLEN = 2;
export const ALARM_COUNTER_MASK = 0xff;
export const ALARM_IS_PERIODIC = 0x100;
export const ALARM_WIRED_LVTT = 0x10000;

/** SetLinearMapping's slots. */
export const LINEAR_MAPPING_SLOTS = 4;
