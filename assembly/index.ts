// placeholder: replaced by the real core
import { STATE_RAM_SIZE, RAM_BASE } from "./layout";
export function init(ramSize: u32): i32 {
  const need = (<usize>RAM_BASE + ramSize + 0xffff) >>> 16;
  const have = <usize>memory.size();
  if (need > have && memory.grow(<i32>(need - have)) < 0) return -1;
  store<u32>(STATE_RAM_SIZE, ramSize);
  return 0;
}
export function reset(): void {}
export function run(budget: i32): i32 { return 0; }
export function flushTlb(): void {}
