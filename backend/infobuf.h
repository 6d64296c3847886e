/* infobuf.h — the reversible engine's information buffer: exact
 * multiplication of an int64 by a rational n/d < 1, keeping the bits it
 * destroys so that division undoes it bit for bit (Maclaurin et al. 2015).
 *
 * Multiplying x by n/d: push x mod d (a digit of radix d), x = (x div d) n,
 * then pop a digit of radix n into x's low part. Net growth log2(d/n) =
 * log2(1/m) bits, the information-theoretic floor. Digits are packed by
 * mixed-radix arithmetic into one big number per stream, held as a 64-bit
 * word `acc` plus a stack of full words: a (push d, pop n) pair is
 * acc' = (acc d + r) div n through a 128-bit intermediate, so a word fills to
 * within log2(d/n) bits of 2^64.
 *
 * A full word goes to the stack and acc restarts at the sentinel
 * S >= ceil(n / (d - n)) for every rational the stream will see: from S up,
 * every pair strictly increases acc, so in reverse acc == S with a word on
 * the stack marks exactly where a word was started. Cost: up to log2(S + 1)
 * bits per 64-bit word for the sentinel and log2(d/n) of headroom (3.5 bits
 * at m = 0.9: the buffer stays within ~6% of its floor).
 * Operations must be undone in the reverse order of the pushes (a stack).
 */
#ifndef HG_INFOBUF_H
#define HG_INFOBUF_H

#include <stdint.h>

#include "hd.h"

#define INFO_DEN_MAX (1 << 16) /* m ~ n/d, d <= 2^16: typically |m - n/d| ~ 1e-10 */

typedef unsigned __int128 info_u128;

typedef struct InfoRational {
    int64_t n, d;   /* 0 < n < d <= INFO_DEN_MAX */
    uint64_t spill; /* acc above this is full: pushed to the stack before the pair */
    uint64_t need;  /* the smallest sentinel this rational allows: ceil(n / (d - n)) */
} InfoRational;

typedef struct InfoStream {
    uint64_t acc;     /* the open word */
    uint64_t sentinel;
    uint64_t *words;  /* full words, a stack (tagged MEM_INFOBUF) */
    long count, cap, peak;
} InfoStream;

/* The best rational approximation of m with d <= INFO_DEN_MAX (continued
 * fractions and the last semiconvergent): no closer fraction has d <= 2^16. -1 if m is not in (0, 1) or is
 * within 1/INFO_DEN_MAX of its ends (no rational n/d with 0 < n < d). */
int info_rational(double m, InfoRational *q);

/* An empty stream; cap_words is the initial stack size (it grows if short). */
void info_stream_init(InfoStream *s, uint64_t sentinel, long cap_words);
void info_stream_free(InfoStream *s);
/* Bytes it holds at its peak: full words plus the open one. */
long info_stream_peak_bytes(const InfoStream *s);
/* True once every push has been popped. */
int info_stream_empty(const InfoStream *s);

void info_stream_spill(InfoStream *s); /* acc to the stack (internal) */

static inline HG_HD int64_t info_floor_div(int64_t x, int64_t d)
{
    const int64_t q = x / d;
    return q - (x % d < 0);
}

/* The pair of x n/d on the open word acc alone: push x mod d, pop a digit
 * of radix n (a caller spills a full word first, as info_mul does). Host
 * and device (HG_HD): every backend's streams run these. */
static inline HG_HD int64_t info_mul_word(uint64_t *acc, int64_t x, const InfoRational *q)
{
    const int64_t hi = info_floor_div(x, q->d), r = x - hi * q->d;
    const info_u128 X = (info_u128)*acc * (uint64_t)q->d + (uint64_t)r;
    *acc = (uint64_t)(X / (uint64_t)q->n);
    return hi * q->n + (int64_t)(X % (uint64_t)q->n);
}

/* The exact inverse of info_mul_word (a caller refills acc from its stack
 * when it comes back to the sentinel, as info_div does). */
static inline HG_HD int64_t info_div_word(uint64_t *acc, int64_t x, const InfoRational *q)
{
    const int64_t hi = info_floor_div(x, q->n), r = x - hi * q->n;
    const info_u128 X = (info_u128)*acc * (uint64_t)q->n + (uint64_t)r;
    *acc = (uint64_t)(X / (uint64_t)q->d);
    return hi * q->d + (int64_t)(X % (uint64_t)q->d);
}

/* x n/d exactly, trading digits with the stream. */
static inline int64_t info_mul(InfoStream *s, int64_t x, const InfoRational *q)
{
    if (s->acc > q->spill) {
        info_stream_spill(s);
        s->acc = s->sentinel;
    }
    return info_mul_word(&s->acc, x, q);
}

/* The exact inverse of info_mul with the same rational. */
static inline int64_t info_div(InfoStream *s, int64_t x, const InfoRational *q)
{
    const int64_t x0 = info_div_word(&s->acc, x, q);
    if (s->acc == s->sentinel && s->count > 0)
        s->acc = s->words[--s->count];
    return x0;
}

#endif
