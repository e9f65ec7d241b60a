/*
 * s2_startup_m4.c: vector table and reset handler of a Cortex-M4F PE
 * program (QEMU mps2-an386; on SpiNNaker2 the system software starts the
 * PE, but the FPU must be enabled the same way).
 */
#include <stdint.h>

extern uint32_t __bss_start__;
extern uint32_t __bss_end__;
extern uint32_t __stack_top;
extern int main(void);
extern void s2_exit(int status);

void s2_reset(void);
static void s2_fault(void);

/* Initial stack pointer, then the handlers: reset, NMI, hard fault, memory
 * management, bus and usage faults; the rest are not used. */
__attribute__((section(".vectors"), used)) void (*const s2_vectors[16])(void) = {
    (void (*)(void))&__stack_top,
    s2_reset,
    s2_fault,
    s2_fault,
    s2_fault,
    s2_fault,
    s2_fault,
};

/* Everything after the FPU is on: a separate function, so that no
 * floating-point instruction runs before. */
__attribute__((noinline)) static void s2_start_c(void) {
    for (uint32_t *p = &__bss_start__; p < &__bss_end__; p++) {
        *p = 0;
    }
    s2_exit(main());
}

void s2_reset(void) {
    /* CPACR: full access to coprocessors 10 and 11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    s2_start_c();
}

static void s2_fault(void) {
    s2_exit(3);
}
