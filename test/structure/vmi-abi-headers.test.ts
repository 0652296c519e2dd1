// The test guests' nasm include and C header carry the VMI ABI of assembly/vmi-abi.ts: they are
// generated from it, and must be regenerated (npm run guests:abi) whenever it changes.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { vmiAbiHeaders } from "../../scripts/vmi-abi-headers.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

it("the guests' VMI ABI headers are what scripts/vmi-abi-headers.ts writes from assembly/vmi-abi.ts", () => {
  for (const [path, text] of vmiAbiHeaders()) expect(readFileSync(root + path, "utf8"), path).toBe(text);
});
