/* s2_run.c: the event loop of a PE program, the same on every board. */
#include "s2_hal.h"

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
