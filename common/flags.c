/* flags.c — the flag parser and usage printer (flags.h). */
#include "flags.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST_CHARS 1024

int flags_parse_int(const char *flag, const char *s, long lo, long hi, int *out, HgErr *err)
{
    char *end = NULL;
    errno = 0;
    const long v = *s && !isspace((unsigned char)*s) ? strtol(s, &end, 10) : 0;
    if (!*s || isspace((unsigned char)*s) || *end)
        return hg_fail(err, "%s '%s': not an integer", flag, s);
    if (errno == ERANGE || v < lo || v > hi)
        return hg_fail(err, "%s %s: out of range, must be an integer in [%ld, %ld]", flag, s,
                       lo, hi);
    *out = (int)v;
    return 0;
}

int flags_parse_real(const char *flag, const char *s, double lo, double hi, int open_lo,
                     double *out, HgErr *err)
{
    char *end = NULL;
    const double v = *s && !isspace((unsigned char)*s) ? strtod(s, &end) : 0;
    if (!*s || isspace((unsigned char)*s) || *end)
        return hg_fail(err, "%s '%s': not a number", flag, s);
    if (!isfinite(v))
        return hg_fail(err, "%s %s: must be finite", flag, s);
    if (v < lo || v > hi || (open_lo && v == lo)) {
        if (isinf(hi))
            return hg_fail(err, "%s %s: out of range, must be %s %g", flag, s,
                           open_lo ? ">" : ">=", lo);
        return hg_fail(err, "%s %s: out of range, must be in %s%g, %g]", flag, s,
                       open_lo ? "(" : "[", lo, hi);
    }
    *out = v;
    return 0;
}

int flags_parse_seed(const char *flag, const char *s, uint64_t *out, HgErr *err)
{
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return hg_fail(err, "%s '%s': not a seed (an integer in [0, %llu])", flag, s,
                           (unsigned long long)UINT64_MAX);
    if (!*s)
        return hg_fail(err, "%s '': not a seed (an integer in [0, %llu])", flag,
                       (unsigned long long)UINT64_MAX);
    errno = 0;
    const unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE)
        return hg_fail(err, "%s %s: out of range, a seed is in [0, %llu]", flag, s,
                       (unsigned long long)UINT64_MAX);
    *out = (uint64_t)v;
    return 0;
}

/* "a, b or c" into buf. */
static const char *choice_list(const char *const *choices, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; choices[i] && at < cap; i++) {
        const char *sep = i == 0 ? "" : choices[i + 1] ? ", " : " or ";
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", sep, choices[i]);
    }
    return buf;
}

/* Two passes over the list: check every value, then store them, so that a
 * bad list leaves the target as it was. */
static int parse_ints(const Flag *s, const char *v, HgErr *err)
{
    char buf[MAX_LIST_CHARS];
    if (strlen(v) >= sizeof buf)
        return hg_fail(err, "%s: list too long (at most %d characters)", s->name,
                       MAX_LIST_CHARS - 1);
    int *out = s->target;
    for (int store = 0; store < 2; store++) {
        memcpy(buf, v, strlen(v) + 1);
        int n = 0;
        for (char *p = buf;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            if (n == s->max)
                return hg_fail(err, "%s %s: more than %d values", s->name, v, s->max);
            if (!*p)
                return hg_fail(err, "%s '%s': an empty value in the list (a comma list of "
                               "integers, as 1,2,5)", s->name, v);
            int x;
            if (flags_parse_int(s->name, p, (long)s->lo, (long)s->hi, &x, err))
                return -1;
            if (store)
                out[n] = x;
            n++;
            if (!comma)
                break;
            p = comma + 1;
        }
        if (store)
            *s->count = n;
    }
    return 0;
}

int flags_set(const Flag *s, const char *v, HgErr *err)
{
    switch (s->kind) {
    case FLAG_INT:
        return flags_parse_int(s->name, v, (long)s->lo, (long)s->hi, s->target, err);
    case FLAG_REAL:
        return flags_parse_real(s->name, v, s->lo, s->hi, s->open_lo, s->target, err);
    case FLAG_SEED:
        return flags_parse_seed(s->name, v, s->target, err);
    case FLAG_STRING:
        if (!*v && !s->empty_ok)
            return hg_fail(err, "%s '': empty value", s->name);
        *(const char **)s->target = v;
        return 0;
    case FLAG_CHOICE:
        for (int i = 0; s->choices[i]; i++)
            if (!strcmp(v, s->choices[i])) {
                if (s->target)
                    *(int *)s->target = i;
                if (s->chosen)
                    *s->chosen = s->choices[i];
                return 0;
            }
        {
            char list[256];
            return hg_fail(err, "%s '%s': must be %s", s->name, v,
                           choice_list(s->choices, list, sizeof list));
        }
    case FLAG_INTS:
        return parse_ints(s, v, err);
    case FLAG_SWITCH:
        *(int *)s->target = 1;
        return 0;
    case FLAG_FUNC:
        return s->parse(s->name, v, s->target, err);
    }
    return hg_fail(err, "%s: unknown flag kind %d", s->name, (int)s->kind);
}

const Flag *flags_find(const Flag *table, const char *name, size_t len)
{
    for (const Flag *s = table; s->name; s++)
        if (strlen(s->name) == len && !strncmp(s->name, name, len))
            return s;
    return NULL;
}

static int takes_value(const Flag *s)
{
    return s->kind != FLAG_SWITCH;
}

/* argv[0] without its folders, for "PROG --help" in hints. */
static const char *prog_name(char **argv)
{
    const char *p = argv[0] ? argv[0] : "";
    const char *slash = strrchr(p, '/');
    return slash ? slash + 1 : p;
}

int flags_parse_known(const Flag *table, int argc, char **argv, int *nrest, char **rest,
                      HgErr *err)
{
    if (rest) {
        *nrest = 0;
        rest[(*nrest)++] = argv[0];
        rest[*nrest] = NULL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") && flags_find(table, "--help", 6))
            a = "--help";
        if (strncmp(a, "--", 2) || !a[2])
            return hg_fail(err, "unexpected argument '%s' (flags start with --; %s --help "
                           "lists them)", a, prog_name(argv));
        const size_t nlen = strcspn(a, "=");
        const Flag *s = flags_find(table, a, nlen);
        if (!s && rest) { /* not ours: it, and its value if that is the next word */
            rest[(*nrest)++] = argv[i];
            if (!a[nlen] && i + 1 < argc && strncmp(argv[i + 1], "--", 2))
                rest[(*nrest)++] = argv[++i];
            rest[*nrest] = NULL;
            continue;
        }
        if (!s)
            return hg_fail(err, "unknown flag '%.*s' (%s --help lists the flags)", (int)nlen,
                           a, prog_name(argv));
        const char *v = NULL;
        if (!takes_value(s)) {
            if (a[nlen])
                return hg_fail(err, "flag %s takes no value", s->name);
        } else if (a[nlen]) {
            v = a + nlen + 1;
        } else if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)) {
            return hg_fail(err, "flag %s needs a value (%s %s)%s%s", s->name, s->name,
                           s->meta ? s->meta : "V", i + 1 < argc ? "; got the flag " : "",
                           i + 1 < argc ? argv[i + 1] : "");
        } else {
            v = argv[++i];
        }
        if (flags_set(s, v, err))
            return -1;
        if (s->given)
            *s->given = 1;
    }
    return 0;
}

int flags_parse(const Flag *table, int argc, char **argv, HgErr *err)
{
    return flags_parse_known(table, argc, argv, NULL, NULL, err);
}

void flags_wrap(FILE *f, const char *text, int col, int width)
{
    int at = col;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        const int len = (int)strcspn(p, " ");
        if (!len)
            break;
        if (at > col && at + 1 + len > width) {
            fprintf(f, "\n%*s", col, "");
            at = col;
        } else if (at > col) {
            fputc(' ', f);
            at++;
        }
        fprintf(f, "%.*s", len, p);
        at += len;
        p += len;
    }
    fputc('\n', f);
}

static int omitted(const char *name, const char *const *omit)
{
    for (int i = 0; omit && omit[i]; i++)
        if (!strcmp(omit[i], name))
            return 1;
    return 0;
}

void flags_usage_omit(FILE *f, const Flag *table, const char *const *omit)
{
    for (const Flag *s = table; s->name; s++) {
        if (omitted(s->name, omit))
            continue;
        char left[96];
        snprintf(left, sizeof left, "  %s%s%s", s->name, s->meta ? " " : "",
                 s->meta ? s->meta : "");
        if ((int)strlen(left) >= FLAGS_HELP_COL - 1) /* the help on the next line */
            fprintf(f, "%s\n%*s", left, FLAGS_HELP_COL, "");
        else
            fprintf(f, "%-*s", FLAGS_HELP_COL, left);
        char text[1024];
        snprintf(text, sizeof text, "%s%s%s%s", s->help, s->def ? " (default " : "",
                 s->def ? s->def : "", s->def ? ")" : "");
        flags_wrap(f, text, FLAGS_HELP_COL, 80);
    }
}

void flags_usage(FILE *f, const Flag *table)
{
    flags_usage_omit(f, table, NULL);
}
