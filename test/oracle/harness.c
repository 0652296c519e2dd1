/*
 * Oracle harness: runs instruction test cases on an i386 CPU (in practice qemu-i386, since the
 * kernel here runs no 32-bit code) and prints what each case left behind.
 *
 * Build: gcc -m32 -static -no-pie -O1 -o harness harness.c trampoline.S  (see build.sh)
 *
 * Input, one case per line, hex numbers separated by spaces:
 *   C <code> <eax> <ecx> <edx> <ebx> <esp> <ebp> <esi> <edi> <eflags> <seed> [<addr>=<bytes> ...]
 * Output, one line per case:
 *   R <eax> <ecx> <edx> <ebx> <esp> <ebp> <esi> <edi> <eflags> <vector> <eip> [<addr>=<bytes> ...]
 * <vector> is decimal, -1 when the case ran to its end without an exception; <eip> is the EIP
 * the exception reported (the faulting instruction for a fault, the next one for a trap).
 * The trailing <addr>=<bytes> are the runs of the data area and the stack window whose bytes
 * differ from their initial contents.
 *
 * Memory: code page at CODE, data area at DATA (DATA_SIZE bytes), stack at STACK_LO..STACK_HI,
 * and a low area at LOW for 16-bit addressing. The data area, the stack window
 * [WINDOW_LO, STACK_HI) and the low area start as one pseudo-random pattern from
 * the case's seed (fill_pattern; fillPattern in test/oracle/cases.ts is the same
 * function), then the case's <addr>=<bytes> patches are applied.
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
#include <unistd.h>

#define CODE 0x00300000u
#define CODE_SIZE 0x1000u
#define DATA 0x00200000u
#define DATA_SIZE 0x1000u
#define STACK_LO 0x00380000u
#define STACK_HI 0x00390000u
#define WINDOW_LO 0x0038e000u
#define WINDOW_SIZE (STACK_HI - WINDOW_LO)
/* Reachable with 16-bit addressing (0x67), whose effective addresses stay below 64 KiB. */
#define LOW 0x00008000u
#define LOW_SIZE 0x1000u

/* Shared with trampoline.S. */
uint32_t in_regs[8], in_eflags, out_regs[8], out_eflags, host_esp, code_target, return_target;
void run_case(void);
void case_return(void);

static sigjmp_buf fault_jump;
static volatile int fault_vector;
static volatile uint32_t fault_eip;
static uint8_t initial[DATA_SIZE + WINDOW_SIZE + LOW_SIZE];

/* xorshift32 over the data area, the stack window, then the low area; one u32 (little-endian) per step. */
static void fill_pattern(uint32_t seed, uint8_t *out, size_t len) {
  uint32_t s = (seed * 0x9e3779b9u) ^ 0xa5a5a5a5u;
  if (s == 0) s = 1;
  for (size_t i = 0; i < len; i += 4) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    memcpy(out + i, &s, 4);
  }
}

/* Skips legacy prefixes (SDM Vol. 2 §2.1.1) to the opcode byte of the instruction at p. */
static const uint8_t *skip_prefixes(const uint8_t *p) {
  for (int i = 0; i < 15; i++, p++) {
    switch (*p) {
    case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
    case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
      continue;
    default:
      return p;
    }
  }
  return p;
}

/*
 * Which exception the CPU raised. The signal context's trapno would say, but qemu-user leaves
 * it at -1, so the vector comes from the signal and its si_code (what Linux's traps.c sends):
 *   SIGFPE            #DE 0 (divide error)
 *   SIGTRAP           #BP 3 (INT3; EIP is after it)
 *   SIGILL            #UD 6
 *   SIGSEGV SEGV_*ERR #PF 14
 *   SIGSEGV SI_KERNEL #OF 4 if the instruction just before EIP is INTO (a trap: EIP is after
 *                     it), #BR 5 if the instruction at EIP is BOUND (a fault), else #GP 13.
 */
static int vector_of(int sig, const siginfo_t *info, uint32_t eip) {
  switch (sig) {
  case SIGFPE: return 0;
  case SIGTRAP: return 3;
  case SIGILL: return 6;
  case SIGBUS: return 17;
  case SIGSEGV:
    if (info->si_code == SEGV_MAPERR || info->si_code == SEGV_ACCERR) return 14;
    if (eip >= CODE + 1 && eip <= CODE + CODE_SIZE && ((const uint8_t *)(uintptr_t)eip)[-1] == 0xce) return 4;
    if (eip >= CODE && eip < CODE + CODE_SIZE - 16 && *skip_prefixes((const uint8_t *)(uintptr_t)eip) == 0x62) return 5;
    return 13;
  default: return -2;
  }
}

static void on_signal(int sig, siginfo_t *info, void *ctx_) {
  ucontext_t *ctx = ctx_;
  greg_t *g = ctx->uc_mcontext.gregs;
  out_regs[0] = g[REG_EAX];
  out_regs[1] = g[REG_ECX];
  out_regs[2] = g[REG_EDX];
  out_regs[3] = g[REG_EBX];
  out_regs[4] = g[REG_ESP];
  out_regs[5] = g[REG_EBP];
  out_regs[6] = g[REG_ESI];
  out_regs[7] = g[REG_EDI];
  out_eflags = g[REG_EFL];
  fault_eip = g[REG_EIP];
  fault_vector = vector_of(sig, info, fault_eip);
  siglongjmp(fault_jump, 1);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "harness: a case ran for more than 5 seconds\n";
  write(2, msg, sizeof msg - 1);
  _exit(3);
}

static void *map_fixed(uint32_t addr, uint32_t size, int prot) {
  void *p = mmap((void *)(uintptr_t)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED || p != (void *)(uintptr_t)addr) {
    fprintf(stderr, "harness: cannot map %#x bytes at %#x\n", size, addr);
    exit(2);
  }
  return p;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes hex into out; returns the byte count or -1. */
static int unhex(const char *s, uint8_t *out, int max) {
  int n = 0;
  while (s[0] && s[1]) {
    int hi = hexval(s[0]), lo = hexval(s[1]);
    if (hi < 0 || lo < 0 || n >= max) return -1;
    out[n++] = (uint8_t)(hi << 4 | lo);
    s += 2;
  }
  return s[0] ? -1 : n;
}

/* Prints the runs of [base, base+len) that differ from before[]; runs closer than 4 bytes merge. */
static void print_changes(uint32_t base, const uint8_t *before, uint32_t len) {
  const uint8_t *now = (const uint8_t *)(uintptr_t)base;
  uint32_t i = 0;
  while (i < len) {
    if (now[i] == before[i]) { i++; continue; }
    uint32_t start = i, end = i + 1, j = i + 1;
    while (j < len && j < end + 4) {
      if (now[j] != before[j]) end = j + 1;
      j++;
    }
    printf(" %x=", base + start);
    for (uint32_t k = start; k < end; k++) printf("%02x", now[k]);
    i = end;
  }
}

static void fail(int line, const char *why) {
  fprintf(stderr, "harness: input line %d: %s\n", line, why);
  exit(2);
}

int main(void) {
  static char buf[1 << 16];
  static uint8_t code[CODE_SIZE];
  map_fixed(CODE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
  map_fixed(DATA, DATA_SIZE, PROT_READ | PROT_WRITE);
  map_fixed(STACK_LO, STACK_HI - STACK_LO, PROT_READ | PROT_WRITE);
  map_fixed(LOW, LOW_SIZE, PROT_READ | PROT_WRITE);

  static uint8_t altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  int sigs[] = {SIGFPE, SIGSEGV, SIGILL, SIGTRAP, SIGBUS};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, 0);
  signal(SIGALRM, on_alarm);

  return_target = (uint32_t)(uintptr_t)case_return;
  code_target = CODE;
  int line = 0;
  while (fgets(buf, sizeof buf, stdin)) {
    line++;
    char *tok = strtok(buf, " \n");
    if (!tok) continue;
    if (strcmp(tok, "C") != 0) fail(line, "expected C");
    char *codehex = strtok(0, " \n");
    if (!codehex) fail(line, "no code");
    int n = unhex(codehex, code, CODE_SIZE - 8);
    if (n < 0) fail(line, "bad code hex");
    uint32_t v[10];
    for (int i = 0; i < 10; i++) {
      char *t = strtok(0, " \n");
      if (!t) fail(line, "too few numbers");
      v[i] = (uint32_t)strtoul(t, 0, 16);
    }
    fill_pattern(v[9], initial, sizeof initial);
    while ((tok = strtok(0, " \n"))) {
      char *eq = strchr(tok, '=');
      if (!eq) fail(line, "bad patch");
      *eq = 0;
      uint32_t addr = (uint32_t)strtoul(tok, 0, 16);
      static uint8_t bytes[0x4000];
      int m = unhex(eq + 1, bytes, sizeof bytes);
      if (m < 0) fail(line, "bad patch hex");
      for (int k = 0; k < m; k++) {
        uint32_t a = addr + k;
        if (a >= DATA && a < DATA + DATA_SIZE) initial[a - DATA] = bytes[k];
        else if (a >= WINDOW_LO && a < STACK_HI) initial[DATA_SIZE + a - WINDOW_LO] = bytes[k];
        else if (a >= LOW && a < LOW + LOW_SIZE) initial[DATA_SIZE + WINDOW_SIZE + a - LOW] = bytes[k];
        else fail(line, "patch outside the data area, the stack window and the low area");
      }
    }
    memcpy((void *)(uintptr_t)DATA, initial, DATA_SIZE);
    memcpy((void *)(uintptr_t)WINDOW_LO, initial + DATA_SIZE, WINDOW_SIZE);
    memcpy((void *)(uintptr_t)LOW, initial + DATA_SIZE + WINDOW_SIZE, LOW_SIZE);
    /* The case's code, then JMP [return_target] (FF /4 with a disp32). */
    uint8_t *cp = (uint8_t *)(uintptr_t)CODE;
    memcpy(cp, code, n);
    cp[n] = 0xff;
    cp[n + 1] = 0x25;
    uint32_t rt = (uint32_t)(uintptr_t)&return_target;
    memcpy(cp + n + 2, &rt, 4);
    memcpy(in_regs, v, 32);
    /* Only the status flags and DF; IF, IOPL, TF, AC and NT stay as user mode has them. */
    in_eflags = (v[8] & 0x0cd5) | 0x202;

    fault_vector = -1;
    fault_eip = 0;
    alarm(5);
    if (sigsetjmp(fault_jump, 1) == 0) run_case();
    alarm(0);

    printf("R");
    for (int i = 0; i < 8; i++) printf(" %x", out_regs[i]);
    printf(" %x %d %x", out_eflags, fault_vector, fault_vector < 0 ? 0 : fault_eip);
    print_changes(DATA, initial, DATA_SIZE);
    print_changes(WINDOW_LO, initial + DATA_SIZE, WINDOW_SIZE);
    print_changes(LOW, initial + DATA_SIZE + WINDOW_SIZE, LOW_SIZE);
    printf("\n");
    fflush(stdout); /* so a crash of qemu-i386 itself still shows which case it was */
  }
  return 0;
}
