/*
 * s2_hal_host.c: the HAL on a host computer, for tests.
 *
 * Packets and ticks reach the PE through an in-memory queue; sent packets
 * and traps are printed as they happen. The harness (main below) reads a script on
 * stdin, one block per PE program:
 *   program N                       select s2_host_programs[N]
 *   init                            must come first (event 0)
 *   packet KEY PAYLOAD | forward STEP | backward STEP
 *   end_of_sample | end_of_batch    queued events 1, 2, ...
 *   write WORD VALUE                queued host write of VALUE into word
 *                                   WORD of the data memory, applied before
 *                                   the next event (not an event itself)
 *   dram ADDR VALUE                 queued: word ADDR of the chip's DRAM
 *                                   holds VALUE; the next s2_dma_read must
 *                                   read the queued words in order
 *   region WORDS                    the PE's private DRAM region has WORDS
 *                                   words, zero (0, the default: none)
 *   region_word ADDR VALUE          word ADDR of the region holds VALUE
 *   run                             s2_run the program over its queue
 * and prints, per block, `program N`, then `send EVENT KEY [PAYLOAD]` and
 * `trap EVENT KIND BUFFER INDEX` lines in the order they happened, then
 * `memory WORDS W0 W1 ...`, and for a region `dram WORDS W0 W1 ...`
 * (numbers in hex but EVENT, WORD and WORDS).
 * The program table is generated: s2_host_programs, s2_host_program_count.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2_hal.h"

extern const s2_program *const s2_host_programs[];
extern const uint32_t s2_host_program_count;

typedef enum { ITEM_PACKET, ITEM_TICK, ITEM_WRITE, ITEM_DRAM } item_kind;

typedef struct {
    item_kind kind;
    s2_packet packet;
    s2_tick tick;
    /* ITEM_WRITE: the word and its new value; ITEM_DRAM: the DRAM word
     * address and its value. */
    uint32_t word;
    uint32_t value;
} item;

/* The queue grows as the script is read. */
static item *queue;
static uint32_t queue_cap;
static uint32_t queue_len;
static uint32_t queue_next;
static uint32_t core;
/* The number of the event being handled: 0 is init. */
static uint32_t event;
static unsigned char *memory;
static uint32_t memory_bytes;
/* DRAM words announced by the script, not yet read by a DMA transfer. */
static uint32_t *dram_addr;
static uint32_t *dram_value;
static uint32_t dram_cap;
static uint32_t dram_len;
static uint32_t dram_next;
/* The PE's private DRAM region, sized by the script. */
static uint32_t *region;
static uint32_t region_words;

void s2_start(void *data, uint32_t bytes) {
    event = 0;
    memory = data;
    memory_bytes = bytes;
}

static void fail(const char *why) {
    fprintf(stderr, "s2_hal_host: %s\n", why);
    exit(2);
}

/* Takes the DRAM word at the head of the queue. */
static void take_dram(const item *it) {
    if (dram_len == dram_cap) {
        dram_cap = dram_cap == 0 ? 4096 : 2 * dram_cap;
        dram_addr = realloc(dram_addr, (size_t)dram_cap * sizeof *dram_addr);
        dram_value = realloc(dram_value, (size_t)dram_cap * sizeof *dram_value);
        if (dram_addr == NULL || dram_value == NULL) {
            fail("out of memory for DRAM words");
        }
    }
    dram_addr[dram_len] = it->word;
    dram_value[dram_len] = it->value;
    dram_len++;
}

void s2_dma_read(uint32_t src, void *dst, uint32_t words) {
    for (uint32_t i = 0; i < words; i++) {
        if (dram_next == dram_len || dram_addr[dram_next] != src + i) {
            fprintf(stderr, "s2_hal_host: DMA read of DRAM word %" PRIu32 " at event %" PRIu32 " not in the script\n",
                    src + i, event);
            exit(2);
        }
        memcpy((unsigned char *)dst + 4 * (size_t)i, &dram_value[dram_next], sizeof(uint32_t));
        dram_next++;
    }
}

void s2_dram_read(uint32_t dram_word, void *dst, uint32_t words) {
    if (dram_word > region_words || words > region_words - dram_word) {
        fail("DMA statement outside the private DRAM region the script gave");
    }
    memcpy(dst, region + dram_word, 4 * (size_t)words);
}

void s2_dram_write(const void *src, uint32_t dram_word, uint32_t words) {
    if (dram_word > region_words || words > region_words - dram_word) {
        fail("DMA statement outside the private DRAM region the script gave");
    }
    memcpy(region + dram_word, src, 4 * (size_t)words);
}

/* Applies the host writes (and takes the DRAM words) at the head of the queue. */
static void apply_writes(void) {
    while (queue_next < queue_len && (queue[queue_next].kind == ITEM_WRITE || queue[queue_next].kind == ITEM_DRAM)) {
        const item *it = &queue[queue_next];
        if (it->kind == ITEM_DRAM) {
            take_dram(it);
            queue_next++;
            continue;
        }
        if (it->word >= memory_bytes / 4) {
            fprintf(stderr, "s2_hal_host: write to word %" PRIu32 " outside the %" PRIu32 "-byte data memory\n",
                    it->word, memory_bytes);
            exit(2);
        }
        memcpy(memory + 4 * (size_t)it->word, &it->value, sizeof it->value);
        queue_next++;
    }
}

uint32_t s2_core_id(void) {
    return core;
}

bool s2_receive(s2_packet *packet) {
    apply_writes();
    if (queue_next == queue_len || queue[queue_next].kind != ITEM_PACKET) {
        return false;
    }
    *packet = queue[queue_next].packet;
    queue_next++;
    event++;
    return true;
}

bool s2_wait_tick(s2_tick *tick) {
    apply_writes();
    if (queue_next == queue_len) {
        return false;
    }
    *tick = queue[queue_next].tick;
    queue_next++;
    event++;
    return true;
}

void s2_send(uint32_t key) {
    printf("send %" PRIu32 " %08" PRIx32 "\n", event, key);
}

void s2_send_payload(uint32_t key, uint32_t payload) {
    printf("send %" PRIu32 " %08" PRIx32 " %08" PRIx32 "\n", event, key, payload);
}

void s2_trap(s2_trap_kind kind, uint32_t buffer, int64_t index) {
    printf("trap %" PRIu32 " %d %" PRIu32 " %" PRId64 "\n", event, (int)kind, buffer, index);
}

void s2_output(const void *data, uint32_t bytes) {
    uint32_t words = bytes / 4;
    printf("memory %" PRIu32, words);
    for (uint32_t i = 0; i < words; i++) {
        uint32_t w;
        memcpy(&w, (const unsigned char *)data + 4 * i, sizeof w);
        printf(" %08" PRIx32, w);
    }
    printf("\n");
    if (region_words > 0) {
        printf("dram %" PRIu32, region_words);
        for (uint32_t i = 0; i < region_words; i++) {
            printf(" %08" PRIx32, region[i]);
        }
        printf("\n");
    }
}

int s2_stop(void) {
    return 0;
}

static void push(item it) {
    if (queue_len == queue_cap) {
        queue_cap = queue_cap == 0 ? 4096 : 2 * queue_cap;
        queue = realloc(queue, (size_t)queue_cap * sizeof *queue);
        if (queue == NULL) {
            fprintf(stderr, "s2_hal_host: out of memory for %" PRIu32 " queued events\n", queue_cap);
            exit(2);
        }
    }
    queue[queue_len++] = it;
}

static void push_tick(s2_tick_kind kind, int32_t step) {
    item it;
    memset(&it, 0, sizeof it);
    it.kind = ITEM_TICK;
    it.tick.kind = kind;
    it.tick.step = step;
    push(it);
}

int main(void) {
    char word[32];
    uint32_t program = 0;
    while (scanf("%31s", word) == 1) {
        unsigned long a = 0;
        unsigned long b = 0;
        long step = 0;
        if (strcmp(word, "program") == 0 && scanf("%lu", &a) == 1 && a < s2_host_program_count) {
            program = (uint32_t)a;
            core = program;
            queue_len = 0;
            queue_next = 0;
            dram_len = 0;
            dram_next = 0;
            region_words = 0;
        } else if (strcmp(word, "region") == 0 && scanf("%lu", &a) == 1 && a <= 0xffffffffUL) {
            free(region);
            region = calloc(a == 0 ? 1 : (size_t)a, sizeof *region);
            if (region == NULL) {
                fail("out of memory for the private DRAM region");
            }
            region_words = (uint32_t)a;
        } else if (strcmp(word, "region_word") == 0 && scanf("%lu %lx", &a, &b) == 2) {
            if (a >= region_words) {
                fail("region_word outside the private DRAM region");
            }
            region[a] = (uint32_t)b;
        } else if (strcmp(word, "init") == 0) {
            printf("program %" PRIu32 "\n", program);
        } else if (strcmp(word, "packet") == 0 && scanf("%lx %lx", &a, &b) == 2) {
            item it;
            memset(&it, 0, sizeof it);
            it.kind = ITEM_PACKET;
            it.packet.key = (uint32_t)a;
            it.packet.payload = (uint32_t)b;
            push(it);
        } else if (strcmp(word, "forward") == 0 && scanf("%ld", &step) == 1) {
            push_tick(S2_TICK_FORWARD, (int32_t)step);
        } else if (strcmp(word, "backward") == 0 && scanf("%ld", &step) == 1) {
            push_tick(S2_TICK_BACKWARD, (int32_t)step);
        } else if (strcmp(word, "end_of_sample") == 0) {
            push_tick(S2_TICK_END_OF_SAMPLE, 0);
        } else if (strcmp(word, "end_of_batch") == 0) {
            push_tick(S2_TICK_END_OF_BATCH, 0);
        } else if (strcmp(word, "write") == 0 && scanf("%lu %lx", &a, &b) == 2) {
            item it;
            memset(&it, 0, sizeof it);
            it.kind = ITEM_WRITE;
            it.word = (uint32_t)a;
            it.value = (uint32_t)b;
            push(it);
        } else if (strcmp(word, "dram") == 0 && scanf("%lu %lx", &a, &b) == 2) {
            item it;
            memset(&it, 0, sizeof it);
            it.kind = ITEM_DRAM;
            it.word = (uint32_t)a;
            it.value = (uint32_t)b;
            push(it);
        } else if (strcmp(word, "run") == 0) {
            if (s2_run(s2_host_programs[program]) != 0) {
                return 1;
            }
        } else {
            fprintf(stderr, "s2_hal_host: bad script word `%s`\n", word);
            return 2;
        }
    }
    return 0;
}
