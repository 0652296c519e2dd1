// Memory as a sparse list of 4 KiB pages: the pages that are not all zero, and where they go.
// A booted guest leaves most of RAM, the TLB and the shadow contexts zero, and those cost
// nothing in a snapshot.

export const PAGE_SIZE = 4096;

export interface PageImage {
  /** Length of the memory the image was taken of. */
  bytes: number;
  /** Page numbers of the non-zero pages, ascending. */
  pages: Uint32Array;
  /** Their contents, PAGE_SIZE bytes each, in the same order. */
  data: Uint8Array;
}

/** The non-zero pages of `mem` (a copy: the image does not change when `mem` does). */
export function readPages(mem: Uint8Array): PageImage {
  if (mem.byteOffset % 4 !== 0 || mem.length % PAGE_SIZE !== 0) throw new Error("readPages: memory must be whole, aligned pages");
  const words = new Uint32Array(mem.buffer, mem.byteOffset, mem.length >> 2);
  const count = mem.length / PAGE_SIZE;
  const present: number[] = [];
  for (let p = 0; p < count; p++) if (!isZeroPage(words, p * (PAGE_SIZE >> 2))) present.push(p);
  const data = new Uint8Array(present.length * PAGE_SIZE);
  present.forEach((p, i) => data.set(mem.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), i * PAGE_SIZE));
  return { bytes: mem.length, pages: Uint32Array.from(present), data };
}

/** Make `mem` what the image was: its pages, zero elsewhere. Checks the image first, so a bad one changes nothing. */
export function writePages(mem: Uint8Array, image: PageImage): void {
  const { pages, data } = image;
  if (image.bytes !== mem.length) throw new Error(`a memory image of ${image.bytes} bytes does not fit ${mem.length} bytes`);
  if (data.length !== pages.length * PAGE_SIZE) throw new Error(`a memory image lists ${pages.length} pages but holds ${data.length} bytes`);
  const count = mem.length / PAGE_SIZE;
  for (let i = 0; i < pages.length; i++) {
    if (pages[i] >= count || (i > 0 && pages[i] <= pages[i - 1])) throw new Error(`a memory image's page list is out of order or out of range at entry ${i}`);
  }
  // Pages outside the image are cleared only if they are not zero already: reading a page the
  // process never touched costs no memory, writing one commits it.
  const words = new Uint32Array(mem.buffer, mem.byteOffset, mem.length >> 2);
  let next = 0;
  for (let p = 0; p < count; p++) {
    if (next < pages.length && pages[next] === p) {
      mem.set(data.subarray(next * PAGE_SIZE, (next + 1) * PAGE_SIZE), p * PAGE_SIZE);
      next++;
    } else if (!isZeroPage(words, p * (PAGE_SIZE >> 2))) mem.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
  }
}

/**
 * A small function of its own, so that V8 optimizes it after a few pages; the same loop inlined
 * in readPages' outer loop ran unoptimized for seconds on the first save of a process.
 */
function isZeroPage(words: Uint32Array, start: number): boolean {
  const end = start + (PAGE_SIZE >> 2);
  for (let i = start; i < end; i += 4) {
    if ((words[i] | words[i + 1] | words[i + 2] | words[i + 3]) !== 0) return false;
  }
  return true;
}
