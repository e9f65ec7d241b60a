/* s2_run.c: the event loop of a PE program, the same on every board. */
#include <string.h>

#include "s2_hal.h"

/* Completes the kernel's pending DMA transfer, if any (before a forward
 * tick, as the emulator does), and marks it done. */
static void complete_dma(const s2_program *program) {
    uint32_t d[3];
    unsigned char *mem = program->data;
    if (program->dma_word == S2_NO_DMA) {
        return;
    }
    memcpy(d, mem + 4u * program->dma_word, sizeof d);
    if (d[2] == 0u) {
        return;
    }
    if (d[1] > program->data_bytes / 4u || d[2] > program->data_bytes / 4u - d[1]) {
        s2_trap(S2_TRAP_DMA, 0u, (int64_t)d[1]);
        return;
    }
    s2_dma_read(d[0], mem + 4u * d[1], d[2]);
    d[2] = 0u;
    memcpy(mem + 4u * program->dma_word + 8u, &d[2], sizeof d[2]);
}

static void drain_packets(const s2_program *program) {
    s2_packet packet;
    while (s2_receive(&packet)) {
        program->packet(packet.key, packet.payload);
    }
}

int s2_run(const s2_program *program) {
    s2_tick tick;
    s2_start(program->data, program->data_bytes);
    program->init();
    for (;;) {
        drain_packets(program);
        if (!s2_wait_tick(&tick)) {
            break;
        }
        switch (tick.kind) {
        case S2_TICK_FORWARD:
            complete_dma(program);
            program->tick_forward(tick.step);
            break;
        case S2_TICK_BACKWARD:
            program->tick_backward(tick.step);
            break;
        case S2_TICK_END_OF_SAMPLE:
            program->end_of_sample();
            break;
        case S2_TICK_END_OF_BATCH:
            program->end_of_batch();
            break;
        }
    }
    s2_output(program->data, program->data_bytes);
    return s2_stop();
}
