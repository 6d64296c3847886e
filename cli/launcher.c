/* launcher.c — build/hgbench: precision is a compile-time type, so there are
 * two real binaries, build/f32/hgbench and build/f64/hgbench. This launcher
 * finds them beside itself (through /proc/self/exe, so it works from any
 * working directory and through symlinks), picks one by the last
 * --precision 64 / --precision=64 among the arguments (anything else, or
 * none, picks float32, whose binary then checks the value), and execv's it
 * with the same arguments. It parses nothing else.
 * Exit status 127 if the binary cannot be started (not built).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *precision = "32";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--precision") && i + 1 < argc)
            precision = argv[++i];
        else if (!strncmp(argv[i], "--precision=", 12))
            precision = argv[i] + 12;
    }
    char self[4096], path[4096 + 32];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "hgbench: cannot read /proc/self/exe: %s\n", strerror(errno));
        return 127;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(path, sizeof path, "%s/%s/hgbench", slash ? self : ".",
             strcmp(precision, "64") ? "f32" : "f64");
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "hgbench: cannot run %s: %s (make builds it)\n", path, strerror(errno));
    return 127;
}
