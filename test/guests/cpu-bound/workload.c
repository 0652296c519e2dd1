/* A mix of integer work gcc -O2 turns into ordinary i686 code: table CRC32, an xorshift PRNG,
   a shell sort, a sieve, an integer matrix multiply, 64-bit multiplies, 32-bit divides, bit
   twiddling, and block copies/fills through memcpy/memset (rep movs/stos in the guest).
   No floating point, no undefined behaviour, no libc beyond memcpy/memset/memcmp. */
#include "workload.h"

typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned char u8;

void *memcpy(void *dst, const void *src, unsigned int n);
void *memset(void *dst, int c, unsigned int n);
int memcmp(const void *a, const void *b, unsigned int n);

#define BUF_SIZE 8192
#define SORT_N 512
#define SIEVE_N 16384
#define MAT_N 12

static u32 crc_table[256];
static u8 buf_a[BUF_SIZE], buf_b[BUF_SIZE];
static u32 sort_v[SORT_N];
static u8 sieve[SIEVE_N];
static int mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];
static u32 rng_state;

static u32 xorshift(void) {
  u32 x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

static void crc_init(void) {
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static u32 crc32(const u8 *p, u32 n, u32 crc) {
  crc = ~crc;
  for (u32 i = 0; i < n; i++) crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

static u32 fnv1a(const u8 *p, u32 n) {
  u32 h = 2166136261u;
  for (u32 i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static void shell_sort(u32 *v, int n) {
  static const int gaps[] = {301, 132, 57, 23, 10, 4, 1};
  for (unsigned g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
    int gap = gaps[g];
    for (int i = gap; i < n; i++) {
      u32 t = v[i];
      int j = i;
      while (j >= gap && v[j - gap] > t) {
        v[j] = v[j - gap];
        j -= gap;
      }
      v[j] = t;
    }
  }
}

static u32 count_primes(u32 limit) {
  memset(sieve, 1, limit);
  sieve[0] = sieve[1] = 0;
  for (u32 i = 2; i * i < limit; i++)
    if (sieve[i])
      for (u32 j = i * i; j < limit; j += i) sieve[j] = 0;
  u32 count = 0, sum = 0;
  for (u32 i = 0; i < limit; i++)
    if (sieve[i]) count++, sum += i;
  return count ^ (sum << 7);
}

static u32 matmul(u32 seed) {
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      mat_a[i][j] = (int)((seed >> ((i + j) & 15)) & 0xFF) - 128 + i * j;
      mat_b[i][j] = (int)(xorshift() & 0x3FF) - 512;
    }
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) {
      int s = 0;
      for (int k = 0; k < MAT_N; k++) s += mat_a[i][k] * mat_b[k][j];
      mat_c[i][j] = s;
    }
  u32 h = 0;
  for (int i = 0; i < MAT_N; i++)
    for (int j = 0; j < MAT_N; j++) h = (h << 5 | h >> 27) ^ (u32)mat_c[i][j];
  return h;
}

static u32 popcount(u32 x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  return (((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24;
}

static u32 arith(u32 seed) {
  u32 acc = seed | 1;
  u64 wide = seed;
  for (u32 i = 1; i < 2000; i++) {
    u32 r = xorshift();
    wide = wide * (r | 1) + (wide >> 29);      /* 64-bit multiply: mul/imul with edx:eax */
    acc += (r % i) + (r / (i + 3));           /* 32-bit div */
    acc ^= (u32)((int)r >> (i & 31));          /* arithmetic shift */
    acc = (acc << (r & 31)) | (acc >> ((32 - (r & 31)) & 31)); /* rotate */
    acc += popcount(r) + (r ? __builtin_ctz(r) : 0);
    if ((int)(acc - r) < 0) acc += 0x9E3779B9u; /* cmov or a branch */
    acc -= (u32)(wide >> 32);
  }
  return acc ^ (u32)wide;
}

static u32 strings(u32 seed) {
  /* Overlapping-free block moves of odd sizes and offsets, fills, and comparisons. */
  u32 h = seed;
  for (u32 round = 0; round < 16; round++) {
    u32 r = xorshift();
    u32 n = 100 + (r & 0x7FF), src = (r >> 11) & 0x3FF, dst = (r >> 21) & 0x3FF;
    memcpy(buf_b + dst, buf_a + src, n);
    memset(buf_b + ((dst + n) & 0xFFF), (int)(r >> 24), (r >> 3) & 0xFF);
    h = h * 31 + (u32)memcmp(buf_a + src, buf_b + dst, n) + buf_b[(dst + n / 2) & 0x1FFF];
  }
  return h ^ fnv1a(buf_b, BUF_SIZE);
}

unsigned int workload(unsigned int iterations) {
  rng_state = 0x12345678u;
  crc_init();
  for (u32 i = 0; i < BUF_SIZE; i++) buf_a[i] = (u8)(xorshift() >> 24);
  u32 sum = 0;
  for (u32 it = 0; it < iterations; it++) {
    u32 crc = crc32(buf_a, BUF_SIZE, sum);
    for (int i = 0; i < SORT_N; i++) sort_v[i] = xorshift() ^ crc;
    shell_sort(sort_v, SORT_N);
    u32 sorted = 0;
    for (int i = 1; i < SORT_N; i++) sorted += sort_v[i - 1] <= sort_v[i];
    u32 primes = count_primes(SIEVE_N - (it & 0xFF));
    u32 m = matmul(crc ^ sum);
    u32 a = arith(sum + it);
    u32 s = strings(crc);
    /* Feed the results back into the data so every iteration depends on the last. */
    buf_a[(it * 97) & (BUF_SIZE - 1)] ^= (u8)(m ^ a);
    sum = (sum * 0x01000193u) ^ crc ^ sorted ^ primes ^ m ^ a ^ s ^ sort_v[it & (SORT_N - 1)];
  }
  return sum;
}
