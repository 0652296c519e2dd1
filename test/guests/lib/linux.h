/* System calls and console output for the freestanding i386 Linux programs (linux-mm,
   linux-vm86): raw int $0x80, no C library, so they run on any kernel from 2.6 on. */
#ifndef LINUX_H
#define LINUX_H

#define SYS_exit 1
#define SYS_write 4

typedef unsigned int u32;

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}

static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  long r;
  /* EBP is the frame pointer gcc may need: pass the sixth argument through memory. */
  long args[2] = {a, f};
  __asm__ volatile("push %%ebp\n\tmov 4(%%ebx), %%ebp\n\tmov (%%ebx), %%ebx\n\tint $0x80\n\tpop %%ebp"
                   : "=a"(r) : "a"(n), "b"(args), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
  return r;
}

static u32 length(const char *s) {
  u32 n = 0;
  while (s[n]) n++;
  return n;
}

static void put(const char *s) {
  sys3(SYS_write, 1, (long)s, length(s));
}

#endif
