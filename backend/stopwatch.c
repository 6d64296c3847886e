/* stopwatch.c — segments at marks on the host clock or a device's stream
 * (stopwatch.h). */
#include "stopwatch.h"

#include "../common/timer.h"

int stopwatch_init(Stopwatch *s, const Backend *be, int device)
{
    *s = (Stopwatch){.be = be};
    if (device && be->timer.timer_new && be->timer.timer_mark && be->timer.timer_flush && be->timer.timer_free)
        s->dev = be->timer.timer_new();
    return s->dev != NULL;
}

void stopwatch_mark(Stopwatch *s, double *acc)
{
    if (s->dev) {
        s->be->timer.timer_mark(s->dev, acc);
        return;
    }
    if (!acc && !s->open)
        return; /* nothing to close or open: no clock read */
    const double t = now_s();
    if (s->open)
        *s->open += t - s->t_open;
    s->open = acc;
    s->t_open = t;
}

void stopwatch_flush(Stopwatch *s)
{
    if (s->dev)
        s->be->timer.timer_flush(s->dev);
}

void stopwatch_free(Stopwatch *s)
{
    if (s->dev)
        s->be->timer.timer_free(s->dev);
    s->dev = NULL;
    s->open = NULL;
}
