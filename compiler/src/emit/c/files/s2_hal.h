/*
 * s2_hal.h: the hardware-abstraction layer an emitted PE program runs on.
 *
 * The emitted kernel code calls only s2_send, s2_send_payload, s2_trap and,
 * for DMA statements, s2_dram_read and s2_dram_write;
 * the event loop (s2_run.c) calls the rest (s2_dma_read for a kernel with a
 * DMA descriptor: an event input, whose events are in the chip's DRAM). One implementation per board:
 *   s2_hal_host.c  host tests: packets and ticks through in-memory queues,
 *                  driven by a script on stdin;
 *   s2_hal_qemu.c  QEMU mps2-an386 (Cortex-M4F): the event trace is read and
 *                  the results are written through ARM semihosting.
 * On SpiNNaker2, s2_receive drains the packet-received interrupt's queue,
 * s2_wait_tick sleeps (WFI) until the timer interrupt of the next simulation
 * step, s2_send writes the communication controller's key and payload
 * registers, and s2_dma_read, s2_dram_read and s2_dram_write program the
 * PE's DMA controller and poll it until the transfer is complete.
 */
#ifndef S2_HAL_H
#define S2_HAL_H

#include <stdbool.h>
#include <stdint.h>

/* A multicast packet as received: 32-bit key and payload (0 if none). */
typedef struct {
    uint32_t key;
    uint32_t payload;
} s2_packet;

/* What a timer tick asks the PE to do. */
typedef enum {
    S2_TICK_FORWARD = 1,
    S2_TICK_BACKWARD = 2,
    S2_TICK_END_OF_SAMPLE = 3,
    S2_TICK_END_OF_BATCH = 4
} s2_tick_kind;

typedef struct {
    s2_tick_kind kind;
    /* Forward or backward: the simulation step. */
    int32_t step;
} s2_tick;

/* Why an entry point stopped early (the kernel IR's traps). */
typedef enum {
    S2_TRAP_OUT_OF_BOUNDS = 1,
    S2_TRAP_DIVISION_BY_ZERO = 2,
    S2_TRAP_DIVISION_OVERFLOW = 3,
    /* A DMA descriptor whose destination is outside the data memory
     * (s2_run.c; buffer 0, index the destination word). */
    S2_TRAP_DMA = 4,
    /* A DMA statement's buffer range (`buffer` its number, `index` its
     * start; a negative word count included). */
    S2_TRAP_DMA_OUT_OF_BOUNDS = 5,
    /* A DMA statement's range of the private DRAM region (buffer 0, `index`
     * the DRAM word address). */
    S2_TRAP_DRAM_OUT_OF_BOUNDS = 6
} s2_trap_kind;

/* s2_program.dma_word of a kernel without a DMA descriptor. */
#define S2_NO_DMA 0xffffffffu

/* Board bring-up, before the kernel's init entry point. `data` is the
 * PE's data memory (`bytes` long): the host writes a sample's inputs into it
 * between events (on SpiNNaker2 the host writes the PE's SRAM directly; the
 * test HALs apply the writes of their event trace there). */
void s2_start(void *data, uint32_t bytes);
/* This PE's id on its chip (qx << 5 | qy << 2 | pe). */
uint32_t s2_core_id(void);
/* The next packet received since the last call; false when there is none. */
bool s2_receive(s2_packet *packet);
/* Blocks until the next timer tick; false when the PE is told to stop. */
bool s2_wait_tick(s2_tick *tick);
/* Sends a multicast packet without / with a 32-bit payload. */
void s2_send(uint32_t key);
void s2_send_payload(uint32_t key, uint32_t payload);
/* Reports a trap; the entry point then returns. For S2_TRAP_OUT_OF_BOUNDS,
 * `buffer` is the buffer's number in the kernel and `index` the index (an
 * i32 index sign-extended); otherwise both are 0. */
void s2_trap(s2_trap_kind kind, uint32_t buffer, int64_t index);
/* Copies `words` 32-bit words from word address `src` of the chip's DRAM
 * to `dst` (4-byte aligned, inside the data memory) and returns when they
 * are there. */
void s2_dma_read(uint32_t src, void *dst, uint32_t words);
/* The PE's private DRAM region (a kernel with DMA statements, whose
 * `dram WORDS` the emitted code checks against, trapping as the interpreter
 * does): copy `words` 32-bit words from region word `dram_word` to `dst` /
 * from `src` to region word `dram_word` (4-byte aligned, inside the data
 * memory) and return when they are there. A HAL whose region is smaller
 * stops the program (a harness error, not a trap). */
void s2_dram_read(uint32_t dram_word, void *dst, uint32_t words);
void s2_dram_write(const void *src, uint32_t dram_word, uint32_t words);
/* Hands the PE's data memory (its results) to the host (and the test HALs
 * their private DRAM region). */
void s2_output(const void *data, uint32_t bytes);
/* Stops the PE; returns the exit status for main. */
int s2_stop(void);

/* The entry points and data memory of one emitted kernel. */
typedef struct {
    const char *name;
    void (*init)(void);
    void (*packet)(uint32_t key, uint32_t payload);
    void (*tick_forward)(int32_t step);
    void (*tick_backward)(int32_t step);
    void (*end_of_sample)(void);
    void (*end_of_batch)(void);
    void *data;
    uint32_t data_bytes;
    /* The data-memory word of the kernel's DMA descriptor `dma` = {DRAM
     * word address, data-memory word, words}, a transfer pending while
     * words is not 0; S2_NO_DMA when it has none. */
    uint32_t dma_word;
} s2_program;

/* The PE's event loop (s2_run.c): start, init, then repeatedly the packets
 * received so far and the next tick (before a forward tick, the pending DMA
 * transfer); at stop, the output of the data memory and the exit status. */
int s2_run(const s2_program *program);

#endif
