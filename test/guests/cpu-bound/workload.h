/* The CPU-bound workload, shared verbatim by the multiboot guest and the Linux build whose
   qemu-i386 run gives the expected checksum. */
#ifndef WORKLOAD_H
#define WORKLOAD_H
unsigned int workload(unsigned int iterations);
/* Iteration counts: QUICK (about 14 million instructions) for the test suite, FULL (about
   320 million) for the benchmark; counted by valgrind --tool=lackey on the Linux build. */
#define WORKLOAD_QUICK 20
#define WORKLOAD_FULL 450
#endif
