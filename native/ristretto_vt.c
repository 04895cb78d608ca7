/*
 * Variable-time ristretto255 for verifiers: decoding, encoding, sums and
 * multi-scalar multiplication (Pippenger's bucket method).
 *
 * For PUBLIC values only (a published record: ciphertexts, proof commitments and
 * challenges, the random weights of a batch check drawn after the data is fixed).
 * Nothing here is constant time; plebiscite never passes a secret to this library
 * (secret-exponent work stays in libsodium).
 *
 * Field: GF(2^255 - 19) in five 51-bit limbs (unsigned __int128 products).
 * Curve: the twisted Edwards curve -x^2 + y^2 = 1 + d x^2 y^2 in extended
 * coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, x y = T/Z.
 * Group: ristretto255 (RFC 9496), decoding and encoding as its section 4.3.
 *
 * Built by `make setup` into src/plebiscite/crypto/_ristretto_vt.so and loaded with
 * ctypes by plebiscite.crypto.native; tested against libsodium there
 * (tests/test_native_ristretto.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t fe[5];
typedef unsigned __int128 u128;

#define M51 ((uint64_t)0x7ffffffffffffULL)

/* Every fe value kept "carried" (limbs below 2^51 + 2^14) except the sums of
 * fe_add_nc, which only feed a multiplication. */

static void fe_carry(fe r) {
    uint64_t c;
    c = r[0] >> 51; r[0] &= M51; r[1] += c;
    c = r[1] >> 51; r[1] &= M51; r[2] += c;
    c = r[2] >> 51; r[2] &= M51; r[3] += c;
    c = r[3] >> 51; r[3] &= M51; r[4] += c;
    c = r[4] >> 51; r[4] &= M51; r[0] += 19 * c;
    c = r[0] >> 51; r[0] &= M51; r[1] += c;
}

static void fe_set(fe r, uint64_t v) {
    r[0] = v; r[1] = r[2] = r[3] = r[4] = 0;
}

static void fe_copy(fe r, const fe a) { memcpy(r, a, sizeof(fe)); }

static void fe_add(fe r, const fe a, const fe b) {
    for (int i = 0; i < 5; i++) r[i] = a[i] + b[i];
    fe_carry(r);
}

/* Without the carry: only for a result that goes straight into fe_mul or fe_sq,
 * whose products stay below 2^128 for limbs below 2^53. */
static void fe_add_nc(fe r, const fe a, const fe b) {
    for (int i = 0; i < 5; i++) r[i] = a[i] + b[i];
}

/* a - b + 4p, limb by limb (4p's limbs exceed any carried limb), then carried. */
static void fe_sub(fe r, const fe a, const fe b) {
    r[0] = a[0] + 0x1fffffffffffb4ULL - b[0];
    r[1] = a[1] + 0x1ffffffffffffcULL - b[1];
    r[2] = a[2] + 0x1ffffffffffffcULL - b[2];
    r[3] = a[3] + 0x1ffffffffffffcULL - b[3];
    r[4] = a[4] + 0x1ffffffffffffcULL - b[4];
    fe_carry(r);
}

static void fe_neg(fe r, const fe a) {
    fe z;
    fe_set(z, 0);
    fe_sub(r, z, a);
}

static void fe_reduce_products(fe r, u128 t0, u128 t1, u128 t2, u128 t3, u128 t4) {
    uint64_t c;
    t1 += (uint64_t)(t0 >> 51); r[0] = (uint64_t)t0 & M51;
    t2 += (uint64_t)(t1 >> 51); r[1] = (uint64_t)t1 & M51;
    t3 += (uint64_t)(t2 >> 51); r[2] = (uint64_t)t2 & M51;
    t4 += (uint64_t)(t3 >> 51); r[3] = (uint64_t)t3 & M51;
    c = (uint64_t)(t4 >> 51); r[4] = (uint64_t)t4 & M51;
    u128 w = (u128)19 * c + r[0];  /* c < 2^62 for inputs below 2^53 */
    r[0] = (uint64_t)w & M51;
    r[1] += (uint64_t)(w >> 51);
}

static void fe_mul(fe r, const fe a, const fe b) {
    const uint64_t b1 = 19 * b[1], b2 = 19 * b[2], b3 = 19 * b[3], b4 = 19 * b[4];
    u128 t0 = (u128)a[0] * b[0] + (u128)a[1] * b4 + (u128)a[2] * b3 + (u128)a[3] * b2 +
              (u128)a[4] * b1;
    u128 t1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * b4 + (u128)a[3] * b3 +
              (u128)a[4] * b2;
    u128 t2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0] + (u128)a[3] * b4 +
              (u128)a[4] * b3;
    u128 t3 = (u128)a[0] * b[3] + (u128)a[1] * b[2] + (u128)a[2] * b[1] + (u128)a[3] * b[0] +
              (u128)a[4] * b4;
    u128 t4 = (u128)a[0] * b[4] + (u128)a[1] * b[3] + (u128)a[2] * b[2] + (u128)a[3] * b[1] +
              (u128)a[4] * b[0];
    fe_reduce_products(r, t0, t1, t2, t3, t4);
}

static void fe_sq(fe r, const fe a) {
    const uint64_t d0 = 2 * a[0], d1 = 2 * a[1], d2 = 2 * a[2], d3 = 2 * a[3];
    const uint64_t a3_19 = 19 * a[3], a4_19 = 19 * a[4];
    u128 t0 = (u128)a[0] * a[0] + (u128)d1 * a4_19 + (u128)d2 * a3_19;
    u128 t1 = (u128)d0 * a[1] + (u128)d2 * a4_19 + (u128)a[3] * a3_19;
    u128 t2 = (u128)d0 * a[2] + (u128)a[1] * a[1] + (u128)d3 * a4_19;
    u128 t3 = (u128)d0 * a[3] + (u128)d1 * a[2] + (u128)a[4] * a4_19;
    u128 t4 = (u128)d0 * a[4] + (u128)d1 * a[3] + (u128)a[2] * a[2];
    fe_reduce_products(r, t0, t1, t2, t3, t4);
}

static void fe_sqn(fe r, const fe a, int n) {
    fe_sq(r, a);
    for (int i = 1; i < n; i++) fe_sq(r, r);
}

static void fe_tobytes(uint8_t out[32], const fe a) {
    uint64_t t[5];
    memcpy(t, a, sizeof(t));
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < 4; i++) {
            t[i + 1] += t[i] >> 51;
            t[i] &= M51;
        }
        t[0] += 19 * (t[4] >> 51);
        t[4] &= M51;
    }
    /* now 0 <= value < 2^255: subtract p once if value >= p */
    uint64_t q = (t[0] + 19) >> 51;
    q = (t[1] + q) >> 51;
    q = (t[2] + q) >> 51;
    q = (t[3] + q) >> 51;
    q = (t[4] + q) >> 51;
    t[0] += 19 * q;
    for (int i = 0; i < 4; i++) {
        t[i + 1] += t[i] >> 51;
        t[i] &= M51;
    }
    t[4] &= M51;
    uint64_t w[4];
    w[0] = t[0] | (t[1] << 51);
    w[1] = (t[1] >> 13) | (t[2] << 38);
    w[2] = (t[2] >> 26) | (t[3] << 25);
    w[3] = (t[3] >> 39) | (t[4] << 12);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) out[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
}

static uint64_t load64(const uint8_t *p) {
    uint64_t v = 0;
    for (int j = 7; j >= 0; j--) v = (v << 8) | p[j];
    return v;
}

/* The low 255 bits of the input, as a field element (not necessarily reduced). */
static void fe_frombytes(fe r, const uint8_t in[32]) {
    uint64_t w0 = load64(in), w1 = load64(in + 8), w2 = load64(in + 16), w3 = load64(in + 24);
    r[0] = w0 & M51;
    r[1] = ((w0 >> 51) | (w1 << 13)) & M51;
    r[2] = ((w1 >> 38) | (w2 << 26)) & M51;
    r[3] = ((w2 >> 25) | (w3 << 39)) & M51;
    r[4] = (w3 >> 12) & M51;
}

static int fe_isneg(const fe a) {
    uint8_t b[32];
    fe_tobytes(b, a);
    return b[0] & 1;
}

static int fe_iszero(const fe a) {
    uint8_t b[32], acc = 0;
    fe_tobytes(b, a);
    for (int i = 0; i < 32; i++) acc |= b[i];
    return acc == 0;
}

static int fe_eq(const fe a, const fe b) {
    uint8_t x[32], y[32];
    fe_tobytes(x, a);
    fe_tobytes(y, b);
    return memcmp(x, y, 32) == 0;
}

static void fe_abs(fe r, const fe a) {
    if (fe_isneg(a))
        fe_neg(r, a);
    else
        fe_copy(r, a);
}

/* z^(2^250 - 1) into r, and z^11 into z11. */
static void fe_pow250(fe r, fe z11, const fe z) {
    fe z2, z9, t, z5, z10, z20, z40, z50, z100;
    fe_sq(z2, z);                 /* 2 */
    fe_sqn(t, z2, 2);             /* 8 */
    fe_mul(z9, t, z);             /* 9 */
    fe_mul(z11, z9, z2);          /* 11 */
    fe_sq(t, z11);                /* 22 */
    fe_mul(z5, t, z9);            /* 31 = 2^5 - 1 */
    fe_sqn(t, z5, 5);
    fe_mul(z10, t, z5);           /* 2^10 - 1 */
    fe_sqn(t, z10, 10);
    fe_mul(z20, t, z10);          /* 2^20 - 1 */
    fe_sqn(t, z20, 20);
    fe_mul(z40, t, z20);          /* 2^40 - 1 */
    fe_sqn(t, z40, 10);
    fe_mul(z50, t, z10);          /* 2^50 - 1 */
    fe_sqn(t, z50, 50);
    fe_mul(z100, t, z50);         /* 2^100 - 1 */
    fe_sqn(t, z100, 100);
    fe_mul(t, t, z100);           /* 2^200 - 1 */
    fe_sqn(t, t, 50);
    fe_mul(r, t, z50);            /* 2^250 - 1 */
}

/* z^((p - 5) / 8) = z^(2^252 - 3) */
static void fe_pow22523(fe r, const fe z) {
    fe t, z11;
    fe_pow250(t, z11, z);
    fe_sqn(t, t, 2);              /* 2^252 - 4 */
    fe_mul(r, t, z);
}

/* z^(p - 2) = z^(2^255 - 21) */
static void fe_invert(fe r, const fe z) {
    fe t, z11;
    fe_pow250(t, z11, z);
    fe_sqn(t, t, 5);              /* 2^255 - 32 */
    fe_mul(r, t, z11);
}

static fe D, D2, SQRT_M1, INVSQRT_A_MINUS_D;
static int ready = 0;

/* RFC 9496, section 4.2: (was_square, |sqrt(u/v)| or |sqrt(i u/v)|). */
static int sqrt_ratio_m1(fe r, const fe u, const fe v) {
    fe v3, v7, t, check, nu, nui;
    fe_sq(t, v);
    fe_mul(v3, t, v);
    fe_sq(t, v3);
    fe_mul(v7, t, v);
    fe_mul(t, u, v7);
    fe_pow22523(t, t);
    fe_mul(r, u, v3);
    fe_mul(r, r, t);
    fe_sq(t, r);
    fe_mul(check, v, t);
    fe_neg(nu, u);
    fe_mul(nui, nu, SQRT_M1);
    int correct = fe_eq(check, u);
    int flipped = fe_eq(check, nu);
    int flipped_i = fe_eq(check, nui);
    if (flipped || flipped_i) fe_mul(r, r, SQRT_M1);
    fe_abs(r, r);
    return correct || flipped;
}

int rvt_init(void) {
    if (ready) return 0;
    fe t, u;
    /* d = -121665 / 121666 */
    fe_set(t, 121666);
    fe_invert(u, t);
    fe_set(t, 121665);
    fe_mul(u, u, t);
    fe_neg(D, u);
    fe_add(D2, D, D);
    /* sqrt(-1) = 2^((p - 1) / 4) = (2^((p - 5) / 8))^2 * 2, taken non-negative */
    fe_set(t, 2);
    fe_pow22523(u, t);
    fe_sq(u, u);
    fe_mul(u, u, t);
    fe_abs(SQRT_M1, u);
    /* 1 / sqrt(a - d) with a = -1 */
    fe one, amd;
    fe_set(one, 1);
    fe_neg(t, one);
    fe_sub(amd, t, D);
    if (!sqrt_ratio_m1(INVSQRT_A_MINUS_D, one, amd)) return -1;
    ready = 1;
    return 0;
}

/* For the tests: d, sqrt(-1) and 1/sqrt(a-d), canonical bytes. */
void rvt_constants(uint8_t out[96]) {
    rvt_init();
    fe_tobytes(out, D);
    fe_tobytes(out + 32, SQRT_M1);
    fe_tobytes(out + 64, INVSQRT_A_MINUS_D);
}

typedef struct { fe X, Y, Z, T; } ge;
typedef struct { fe YpX, YmX, Z2, T2d; } gec; /* "cached": ready to be added */

static void ge_identity(ge *p) {
    fe_set(p->X, 0);
    fe_set(p->Y, 1);
    fe_set(p->Z, 1);
    fe_set(p->T, 0);
}

static void ge_cache(gec *c, const ge *p) {
    fe_add_nc(c->YpX, p->Y, p->X);
    fe_sub(c->YmX, p->Y, p->X);
    fe_add_nc(c->Z2, p->Z, p->Z);
    fe_mul(c->T2d, p->T, D2);
}

/* r = p + q, or p - q with `sub` (q negated is (YmX, YpX, Z2, -T2d)). Unified: also
 * right for p == q; complete on this curve. */
static void ge_addsub(ge *r, const ge *p, const gec *q, int sub) {
    fe a, b, c, d, e, f, g, h;
    fe_sub(a, p->Y, p->X);
    fe_mul(a, a, sub ? q->YpX : q->YmX);
    fe_add_nc(b, p->Y, p->X);
    fe_mul(b, b, sub ? q->YmX : q->YpX);
    fe_mul(c, p->T, q->T2d);
    fe_mul(d, p->Z, q->Z2);
    fe_sub(e, b, a);
    if (sub) {
        fe_add_nc(f, d, c);
        fe_sub(g, d, c);
    } else {
        fe_sub(f, d, c);
        fe_add_nc(g, d, c);
    }
    fe_add_nc(h, b, a);
    fe_mul(r->X, e, f);
    fe_mul(r->Y, g, h);
    fe_mul(r->T, e, h);
    fe_mul(r->Z, f, g);
}

static void ge_add(ge *r, const ge *p, const gec *q) { ge_addsub(r, p, q, 0); }

static void ge_add_ge(ge *r, const ge *p, const ge *q) {
    gec c;
    ge_cache(&c, q);
    ge_add(r, p, &c);
}

static void ge_dbl(ge *r, const ge *p) {
    fe a, b, c, e, f, g, h, t;
    fe_sq(a, p->X);
    fe_sq(b, p->Y);
    fe_sq(c, p->Z);
    fe_add(c, c, c);
    fe_add(h, a, b);
    fe_add_nc(t, p->X, p->Y);
    fe_sq(t, t);
    fe_sub(e, h, t);
    fe_sub(g, a, b);
    fe_add(f, c, g);
    fe_mul(r->X, e, f);
    fe_mul(r->Y, g, h);
    fe_mul(r->T, e, h);
    fe_mul(r->Z, f, g);
}

/* RFC 9496, section 4.3.1. 0 if valid (p set), -1 if not a canonical encoding. */
static int ge_decode(ge *p, const uint8_t in[32]) {
    fe s, ss, u1, u2, u2s, v, t, inv, dx, dy, one;
    uint8_t back[32];
    if (in[31] & 0x80) return -1;
    fe_frombytes(s, in);
    fe_tobytes(back, s);
    if (memcmp(back, in, 32) != 0) return -1; /* s >= p */
    if (back[0] & 1) return -1;               /* s negative */
    fe_set(one, 1);
    fe_sq(ss, s);
    fe_sub(u1, one, ss);
    fe_add(u2, one, ss);
    fe_sq(u2s, u2);
    fe_sq(t, u1);
    fe_mul(t, t, D);
    fe_neg(t, t);
    fe_sub(v, t, u2s);
    fe_mul(t, v, u2s);
    int was_square = sqrt_ratio_m1(inv, one, t);
    fe_mul(dx, inv, u2);
    fe_mul(dy, inv, dx);
    fe_mul(dy, dy, v);
    fe_add(t, s, s);
    fe_mul(t, t, dx);
    fe_abs(p->X, t);
    fe_mul(p->Y, u1, dy);
    fe_set(p->Z, 1);
    fe_mul(p->T, p->X, p->Y);
    if (!was_square || fe_isneg(p->T) || fe_iszero(p->Y)) return -1;
    return 0;
}

/* RFC 9496, section 4.3.2. */
static void ge_encode(uint8_t out[32], const ge *p) {
    fe u1, u2, t, inv, den1, den2, zinv, ix, iy, ench, x, y, dinv, one;
    fe_add(t, p->Z, p->Y);
    fe_sub(u1, p->Z, p->Y);
    fe_mul(u1, u1, t);
    fe_mul(u2, p->X, p->Y);
    fe_sq(t, u2);
    fe_mul(t, t, u1);
    fe_set(one, 1);
    sqrt_ratio_m1(inv, one, t);
    fe_mul(den1, inv, u1);
    fe_mul(den2, inv, u2);
    fe_mul(zinv, den1, den2);
    fe_mul(zinv, zinv, p->T);
    fe_mul(ix, p->X, SQRT_M1);
    fe_mul(iy, p->Y, SQRT_M1);
    fe_mul(ench, den1, INVSQRT_A_MINUS_D);
    fe_mul(t, p->T, zinv);
    if (fe_isneg(t)) {
        fe_copy(x, iy);
        fe_copy(y, ix);
        fe_copy(dinv, ench);
    } else {
        fe_copy(x, p->X);
        fe_copy(y, p->Y);
        fe_copy(dinv, den2);
    }
    fe_mul(t, x, zinv);
    if (fe_isneg(t)) fe_neg(y, y);
    fe_sub(t, p->Z, y);
    fe_mul(t, t, dinv);
    fe_abs(t, t);
    fe_tobytes(out, t);
}

/* 1 if `in` is a canonical ristretto255 encoding (the identity included), else 0. */
int rvt_is_valid(const uint8_t in[32]) {
    ge p;
    rvt_init();
    return ge_decode(&p, in) == 0;
}

/* out = the sum of n encoded points. 0, or -1 - i if point i is not valid. */
int rvt_sum(uint8_t out[32], const uint8_t *points, size_t n) {
    ge acc, p;
    rvt_init();
    ge_identity(&acc);
    for (size_t i = 0; i < n; i++) {
        if (ge_decode(&p, points + 32 * i)) return -1 - (int)(i < 0x7ffffffe ? i : 0x7ffffffe);
        ge_add_ge(&acc, &acc, &p);
    }
    ge_encode(out, &acc);
    return 0;
}

static unsigned digit(const uint64_t s[4], unsigned bit, unsigned c) {
    unsigned limb = bit / 64, shift = bit % 64;
    if (limb >= 4) return 0;
    uint64_t v = s[limb] >> shift;
    if (shift + c > 64 && limb + 1 < 4) v |= s[limb + 1] << (64 - shift);
    return (unsigned)(v & ((1ULL << c) - 1));
}

static unsigned bitlen(const uint64_t s[4]) {
    for (int i = 3; i >= 0; i--)
        if (s[i]) return 64 * (unsigned)i + 64 - (unsigned)__builtin_clzll(s[i]);
    return 0;
}

/* Window bits minimising (windows) * (n bucket additions + 2^c summing additions
 * + c doublings), for signed digits (2^(c-1) buckets). */
static unsigned choose_window(size_t n, unsigned bits) {
    unsigned best = 1;
    double best_cost = -1;
    for (unsigned c = 2; c <= 16; c++) {
        double w = (double)((bits + c - 1) / c + 1);
        double cost = w * ((double)n + (double)(1UL << c) + (double)c);
        if (best_cost < 0 || cost < best_cost) {
            best = c;
            best_cost = cost;
        }
    }
    return best;
}

/* out = sum_i scalars[i] * points[i]: n encoded points and n 32-byte little-endian
 * scalars (any value below 2^256; nothing is reduced modulo the group order here).
 * 0 on success; -1 - i if point i is not a canonical encoding; INT32_MIN + 1 if out
 * of memory. Every point is decoded (so checked), whatever its scalar.
 *
 * Pippenger's bucket method with signed digits in [-2^(c-1), 2^(c-1)): per window,
 * each point is added to (or subtracted from) the bucket of its digit's magnitude,
 * then sum_d d * bucket[d] is formed as running sums from the top bucket down. */
int rvt_msm(uint8_t out[32], const uint8_t *points, const uint8_t *scalars, size_t n) {
    rvt_init();
    ge acc;
    ge_identity(&acc);
    gec *pts = n ? malloc(n * sizeof(gec)) : NULL;
    uint64_t(*sc)[4] = n ? malloc(n * sizeof(*sc)) : NULL;
    if (n && (!pts || !sc)) {
        free(pts);
        free(sc);
        return -0x7fffffff;
    }
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        ge p;
        if (ge_decode(&p, points + 32 * i)) {
            free(pts);
            free(sc);
            return -1 - (int)(i < 0x7ffffffe ? i : 0x7ffffffe);
        }
        ge_cache(&pts[i], &p);
        for (int j = 0; j < 4; j++) sc[i][j] = load64(scalars + 32 * i + 8 * j);
        unsigned b = bitlen(sc[i]);
        if (b > bits) bits = b;
    }
    if (bits == 0) {
        free(pts);
        free(sc);
        ge_encode(out, &acc);
        return 0;
    }
    unsigned c = choose_window(n, bits);
    unsigned windows = (bits + c - 1) / c + 1; /* one digit more for the last carry */
    size_t nb = (size_t)1 << (c - 1);
    int32_t *dg = malloc(n * windows * sizeof(int32_t));
    ge *buckets = malloc((nb + 1) * sizeof(ge));
    unsigned char *used = malloc(nb + 1);
    if (!dg || !buckets || !used) {
        free(pts);
        free(sc);
        free(dg);
        free(buckets);
        free(used);
        return -0x7fffffff;
    }
    const int32_t half = (int32_t)1 << (c - 1), full = (int32_t)1 << c;
    for (size_t i = 0; i < n; i++) {
        int32_t carry = 0;
        for (unsigned w = 0; w < windows; w++) {
            int32_t v = (int32_t)digit(sc[i], w * c, c) + carry;
            carry = v >= half;
            if (carry) v -= full;
            dg[i * windows + w] = v;
        }
    }
    for (int w = (int)windows - 1; w >= 0; w--) {
        if (w != (int)windows - 1)
            for (unsigned k = 0; k < c; k++) ge_dbl(&acc, &acc);
        memset(used, 0, nb + 1);
        unsigned top = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t v = dg[i * windows + (unsigned)w];
            if (!v) continue;
            unsigned d = (unsigned)(v < 0 ? -v : v);
            if (!used[d]) {
                ge_identity(&buckets[d]);
                used[d] = 1;
                if (d > top) top = d;
            }
            ge_addsub(&buckets[d], &buckets[d], &pts[i], v < 0);
        }
        ge run, total;
        int have_run = 0, have_total = 0;
        for (unsigned d = top; d >= 1; d--) {
            if (used[d]) {
                if (have_run)
                    ge_add_ge(&run, &run, &buckets[d]);
                else
                    run = buckets[d];
                have_run = 1;
            }
            if (have_run) {
                if (have_total)
                    ge_add_ge(&total, &total, &run);
                else
                    total = run;
                have_total = 1;
            }
        }
        if (have_total) ge_add_ge(&acc, &acc, &total);
    }
    free(pts);
    free(sc);
    free(dg);
    free(buckets);
    free(used);
    ge_encode(out, &acc);
    return 0;
}
