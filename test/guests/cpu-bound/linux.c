/* The workload as a Linux i386 static program, run under qemu-i386 to produce the expected
   checksums (test/guests/build.sh expect). Prints the same line the guest prints. */
#include <stdio.h>
#include <stdlib.h>
#include "workload.h"

int main(int argc, char **argv) {
  unsigned int n = argc > 1 ? (unsigned int)strtoul(argv[1], 0, 0) : WORKLOAD_QUICK;
  printf("cpu-bound: iterations=%u checksum=0x%08x\n", n, workload(n));
  return 0;
}
