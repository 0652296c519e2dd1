// Writes the VMI ABI of assembly/vmi-abi.ts as a nasm include and a C header for the test
// guests (test/guests/lib/vmi-abi.inc, vmi-abi.h), so the call numbers and flags the guests
// use are the ones the core and the host use. The files are committed (the guests' build needs
// no Node); test/structure/vmi-abi-headers.test.ts fails when they differ from what this writes.
//
// Names follow Linux's asm/vmi.h: VMI_CALL_<call>, VMI_RELOCATION_<type>, VMI_<constant>.
//
// Usage: tsx scripts/vmi-abi-headers.ts

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = fileURLToPath(new URL("..", import.meta.url));
const SOURCE = "assembly/vmi-abi.ts";
const ENUM_PREFIX: Record<string, string> = { Call: "VMI_CALL_", Reloc: "VMI_RELOCATION_" };

/** Every constant of the ABI file as [guest name, value as written]. */
function abiConstants(): [string, string][] {
  const file = ts.createSourceFile(SOURCE, readFileSync(root + SOURCE, "utf8"), ts.ScriptTarget.ES2022);
  const constants: [string, string][] = [];
  const literal = (where: string, e: ts.Expression | undefined): string => {
    if (e === undefined || !ts.isNumericLiteral(e)) throw new Error(`${SOURCE}: ${where} is not a number literal`);
    return e.getText(file);
  };
  for (const statement of file.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const d of statement.declarationList.declarations) {
        const name = d.name.getText(file);
        constants.push([name.startsWith("VMI_") || name.startsWith("PCI_") ? name : `VMI_${name}`, literal(name, d.initializer)]);
      }
    } else if (ts.isEnumDeclaration(statement)) {
      const prefix = ENUM_PREFIX[statement.name.text];
      if (prefix === undefined) throw new Error(`${SOURCE}: enum ${statement.name.text} has no guest prefix`);
      for (const m of statement.members) constants.push([prefix + m.name.getText(file), literal(m.name.getText(file), m.initializer)]);
    } else throw new Error(`${SOURCE}: only constants and enums can be written for the guests`);
  }
  return constants;
}

/** The generated files, by path relative to the repository. */
export function vmiAbiHeaders(): Map<string, string> {
  const constants = abiConstants();
  const note = `Generated from ${SOURCE} by scripts/vmi-abi-headers.ts (npm run guests:abi): do not edit.`;
  const inc = [`; ${note}`, ...constants.map(([name, value]) => `${name} equ ${value}`)];
  const h = [`/* ${note} */`, "#ifndef VMI_ABI_H", "#define VMI_ABI_H", ...constants.map(([name, value]) => `#define ${name} ${value}`), "#endif"];
  return new Map([
    ["test/guests/lib/vmi-abi.inc", inc.join("\n") + "\n"],
    ["test/guests/lib/vmi-abi.h", h.join("\n") + "\n"],
  ]);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, text] of vmiAbiHeaders()) {
    writeFileSync(root + path, text);
    console.log(`wrote ${path}`);
  }
}
