/* cpu-bound: the workload (workload.c, also built for Linux) run as a multiboot guest. The
   checksum line is compared with expected.txt, which qemu-i386 produced from the same source. */
#include "rt.h"
#include "workload.h"

#ifndef ITERATIONS
#define ITERATIONS WORKLOAD_QUICK
#endif

int guest_main(u32 magic, u32 info) {
  (void)magic, (void)info;
  printf("cpu-bound: running %u iterations\n", ITERATIONS);
  u64 t0 = rdtsc();
  u32 sum = workload(ITERATIONS);
  u64 t1 = rdtsc();
  printf("cpu-bound: iterations=%u checksum=0x%08x\n", ITERATIONS, sum);
  printf("cpu-bound: tsc delta %llu\n", t1 - t0);
  return 0;
}
