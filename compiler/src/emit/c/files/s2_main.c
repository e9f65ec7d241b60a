/* s2_main.c: main of a one-PE program; build with -DS2_PROGRAM=<kernel>_program. */
#include "s2_hal.h"

extern const s2_program S2_PROGRAM;

int main(void) {
    return s2_run(&S2_PROGRAM);
}
