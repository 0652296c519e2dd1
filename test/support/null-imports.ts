// Host imports for tests that drive the core alone: an empty bus (unclaimed ports and MMIO
// read all ones, writes vanish), no interrupt controller, no hypercalls.
import type { CoreImports } from "../../src/core.js";

export const nullImports: CoreImports = {
  portIn: () => -1,
  portOut: () => {},
  mmioRead: () => -1,
  mmioWrite: () => {},
  ackInterrupt: () => -1,
  hypercall: () => {},
};
