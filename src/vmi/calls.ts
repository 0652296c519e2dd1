// The names of VMI API 3.0's calls (assembly/vmi-abi.ts has their numbers), for the host's
// statistics and messages.

/** Every call API 3.0 defines, by name (any other number gets a NONE relocation). */
export const CALL_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0, "CPUID"], [1, "WRMSR"], [2, "RDMSR"], [3, "SetGDT"], [4, "SetLDT"], [5, "SetIDT"], [6, "SetTR"],
  [7, "GetGDT"], [8, "GetLDT"], [9, "GetIDT"], [10, "GetTR"], [11, "WriteGDTEntry"], [12, "WriteLDTEntry"],
  [13, "WriteIDTEntry"], [14, "UpdateKernelStack"], [15, "SetCR0"], [16, "SetCR2"], [17, "SetCR3"],
  [18, "SetCR4"], [19, "GetCR0"], [20, "GetCR2"], [21, "GetCR3"], [22, "GetCR4"], [23, "WBINVD"],
  [24, "SetDR"], [25, "GetDR"], [26, "RDPMC"], [27, "RDTSC"], [28, "CLTS"], [29, "EnableInterrupts"],
  [30, "DisableInterrupts"], [31, "GetInterruptMask"], [32, "SetInterruptMask"], [33, "IRET"], [34, "SYSEXIT"],
  [35, "Halt"], [36, "Reboot"], [37, "Shutdown"], [38, "SetPxE"], [39, "SetPxELong"], [40, "UpdatePxE"],
  [41, "UpdatePxELong"], [42, "MachineToPhysical"], [43, "PhysicalToMachine"], [44, "AllocatePage"],
  [45, "ReleasePage"], [46, "InvalPage"], [47, "FlushTLB"], [48, "SetLinearMapping"], [61, "SetIOPLMask"],
  [62, "SetInitialAPState"], [63, "APICWrite"], [64, "APICRead"], [65, "IODelay"], [66, "GetCycleFrequency"],
  [67, "GetCycleCounter"], [68, "SetAlarm"], [69, "CancelAlarm"], [70, "GetWallclockTime"],
  [71, "WallclockUpdated"], [73, "SetLazyMode"],
]);
