/*
 * The QEMU side of the x87 oracle (test/fpu/generate.ts). Built with `gcc -m32 -static` and
 * run under qemu-i386. Reads cases from stdin: for each, u32 code length, the code, u32 data
 * length, the data. Maps the code at CODE and the data at DATA (the same addresses the vitest
 * side uses in the emulator's RAM), calls the code (it ends in RET here, HLT there), and writes
 * the data area back to stdout. The code may clobber only EAX, ECX, EDX and the flags.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CODE 0x00400000u
#define DATA 0x00500000u
#define SIZE 0x10000u

static int readAll(void *p, size_t n) { return fread(p, 1, n, stdin) == n; }

int main(void) {
  uint8_t *code = mmap((void *)CODE, SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *data = mmap((void *)DATA, SIZE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code != (uint8_t *)CODE || data != (uint8_t *)DATA) {
    fprintf(stderr, "harness: cannot map the code/data pages at their fixed addresses\n");
    return 2;
  }
  uint32_t n;
  while (readAll(&n, 4)) {
    if (n + 1 > SIZE || !readAll(code, n)) return 3;
    code[n] = 0xc3;
    uint32_t m;
    if (!readAll(&m, 4) || m > SIZE) return 4;
    memset(data, 0, SIZE);
    if (!readAll(data, m)) return 5;
    ((void (*)(void))code)();
    fwrite(data, 1, m, stdout);
  }
  return 0;
}
