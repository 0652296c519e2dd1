/* smc: self-modifying and generated code. The i386 rule (SDM Vol. 3 §8.1.3): a store into the
   instruction stream is guaranteed to be seen after a jump (or a serializing instruction), so
   every modification here is followed by a jmp, a call or a ret before the new code runs. */
#include "rt.h"

static u8 buf[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
typedef u32 (*fn0)(void);
typedef u32 (*fn2)(u32, u32);

/* mov eax, imm32; ret */
static void emit_mov_ret(u8 *p, u32 imm) {
  p[0] = 0xB8;
  memcpy(p + 1, &imm, 4);
  p[5] = 0xC3;
}

static void generated_code(void) {
  emit_mov_ret(buf, 0x11111111);
  u32 r1 = ((fn0)buf)();
  emit_mov_ret(buf, 0x22222222);
  u32 r2 = ((fn0)buf)();
  buf[1] = 0x33; /* patch only the low byte of the immediate */
  u32 r3 = ((fn0)buf)();
  CHECK_EQ(r1, 0x11111111, "generated mov/ret");
  CHECK_EQ(r2, 0x22222222, "regenerated mov/ret");
  CHECK_EQ(r3, 0x22222233, "patched immediate byte");
  printf("ok   generated code: %08x %08x %08x\n", r1, r2, r3);

  /* An instruction that straddles the page boundary; patch the half on the second page. */
  u8 *p = buf + PAGE_SIZE - 3;
  emit_mov_ret(p, 0x44444444);
  u32 r4 = ((fn0)p)();
  buf[PAGE_SIZE + 1] = 0x55; /* byte 3 of the immediate */
  buf[PAGE_SIZE + 2] = 0xC3; /* unchanged ret, rewritten anyway */
  u32 r5 = ((fn0)p)();
  CHECK_EQ(r4, 0x44444444, "cross-page mov/ret");
  CHECK_EQ(r5, 0x55444444, "cross-page patch on the second page");
  printf("ok   cross-page instruction: %08x %08x\n", r4, r5);
}

/* A hot loop: 0: add eax, imm32 ; dec ecx ; jnz 0 ; ret. Called enough times to be "hot" in
   any block cache, then its immediate and then its opcode are patched. */
static u32 run_loop(u32 count) {
  u32 r;
  __asm__ volatile("call *%3" : "=a"(r), "+c"(count) : "a"(0), "r"(buf + 0x100) : "memory", "edx");
  return r;
}

static void hot_loop(void) {
  u8 *p = buf + 0x100;
  static const u8 code[] = {0x05, 1, 0, 0, 0, 0x49, 0x75, 0xF8, 0xC3};
  memcpy(p, code, sizeof code);
  u32 total = 0;
  for (int i = 0; i < 200; i++) total += run_loop(100);
  CHECK_EQ(total, 20000, "hot loop, add 1");
  p[1] = 3;
  u32 r3 = run_loop(1000);
  CHECK_EQ(r3, 3000, "hot loop after patching the immediate to 3");
  p[0] = 0x2D; /* add eax, imm32 -> sub eax, imm32 */
  u32 rs = run_loop(1000);
  CHECK_EQ(rs, (u32)-3000, "hot loop after patching add to sub");
  /* rep movsb writing the code: the string instruction's stores must invalidate too. */
  static const u8 code2[] = {0x05, 7, 0, 0, 0, 0x49, 0x75, 0xF8, 0xC3};
  memcpy(p, code2, sizeof code2);
  u32 r7 = run_loop(1000);
  CHECK_EQ(r7, 7000, "hot loop rewritten by rep movs");
  printf("ok   hot loop: %u, %u, %d, %u\n", total, r3, (int)rs, r7);
}

/* Code that patches itself inside one block: each iteration rewrites the immediate of the mov
   it has just executed, and the backward jump makes the next iteration see it. */
static u32 self_patching_loop(void) {
  u32 sum;
  __asm__ volatile("xorl %%eax, %%eax\n\t"
                   "movl $10, %%ecx\n"
                   "1:\tmovl $5, %%edx\n\t"
                   "addl %%edx, %%eax\n\t"
                   "incl 1b+1\n\t"
                   "decl %%ecx\n\t"
                   "jnz 1b\n\t"
                   "movl $5, 1b+1\n" /* restore, so a second run gives the same answer */
                   : "=a"(sum) : : "ecx", "edx", "memory");
  return sum;
}

/* The store lands just ahead of EIP, in the same page, then a jmp (§8.1.3) reaches it. */
static u32 patch_ahead(u32 value) {
  u32 r;
  __asm__ volatile("movb %b1, 2f+1\n\t"
                   "jmp 2f\n"
                   "2:\tmovb $0, %%al\n\t"
                   "movzbl %%al, %0"
                   : "=a"(r) : "q"(value) : "memory");
  return r;
}

/* Through paging: write the code through one virtual page, run it through another. */
static void aliased_code(void) {
  u32 *pd = pg_identity_directory();
  u32 code_va = 0x40000000, write_va = 0x40001000, phys = (u32)pg_alloc();
  pg_map(pd, code_va, phys, PTE_P | PTE_W);
  pg_map(pd, write_va, phys, PTE_P | PTE_W);
  pg_enable(pd, 0);
  emit_mov_ret((u8 *)write_va, 0x600DC0DE);
  u32 r1 = ((fn0)code_va)();
  ((u8 *)write_va)[1] = 0xFE;
  u32 r2 = ((fn0)code_va)();
  /* Remap the code page to a different physical page with different code. */
  u32 phys2 = (u32)pg_alloc();
  emit_mov_ret((u8 *)phys2, 0x0BADF00D);
  pg_map(pd, code_va, phys2, PTE_P | PTE_W);
  invlpg((void *)code_va);
  u32 r3 = ((fn0)code_va)();
  pg_disable();
  CHECK_EQ(r1, 0x600DC0DE, "code written through an alias");
  CHECK_EQ(r2, 0x600DC0FE, "code patched through an alias");
  CHECK_EQ(r3, 0x0BADF00D, "code page remapped");
  printf("ok   aliased code pages: %08x %08x %08x\n", r1, r2, r3);
}

int guest_main(u32 magic, u32 info) {
  (void)magic, (void)info;
  printf("smc: code buffer at %p\n", buf);
  generated_code();
  hot_loop();
  u32 s1 = self_patching_loop(), s2 = self_patching_loop();
  CHECK_EQ(s1, 95, "self-patching loop"); /* 5 + 6 + ... + 14 */
  CHECK_EQ(s2, 95, "self-patching loop, second run");
  printf("ok   self-patching loop: %u %u\n", s1, s2);
  u32 a = patch_ahead(0x42), b = patch_ahead(0x99);
  CHECK_EQ(a, 0x42, "store just ahead of EIP");
  CHECK_EQ(b, 0x99, "store just ahead of EIP, second time");
  printf("ok   patch ahead of EIP: %x %x\n", a, b);
  aliased_code();
  return rt_failures ? 1 : 0;
}
