/*
 * The Linux batching workload (`vmi386 bench batching`, its Linux part): memory-management
 * work whose page-table updates a VMI kernel makes through the ROM, in timed parts. Each part
 * starts with a marker line "@mm PART" on stdout (the console), written and drained
 * (TCSBRK) before the part's work begins, so the host can snapshot its counters between
 * parts; "@mm end" follows the last part. Then "mm: ok" or "mm: FAIL ...".
 *
 *   mm [quick]        run every part; "quick" is a small version for tests
 *   mm true           exit 0 at once (what the fork-big child execs: argv[0] true)
 *
 * Freestanding (raw int $0x80 system calls, no C library): it runs on any i386 Linux from 2.6
 * on, as the CONFIG_VMI kernel (2.6.32) needs, and its work is the same on every run.
 */

#define SYS_fork 2
#define SYS_waitpid 7
#define SYS_execve 11
#define SYS_ioctl 54
#define SYS_gettimeofday 78
#define SYS_munmap 91
#define SYS_mprotect 125
#define SYS_mmap2 192

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define TCSBRK 0x5409
#define PAGE 4096u
#define MiB (1u << 20)

#include "../lib/linux.h"

static void put_u(u32 v) {
  char b[12];
  int i = 11;
  b[i] = 0;
  do b[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
  put(b + i);
}

static __attribute__((noreturn)) void quit(int code) {
  for (;;) sys3(SYS_exit, code, 0, 0);
}

static u32 failures;

static void fail(const char *what, u32 v) {
  put("mm: FAIL ");
  put(what);
  put(" ");
  put_u(v);
  put("\n");
  failures++;
}

static u32 now_us(void) {
  long tv[2];
  sys3(SYS_gettimeofday, (long)tv, 0, 0);
  return (u32)tv[0] * 1000000u + (u32)tv[1];
}

static u32 part_start;

/* Ends the previous part (its guest time on stdout) and starts `name` behind a drained marker. */
static void mark(const char *name) {
  if (part_start) {
    put("mm: took ");
    put_u(now_us() - part_start);
    put(" us\n");
  }
  put("@mm ");
  put(name);
  put("\n");
  /* TCSBRK with a non-zero argument: wait until the console has sent everything. */
  sys3(SYS_ioctl, 1, TCSBRK, 1);
  part_start = now_us();
}

static char *map(u32 bytes) {
  long p = sys6(SYS_mmap2, 0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p < 0 && p > -4096) {
    fail("mmap", (u32)-p);
    quit(1);
  }
  return (char *)p;
}

static void touch(char *p, u32 bytes, u32 seed) {
  for (u32 off = 0; off < bytes; off += PAGE) *(volatile u32 *)(p + off) = seed + off;
}

static u32 check(const char *p, u32 bytes, u32 seed) {
  u32 bad = 0;
  for (u32 off = 0; off < bytes; off += PAGE) bad += *(const volatile u32 *)(p + off) != seed + off;
  return bad;
}

static char *const no_env[] = {0};
/* This program's path (argv[0]): the fork-big child execs it. */
static const char *self;

/* fork; the child runs `child` (which must not return); the parent waits and checks status 0. */
static void fork_wait(void (*child)(void *), void *arg, const char *what) {
  long pid = sys3(SYS_fork, 0, 0, 0);
  if (pid == 0) {
    child(arg);
    quit(127);
  }
  if (pid < 0) {
    fail(what, (u32)-pid);
    return;
  }
  int status = -1;
  sys3(SYS_waitpid, pid, (long)&status, 0);
  if (status != 0) fail(what, (u32)status);
}

static void exec_path(const char *path, const char *arg) {
  char *const argv[] = {(char *)path, (char *)arg, 0};
  sys3(SYS_execve, (long)path, (long)argv, (long)no_env);
}

struct big {
  char *p;
  u32 bytes;
  u32 seed;
};

/* The fork-big child: sees the parent's memory (copy on write), then execs, dropping it all. */
static void big_child(void *arg) {
  struct big *b = arg;
  u32 bad = check(b->p, b->bytes, b->seed);
  if (bad) quit(2);
  exec_path(self, "true");
}

static void true_child(void *arg) {
  (void)arg;
  exec_path("/bin/true", 0);
}

int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == 't') quit(0);
  self = argv[0];
  int quick = argc > 1 && argv[1][0] == 'q';
  u32 big = (quick ? 4 : 32) * MiB, big_forks = quick ? 1 : 3;
  u32 region = (quick ? 2 : 16) * MiB;
  u32 sweeps = quick ? 2 : 8;
  u32 storm = quick ? 10 : 200;
  put("mm: start\n");

  /* A process touches `big` bytes: a demand-zero fault per page. */
  mark("touch-big");
  struct big b = {map(big), big, 0x1000};
  touch(b.p, big, b.seed);

  /* fork/exec of that process: copy_pte_range copies its page tables into the child (and
     write-protects the parent's), the child's exec tears its copy down (exit_mmap). */
  mark("fork-exec");
  for (u32 i = 0; i < big_forks; i++) fork_wait(big_child, &b, "fork-exec child");

  /* The parent writes every page again: a copy-on-write fault each (the child is gone, so
     each reuses its page). */
  mark("cow");
  b.seed += 7;
  touch(b.p, big, b.seed);
  u32 bad = check(b.p, big, b.seed);
  if (bad) fail("cow check", bad);

  /* Three regions mapped and touched, one fault per page. */
  mark("mmap-touch");
  char *r[3];
  for (u32 i = 0; i < 3; i++) {
    r[i] = map(region);
    touch(r[i], region, i);
  }

  /* mprotect sweeps over a touched region (change_pte_range): read-only, then writable. */
  mark("mprotect");
  for (u32 i = 0; i < sweeps; i++) {
    sys3(SYS_mprotect, (long)r[0], region, PROT_READ);
    sys3(SYS_mprotect, (long)r[0], region, PROT_READ | PROT_WRITE);
  }

  /* munmap of everything mapped so far (zap_pte_range). */
  mark("munmap");
  for (u32 i = 0; i < 3; i++) {
    bad = check(r[i], region, i);
    if (bad) fail("region check", bad);
    sys3(SYS_munmap, (long)r[i], region, 0);
  }
  sys3(SYS_munmap, (long)b.p, big, 0);

  /* Small fork/exec storm: a short-lived /bin/true each. */
  mark("fork-storm");
  for (u32 i = 0; i < storm; i++) fork_wait(true_child, 0, "fork-storm child");

  mark("end");
  if (failures) {
    put("mm: FAIL ");
    put_u(failures);
    put(" failures\n");
    quit(1);
  }
  put("mm: ok\n");
  quit(0);
}

/* The process entry: argc, argv on the stack as the kernel leaves them. */
__asm__(".globl _start\n_start:\n\txor %ebp, %ebp\n\tlea 4(%esp), %eax\n\tpush %eax\n\tpushl -4(%eax)\n\tcall main\n\tpush %eax\n\tmov $1, %eax\n\tpop %ebx\n\tint $0x80\n");
