/* hgbench.c — the hgbench command line: `hgbench COMMAND [flags]`, one
 * binary per precision (build/f32/hgbench, build/f64/hgbench; build/hgbench
 * is the launcher that picks one by --precision, launcher.c).
 *
 * Commands: hypergrad (cli_hypergrad.h), hpo (cli_hpo.h). Each command parses its own flags
 * and prints its own --help.
 */
#include <stdio.h>
#include <string.h>

#include "../common/real.h"
#include "cli_hpo.h"
#include "cli_hypergrad.h"

typedef struct Command {
    const char *name, *summary;
    int (*main)(int argc, char **argv);
} Command;

static const Command COMMANDS[] = {
    {"hypergrad", "the hypergradient of one inner run by one engine; --json, --export",
     hypergrad_main},
    {"hpo", "hyperparameter optimisation: outer steps of one engine's hypergradients; --json",
     hpo_main},
};
#define NCOMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void usage(FILE *f)
{
    fputs("usage: hgbench COMMAND [flags]     (this binary: " HG_REAL_NAME ")\n\n"
          "Commands:\n", f);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\n`hgbench COMMAND --help` lists a command's flags and their defaults.\n"
          "build/hgbench runs build/f32/hgbench or build/f64/hgbench by --precision 32|64.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            char name[64]; /* the command's argv[0], as its messages name it */
            snprintf(name, sizeof name, "hgbench %s", COMMANDS[i].name);
            argv[1] = name;
            return COMMANDS[i].main(argc - 1, argv + 1);
        }
    fprintf(stderr, "hgbench: unknown command '%s' (hgbench --help lists the commands)\n",
            argv[1]);
    return 2;
}
