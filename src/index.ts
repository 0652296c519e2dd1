// The package entry: `import { Machine, loadMultiboot } from "vmi386"`. Everything here runs in
// Node and in a browser (pass MachineOptions.wasm there: core-file.browser.ts); the CLI is
// separate (src/cli.ts).

export { Machine } from "./machine.js";
export type { MachineOptions, RunOptions, RunResult, StopReason } from "./machine.js";
export { Core, Seg } from "./core.js";
export type { CoreImports, CoreOptions } from "./core.js";
export { LoadError } from "./loaders/load-error.js";
export { parseElf32, hasElfMagic } from "./loaders/elf.js";
export type { Elf32Executable, Elf32ProgramHeader } from "./loaders/elf.js";
export {
  loadMultiboot,
  planMultiboot,
  writeMultiboot,
  findMultibootHeader,
  MULTIBOOT_BOOTLOADER_MAGIC,
  MULTIBOOT_HEADER_MAGIC,
} from "./loaders/multiboot.js";
export type { MultibootOptions, MultibootModule, MultibootLoadResult, MultibootPlan, MultibootTarget } from "./loaders/multiboot.js";
export { loadLinux, planLinux } from "./loaders/linux.js";
export type { LinuxOptions, LinuxLoadResult, LinuxPlan, LinuxTarget, E820Entry } from "./loaders/linux.js";
export { parseSize, parseMemSize, formatSize, SizeError } from "./size.js";
export { collectStats, formatStatsJson, formatStatsText } from "./stats.js";
export type { RunStats } from "./stats.js";
export { SnapshotError } from "./snapshot/snapshot.js";
export type { MachineSnapshot } from "./snapshot/snapshot.js";
export type { RestoreOptions } from "./machine.js";
