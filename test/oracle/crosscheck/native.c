/*
 * Native cross-check of the QEMU oracle: runs golden cases whose bytes mean the same in 64-bit
 * mode (register operands only, no stack, no INC/DEC 40-4F, no BCD) on this machine's own CPU,
 * to find where QEMU disagrees with real hardware on a flag the SDM defines. Same line format
 * as ../harness.c, without memory. x86-64 host only; not part of the test suite.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

uint32_t in_regs[8], out_regs[8];
uint64_t in_rflags, out_rflags, host_rsp, code_target, return_target;
void run_native(void);
void native_return(void);
static sigjmp_buf jb;
static volatile int vec;

static void on_signal(int sig, siginfo_t *info, void *ctx_) {
  (void)info;
  ucontext_t *ctx = ctx_;
  greg_t *g = ctx->uc_mcontext.gregs;
  out_regs[0] = g[REG_RAX]; out_regs[1] = g[REG_RCX]; out_regs[2] = g[REG_RDX]; out_regs[3] = g[REG_RBX];
  out_regs[4] = g[REG_RSP]; out_regs[5] = g[REG_RBP]; out_regs[6] = g[REG_RSI]; out_regs[7] = g[REG_RDI];
  out_rflags = g[REG_EFL];
  vec = sig == SIGFPE ? 0 : sig == SIGILL ? 6 : 13;
  siglongjmp(jb, 1);
}

int main(void) {
  uint8_t *code = mmap((void *)0x300000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  mmap((void *)0x380000, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  static uint8_t alt[65536];
  stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
  sigaltstack(&ss, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);
  sigaction(SIGILL, &sa, 0);
  sigaction(SIGSEGV, &sa, 0);
  return_target = (uint64_t)native_return;
  code_target = 0x300000;
  static char buf[1 << 16];
  while (fgets(buf, sizeof buf, stdin)) {
    char *t = strtok(buf, " \n");
    if (!t) continue;
    char *hex = strtok(0, " \n");
    int n = 0;
    for (; hex[2 * n] && hex[2 * n + 1]; n++) {
      unsigned b;
      sscanf(hex + 2 * n, "%2x", &b);
      code[n] = b;
    }
    /* JMP [RIP+0] then the 8-byte address. */
    code[n] = 0xff; code[n + 1] = 0x25; memset(code + n + 2, 0, 4);
    memcpy(code + n + 6, &return_target, 8);
    for (int i = 0; i < 8; i++) in_regs[i] = strtoul(strtok(0, " \n"), 0, 16);
    in_rflags = (strtoul(strtok(0, " \n"), 0, 16) & 0xcd5) | 0x202;
    vec = -1;
    if (sigsetjmp(jb, 1) == 0) run_native();
    printf("R");
    for (int i = 0; i < 8; i++) printf(" %x", out_regs[i]);
    printf(" %x %d 0\n", (uint32_t)out_rflags, vec);
  }
  return 0;
}
