/* infobuf.c — rationals and the word stack of the information buffer. */
#include "infobuf.h"

#include <math.h>
#include <string.h>

#include "../common/mem.h"

int info_rational(double m, InfoRational *q)
{
    if (!(m > 0 && m < 1))
        return -1;
    const int64_t dmax = INFO_DEN_MAX;
    int64_t p0 = 0, q0 = 1, p1 = 1, q1 = 0; /* consecutive convergents */
    double x = m;
    for (int it = 0; it < 64; it++) {
        const double a_f = floor(x);
        const int64_t a = (int64_t)a_f;
        if (q1 && a > (dmax - q0) / q1) { /* the next convergent is too big */
            const int64_t k = (dmax - q0) / q1;
            const int64_t ps = p0 + k * p1, qs = q0 + k * q1; /* semiconvergent */
            if (fabs((double)ps / qs - m) < fabs((double)p1 / q1 - m))
                p1 = ps, q1 = qs;
            break;
        }
        const int64_t p2 = a * p1 + p0, q2 = a * q1 + q0;
        p0 = p1, q0 = q1, p1 = p2, q1 = q2;
        if (x == a_f || (double)p1 / q1 == m)
            break;
        x = 1.0 / (x - a_f);
    }
    if (p1 <= 0 || p1 >= q1)
        return -1;
    q->n = p1;
    q->d = q1;
    /* acc d + (d - 1) < n 2^64 keeps acc' = (acc d + r) div n below 2^64 */
    q->spill = (uint64_t)((((info_u128)(uint64_t)p1 << 64) - (uint64_t)q1) / (uint64_t)q1);
    q->need = (uint64_t)((p1 + (q1 - p1) - 1) / (q1 - p1));
    return 0;
}

void info_stream_init(InfoStream *s, uint64_t sentinel, long cap_words)
{
    *s = (InfoStream){.acc = sentinel, .sentinel = sentinel, .cap = cap_words > 0 ? cap_words : 1};
    s->words = mem_alloc(MEM_INFOBUF, sizeof(uint64_t) * s->cap);
}

void info_stream_free(InfoStream *s)
{
    mem_free(s->words);
    memset(s, 0, sizeof *s);
}

long info_stream_peak_bytes(const InfoStream *s)
{
    return (long)sizeof(uint64_t) * (s->peak + 1);
}

int info_stream_empty(const InfoStream *s)
{
    return s->count == 0 && s->acc == s->sentinel;
}

void info_stream_spill(InfoStream *s)
{
    if (s->count == s->cap) { /* rarely: the caller's estimate was short */
        const long cap = s->cap + s->cap / 4 + 8;
        uint64_t *w = mem_alloc(MEM_INFOBUF, sizeof(uint64_t) * cap);
        memcpy(w, s->words, sizeof(uint64_t) * s->count);
        mem_free(s->words);
        s->words = w;
        s->cap = cap;
    }
    s->words[s->count++] = s->acc;
    if (s->count > s->peak)
        s->peak = s->count;
}
