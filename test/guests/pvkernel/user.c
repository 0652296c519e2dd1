/* pvkernel's ring-3 programs. They run from the kernel image's text (mapped user-readable) and
   touch only their registers, their stack and their own user memory, so every value they compute
   depends on their own program order alone, never on how the timer interleaves them. */
#include "rt.h"

/* Each process uses three page tables: the heap and demand area, the shared area, the stack. */
#define HEAP 0x40000000u   /* mmap/munmap storms: 64 to 160 pages at a time */
#define DEMAND 0x40200000u /* demand-zero faults, same page table as the heap */
#define SHARED 0x50000000u /* filled before the forks: copied by every fork, copy-on-write */
#define NSHARED 256        /* pages: one full page table's worth of fork copying */
#define NDEMAND 8          /* pages touched per process */
#define NCOW 4             /* shared pages written per process */
#define NCHILDREN 6
#define ROUNDS 6           /* mmap/munmap rounds per child */

static inline u32 sys(u32 n, u32 a, u32 b) {
  u32 r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b) : "memory");
  return r;
}
static __attribute__((noreturn)) void sys_exit(u32 v) {
  sys(0, v, 0);
  __builtin_unreachable();
}
static u32 sys_fork(void) { return sys(1, 0, 0); }
static u32 sys_mmap(u32 a, u32 n) { return sys(2, a, n); }
static u32 sys_munmap(u32 a, u32 n) { return sys(3, a, n); }
static void sys_wait(void) { sys(5, 0, 0); }

static u32 mix(u32 h, u32 v) {
  h = (h ^ v) * 0x01000193u;
  return h ^ (h >> 15);
}

/* One mmap/munmap storm: `rounds` whole ranges of 64 to 160 pages mapped, each page written
   and read back, and unmapped again. */
static u32 storm(u32 h, u32 k, u32 rounds) {
  for (u32 r = 0; r < rounds; r++) {
    u32 n = 64 + (r * 37 + k * 11) % 97, base = HEAP + (((r + k) & 3) << 14);
    if (sys_mmap(base, n)) return 0xDEAD0000u | r;
    for (u32 j = 0; j < n; j++) {
      volatile u32 *pg = (volatile u32 *)(base + (j << 12));
      pg[(j * 7) & 1023] = mix(r, j);
      h = mix(h, pg[(j * 7) & 1023] + pg[1023]);
    }
    if (sys_munmap(base, n)) return 0xDEAE0000u | r;
  }
  return h;
}

/* NDEMAND demand-zero pages at d, touched in a scattered order. */
static u32 demand(u32 h, u32 k, volatile u32 *d) {
  for (u32 j = 0; j < NDEMAND; j++) d[((j * 5) % NDEMAND) * 1024 + j] = mix(k, j);
  for (u32 j = 0; j < NDEMAND; j++) h = mix(h, d[((j * 5) % NDEMAND) * 1024 + j] + d[j * 1024 + 1023]);
  return h;
}

/* A grandchild: a copy of its parent's address space, a little demand paging, copy-on-write
   and a short storm of its own. */
static u32 grandchild(u32 k) {
  volatile u32 *sh = (volatile u32 *)SHARED;
  u32 h = demand(0x1234567u + k, k, (volatile u32 *)(DEMAND + 0x100000u));
  for (u32 j = 0; j < 2; j++) {
    u32 p = (k * 5 + j * 11) % NSHARED;
    sh[p * 1024 + 100 + j] ^= h;
    h = mix(h, sh[p * 1024 + 100 + j] + sh[p * 1024]);
  }
  return storm(h, k, 2);
}

static u32 work(u32 k, u32 rounds, volatile u32 *d) {
  volatile u32 *sh = (volatile u32 *)SHARED;
  u32 h = k + 1;
  /* read the inherited snapshot */
  for (u32 i = 0; i < NSHARED; i += 4) h = mix(h, sh[i * 1024 + ((k * 13 + i) & 1023)]);
  /* copy-on-write: NCOW pages written */
  for (u32 j = 0; j < NCOW; j++) {
    u32 p = (k * 7 + j * 67) % NSHARED;
    sh[p * 1024 + j] += k + j;
    h = mix(h, sh[p * 1024 + j]);
  }
  h = demand(h, k, d);
  h = storm(h, k, rounds);
  if (k % 3 == 0) {
    if (sys_fork() == 0) sys_exit(grandchild(k));
    h = mix(h, 0x77);
  }
  return h;
}

/* The first process: fills the shared area, then `scale` generations of NCHILDREN children
   forked from it (each inheriting the area as it is then), doing its own share and waiting for
   them between generations. */
__attribute__((regparm(3), noreturn)) void user_init(u32 scale);
__attribute__((regparm(3), noreturn)) void user_init(u32 scale) {
  volatile u32 *sh = (volatile u32 *)SHARED;
  u32 h = 0;
  if (sys_mmap(SHARED, NSHARED)) sys_exit(0xBAD);
  for (u32 i = 0; i < NSHARED * 1024; i += 3) sh[i] = i * 2654435761u;
  for (u32 g = 0; g < scale; g++) {
    for (u32 k = 0; k < NCHILDREN; k++) {
      u32 id = g * NCHILDREN + k;
      if (sys_fork() == 0) sys_exit(work(id, ROUNDS, (volatile u32 *)DEMAND));
      sh[((id * 11) % NSHARED) * 1024 + 7] += id; /* the parent's own copy-on-write faults */
    }
    /* its own demand pages stay mapped: every later fork copies them */
    h = mix(h, work(1000 + g, ROUNDS / 3, (volatile u32 *)(DEMAND + 0x80000u + (g & 7) * 0x8000u)));
    sys_wait();
  }
  for (u32 i = 0; i < NSHARED; i++) h = mix(h, sh[i * 1024 + 7]);
  sys_exit(h);
}
