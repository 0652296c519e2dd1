// The core's globals in a snapshot. The build step scripts/export-core-globals.ts exports every
// mutable global of the compiled module as `state$<index>` and stamps the module with its build
// identity; here the host reads and writes them all through those exports. Nothing lists the
// globals by hand, so a global added to assembly/ cannot be left out of a snapshot.

/** Export-name prefix of the core's mutable globals. */
export const GLOBAL_EXPORT_PREFIX = "state$";
/** Custom section holding the build identity (a hash of the module as asc emitted it). */
export const BUILD_SECTION = "vmi386.build";

/**
 * A global's value: a number (i32, and f32/f64 integers), an i64 as a decimal string with an
 * "n" suffix, any other float as "d" and its IEEE bits in hex (NaN, -0 and fractions survive
 * JSON exactly that way).
 */
export type SavedGlobal = number | string;

/** The build identity stamped into `module`, or undefined for a module built without the step. */
export function coreBuildIdentity(module: WebAssembly.Module): string | undefined {
  const sections = WebAssembly.Module.customSections(module, BUILD_SECTION);
  return sections.length === 1 ? new TextDecoder().decode(sections[0]) : undefined;
}

/** The instance's exported mutable globals, by export name. */
export function coreGlobals(exports: WebAssembly.Exports): Map<string, WebAssembly.Global> {
  const out = new Map<string, WebAssembly.Global>();
  for (const [name, value] of Object.entries(exports)) {
    if (name.startsWith(GLOBAL_EXPORT_PREFIX) && value instanceof WebAssembly.Global) out.set(name, value);
  }
  return out;
}

export function saveGlobals(globals: Map<string, WebAssembly.Global>): Record<string, SavedGlobal> {
  const out: Record<string, SavedGlobal> = {};
  for (const [name, g] of globals) {
    const v: unknown = g.value;
    out[name] = typeof v === "bigint" ? `${v}n` : encodeNumber(v as number);
  }
  return out;
}

/** Throws (changing nothing) unless `saved` names exactly the instance's globals with values of their kinds. */
export function restoreGlobals(globals: Map<string, WebAssembly.Global>, saved: Record<string, SavedGlobal>): void {
  const names = Object.keys(saved ?? {});
  if (names.length !== globals.size) throw new Error(`the snapshot holds ${names.length} core globals, this core has ${globals.size}`);
  const values: [WebAssembly.Global, number | bigint][] = [];
  for (const name of names) {
    const g = globals.get(name);
    if (g === undefined) throw new Error(`the snapshot holds core global ${name}, which this core lacks`);
    const v = saved[name];
    const isBig = typeof g.value === "bigint";
    if (isBig) {
      if (typeof v !== "string" || !/^-?\d+n$/.test(v)) throw new Error(`core global ${name}: expected an i64, got ${JSON.stringify(v)}`);
      values.push([g, BigInt(v.slice(0, -1))]);
    } else {
      const n = decodeNumber(v);
      if (n === undefined) throw new Error(`core global ${name}: expected a number, got ${JSON.stringify(v)}`);
      values.push([g, n]);
    }
  }
  for (const [g, v] of values) g.value = v;
}

const bits = new DataView(new ArrayBuffer(8));

function encodeNumber(v: number): SavedGlobal {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return v;
  bits.setFloat64(0, v);
  return "d" + bits.getBigUint64(0).toString(16);
}

function decodeNumber(v: SavedGlobal): number | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== "string" || !/^d[0-9a-f]{1,16}$/.test(v)) return undefined;
  bits.setBigUint64(0, BigInt("0x" + v.slice(1)));
  return bits.getFloat64(0);
}
