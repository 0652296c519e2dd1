/* demo: the guest `npm start` runs. A banner, what CPUID says, a small integer Mandelbrot, and
   a line of numbers. */
#include "rt.h"

static void cpu_info(void) {
  u32 a, b, c, d;
  char vendor[13];
  cpuid(0, &a, &b, &c, &d);
  u32 max_leaf = a;
  memcpy(vendor, &b, 4);
  memcpy(vendor + 4, &d, 4);
  memcpy(vendor + 8, &c, 4);
  vendor[12] = 0;
  printf("cpu: vendor \"%s\", max leaf %u\n", vendor, max_leaf);
  if (max_leaf < 1) return;
  cpuid(1, &a, &b, &c, &d);
  u32 family = (a >> 8) & 0xF, model = (a >> 4) & 0xF, stepping = a & 0xF;
  if (family == 0xF) family += (a >> 20) & 0xFF;
  if (family >= 6) model |= ((a >> 16) & 0xF) << 4;
  printf("cpu: family %u model %u stepping %u\n", family, model, stepping);
  static const struct { u32 bit; const char *name; } features[] = {
      {0, "fpu"}, {1, "vme"}, {2, "de"}, {3, "pse"}, {4, "tsc"}, {5, "msr"}, {6, "pae"},
      {8, "cx8"}, {9, "apic"}, {11, "sep"}, {13, "pge"}, {15, "cmov"}, {23, "mmx"},
      {24, "fxsr"}, {25, "sse"}, {26, "sse2"}};
  printf("cpu: features");
  for (u32 i = 0; i < sizeof features / sizeof features[0]; i++)
    if (d & (1u << features[i].bit)) printf(" %s", features[i].name);
  printf("\n");
}

/* Fixed point with 12 fractional bits; 40 iterations; prints an ASCII picture. */
static u32 mandelbrot(void) {
  static const char shades[] = " .:-=+*#%@";
  u32 total = 0;
  for (int row = 0; row < 18; row++) {
    char line[64];
    int y0 = -4915 + row * 546; /* -1.2 .. 1.2 */
    for (int col = 0; col < 56; col++) {
      int x0 = -8602 + col * 220; /* -2.1 .. 0.9 */
      int x = 0, y = 0, n = 0;
      while (n < 40) {
        int xx = (x * x) >> 12, yy = (y * y) >> 12;
        if (xx + yy > 4 << 12) break;
        y = ((2 * x * y) >> 12) + y0;
        x = xx - yy + x0;
        n++;
      }
      total += n;
      line[col] = shades[n >= 40 ? 9 : n % 9];
    }
    line[56] = 0;
    printf("  |%s|\n", line);
  }
  return total;
}

int guest_main(u32 magic, u32 info) {
  printf("\nvmi386 demo guest: hello from 32-bit protected mode\n");
  printf("multiboot: magic 0x%08x, info at 0x%x", magic, info);
  if (magic == 0x2BADB002 && (*(u32 *)info & 1))
    printf(", %u KiB low + %u KiB high memory", ((u32 *)info)[1], ((u32 *)info)[2]);
  printf("\n");
  cpu_info();
  u64 t0 = rdtsc();
  u32 iterations = mandelbrot();
  u64 t1 = rdtsc();
  printf("mandelbrot: %u iterations in total\n", iterations);
  u32 fib_a = 0, fib_b = 1;
  for (int i = 0; i < 40; i++) {
    u32 t = fib_a + fib_b;
    fib_a = fib_b;
    fib_b = t;
  }
  printf("fib(40) = %u, tsc ticks for the picture: %llu\n", fib_a, t1 - t0);
  CHECK_EQ(fib_a, 102334155, "fib(40)");
  CHECK_EQ(iterations, 12633, "mandelbrot iteration total");
  printf("bye\n");
  return 0;
}
