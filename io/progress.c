/* progress.c — see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "../common/timer.h"

static void fmt_duration(char *buf, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(buf, cap, "?");
    else if (s >= 3600)
        snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, cap, "%.1fs", s);
}

static void draw(Progress *p, int final)
{
    const double now = now_s(), el = now - p->start;
    const double frac = p->total > 0 ? (double)p->done / p->total : 1;
    char e[32], eta[32];
    fmt_duration(e, sizeof e, el);
    fmt_duration(eta, sizeof eta, p->done > 0 ? el / frac - el : -1);
    if (p->tty) {
        char bar[31];
        const int fill = (int)(frac * 30 + 0.5);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r[%s] %ld/%ld %s %3d%%  %s elapsed%s%s   ", p->label, p->done,
                p->total, bar, (int)(100 * frac + 0.5), e, final ? "" : ", ETA ",
                final ? "" : eta);
        if (final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "[%s] %ld/%ld %3d%%  %s elapsed%s%s\n", p->label, p->done, p->total,
                (int)(100 * frac + 0.5), e, final ? "" : ", ETA ", final ? "" : eta);
    }
    fflush(stderr);
    p->last_draw = now;
}

void progress_start(Progress *p, const char *label, long total)
{
    *p = (Progress){.label = label, .total = total, .start = now_s(), .tty = isatty(2)};
    draw(p, 0);
}

void progress_update(Progress *p, long done)
{
    p->done = done;
    if (now_s() - p->last_draw >= (p->tty ? 0.2 : 10))
        draw(p, 0);
}

void progress_end(Progress *p)
{
    p->done = p->total;
    draw(p, 1);
}
