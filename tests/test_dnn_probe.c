/* test_dnn_probe.c — the cuDNN probe's verdict (backend/cuda/dnn_probe.h)
 * on the CPU: the decision that switches cuDNN off for a run, on the cases
 * issue 24 feared (an error from a sub-library that did not load, float64
 * through the legacy API, a misaligned filter, a wrong value), and the
 * error measure it uses. The probe's CUDA half (cuda_dnn_probe.cu) needs a
 * GPU: test_gpu and the device record show what it decided there. */
#include <math.h>
#include <string.h>

#include "../backend/cuda/dnn_probe.h"
#include "test.h"

static const char *const WHERE = "the probe layer";

static void test_all_pass(void)
{
    const DnnProbeStep s[3] = {{"forward", 0, NULL, 1e-16},
                               {"backward data", 0, NULL, 0},
                               {"backward filter", 0, NULL, 3e-13}};
    char why[400] = "untouched";
    EXPECT(dnn_probe_verdict(s, 3, 1e-12, WHERE, why, sizeof why) == 1 &&
               !strcmp(why, "untouched"),
           "three clean steps keep cuDNN (why: '%s')", why);
}

static void test_an_error_switches_it_off(void)
{
    const DnnProbeStep s[3] = {{"forward", 0, NULL, 0},
                               {"backward data", 0, NULL, 0},
                               {"backward filter", 3000, "CUDNN_STATUS_NOT_SUPPORTED", NAN}};
    char why[400];
    EXPECT(dnn_probe_verdict(s, 3, 1e-12, WHERE, why, sizeof why) == 0 &&
               strstr(why, "backward filter") && strstr(why, "CUDNN_STATUS_NOT_SUPPORTED") &&
               strstr(why, "im2col + cuBLAS") && strstr(why, WHERE),
           "a failed step switches cuDNN off, naming it: '%s'", why);
    const DnnProbeStep first[2] = {{"forward", 7, NULL, NAN}, {"backward data", 9, "late", NAN}};
    EXPECT(dnn_probe_verdict(first, 2, 1e-12, WHERE, why, sizeof why) == 0 &&
               strstr(why, "forward") && strstr(why, "no message") && !strstr(why, "late"),
           "the first failure is the one named: '%s'", why);
}

static void test_a_wrong_value_switches_it_off(void)
{
    const DnnProbeStep off[1] = {{"forward", 0, NULL, 2e-3}};
    const DnnProbeStep nan[1] = {{"backward data", 0, NULL, NAN}};
    char why[400];
    EXPECT(dnn_probe_verdict(off, 1, 1e-5, WHERE, why, sizeof why) == 0 &&
               strstr(why, "off by 0.002"),
           "a value past the tolerance: '%s'", why);
    EXPECT(dnn_probe_verdict(nan, 1, 1e-5, WHERE, why, sizeof why) == 0 &&
               strstr(why, "backward data"),
           "a value not computed (NaN) is not a pass: '%s'", why);
}

static void test_error_measure(void)
{
    const double ref[4] = {1, -4, 2, 0}, same[4] = {1, -4, 2, 0};
    const double off[4] = {1, -4, 2.04, 0}, bad[4] = {1, INFINITY, 2, 0};
    EXPECT(dnn_probe_error(same, ref, 4) == 0, "equal values: 0");
    EXPECT(fabs(dnn_probe_error(off, ref, 4) - 0.01) < 1e-12, "0.04 off a max of 4: 0.01, got %g",
           dnn_probe_error(off, ref, 4));
    EXPECT(isnan(dnn_probe_error(bad, ref, 4)), "an infinite value gives NaN");
}

int main(int argc, char **argv)
{
    static const TestCase tests[] = {TEST(test_all_pass), TEST(test_an_error_switches_it_off),
                                     TEST(test_a_wrong_value_switches_it_off),
                                     TEST(test_error_measure)};
    return test_main(tests, ARRAY_LEN(tests), argc, argv);
}
