/* test_json_reader.c — io/json_reader.h, the jansson wrapper hpo --resume
 * reads its log with: the load flags (a duplicate key refused, every number
 * a double that json_writer's %.17g gives back bit for bit, -0 keeping its
 * sign, 1 equal to 1.0), messages naming the text by line, column and byte,
 * and json_quote printing values as their source did. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../io/json_reader.h"
#include "test.h"

static json_t *read_str(const char *text, HgErr *err)
{
    return json_read_text(text, strlen(text), "t.json", err);
}

static void test_numbers_back_bit_for_bit(void)
{
    const double xs[] = {0.1, -0.0, 1e-300, 5e-324, 1.7976931348623157e308, 3.0,
                         123456789012345678.0, -2.5e-7};
    for (int i = 0; i < ARRAY_LEN(xs); i++) {
        char text[64];
        snprintf(text, sizeof text, "[%.17g]", xs[i]); /* as json_writer prints */
        HgErr err = {{0}};
        json_t *v = read_str(text, &err);
        EXPECT(v != NULL, "%s: %s", text, err.msg);
        const json_t *x = json_array_get(v, 0);
        const double got = json_number_value(x);
        EXPECT(json_is_real(x) && memcmp(&got, &xs[i], sizeof got) == 0,
               "%s read back as %.17g (real %d)", text, got, json_is_real(x));
        json_decref(v);
    }
    HgErr err = {{0}};
    json_t *a = read_str("{\"n\": 1, \"m\": [2]}", &err), *b = read_str("{\"m\": [2.0], \"n\": 1e0}", &err);
    EXPECT(a && b && json_equal(a, b), "1 and 1.0 (keys in another order) are not equal");
    json_decref(a);
    json_decref(b);
}

static void test_refusals_name_the_place(void)
{
    static const struct { const char *text, *want; } bad[] = {
        {"{\"a\": 1,\n \"a\": 2}", "t.json: line 2, column 4 (byte 13): duplicate object key"},
        {"{\"a\": [1, 2", "t.json: line 1, column 11 (byte 11): ']' expected near end of file"},
        {"[1] x", "t.json: line 1, column 5 (byte 5): end of file expected near 'x'"},
        {"[NaN]", "invalid token near 'NaN'"},
        {"[1,]", "unexpected token near ']'"},
        {"{\"a\": \"\\u0000\"}", "\\u0000 is not allowed"},
        {"", "'[' or '{' expected near end of file"},
    };
    for (int i = 0; i < ARRAY_LEN(bad); i++) {
        HgErr err = {{0}};
        json_t *v = read_str(bad[i].text, &err);
        EXPECT(!v && strstr(err.msg, bad[i].want), "'%s': want '%s', got %s", bad[i].text,
               bad[i].want, v ? "a value" : err.msg);
        json_decref(v);
    }
}

static void test_quote_and_kind(void)
{
    static const struct { const char *text, *want; } q[] = {
        {"24000", "24000"}, {"0.5", "0.5"}, {"0.1", "0.1"}, {"-0", "-0"},
        {"1e300", "1e+300"}, {"0.21999999999999717", "0.21999999999999717"},
        {"[0, 0.25, [1]]", "[0,0.25,[1]]"}, {"\"bptt\"", "\"bptt\""},
        {"{\"a\": null}", "{\"a\":null}"}, {"true", "true"},
    };
    for (int i = 0; i < ARRAY_LEN(q); i++) {
        char text[64], buf[96];
        snprintf(text, sizeof text, "[%s]", q[i].text);
        HgErr err = {{0}};
        json_t *v = read_str(text, &err);
        EXPECT(v && !strcmp(json_quote(json_array_get(v, 0), buf, sizeof buf), q[i].want),
               "%s quoted as '%s', want '%s'", q[i].text, v ? buf : err.msg, q[i].want);
        json_decref(v);
    }
    HgErr err = {{0}};
    json_t *v = read_str("[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]]", &err);
    char small[16];
    json_quote(json_array_get(v, 0), small, sizeof small);
    EXPECT(!strcmp(small, "[1,2,3,4,5,6..."), "a long value cut to '%s'", small);
    EXPECT(!strcmp(json_kind(v), "an array") && !strcmp(json_kind(NULL), "missing"),
           "json_kind: %s, %s", json_kind(v), json_kind(NULL));
    json_decref(v);
}

int main(int argc, char **argv)
{
    const TestCase tests[] = {TEST(test_numbers_back_bit_for_bit),
                              TEST(test_refusals_name_the_place), TEST(test_quote_and_kind)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
