/*
 * s2_hal_qemu.c: the HAL on QEMU's mps2-an386 (Cortex-M4F), through ARM
 * semihosting (run qemu with -semihosting-config enable=on,target=native).
 *
 * Input: the file s2_events.bin in QEMU's working directory, a sequence of
 * little-endian records (kind, a, b) of three 32-bit words: kind 0 init
 * (first), 1 packet (a = key, b = payload), 2 forward tick (a = step),
 * 3 backward tick (a = step), 4 end of sample, 5 end of batch, 6 host write
 * (b into word a of the data memory, applied before the next event; not an
 * event itself), 7 DRAM word (word a of the chip's DRAM holds b; not an
 * event: the words the DMA transfer completed before a forward tick reads,
 * in order, right after that tick's record; s2_dma_read reads them from
 * the trace as it goes, so the HAL keeps no copy of DRAM), 8 region size
 * (the PE's private DRAM region has a words; before init), 9 region word
 * (word a of the region holds b; after record 8, before init or between
 * events like a host write). Records 6, 8 and 9 may come before init.
 * The private DRAM region of DMA statements (s2_dram_read, s2_dram_write)
 * is RAM at S2_REGION_BASE, 1 MiB above the data memory, up to the end of
 * the board's 4 MiB of RAM (S2_REGION_MAX_WORDS words), zero when QEMU
 * starts. (Kept small: this code is in every image, and snnc's code
 * estimate, emit::c::code_estimate, must stay above every image's size.)
 * Output on stdout, as the host HAL prints it: `program 0`, then
 * `send EVENT KEY [PAYLOAD]` and `trap EVENT KIND BUFFER INDEX` lines, then
 * `memory WORDS W0 W1 ...` and, with a region, `dram WORDS W0 W1 ...`;
 * EVENT is the record number.
 * The exit status is 0, or 2 for a bad trace, 3 for a processor fault.
 */
#include <stdint.h>
#include <string.h>

#include "s2_hal.h"

#ifndef S2_CORE_ID
#define S2_CORE_ID 0u
#endif

enum {
    SYS_OPEN = 0x01,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026
};

enum {
    REC_INIT,
    REC_PACKET,
    REC_FORWARD,
    REC_BACKWARD,
    REC_END_OF_SAMPLE,
    REC_END_OF_BATCH,
    REC_WRITE,
    REC_DRAM,
    REC_REGION,
    REC_REGION_WORD
};

#define S2_REGION_BASE 0x20100000u
#define S2_REGION_MAX_WORDS ((0x20400000u - S2_REGION_BASE) / 4u)

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void s2_exit(int status) {
    const uint32_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    semihost(SYS_EXIT_EXTENDED, args);
    for (;;) {
    }
}

static int trace = -1;
static int console = -1;
static uint32_t event;
static uint32_t next[3];
static bool have_next;
static unsigned char *memory;
static uint32_t memory_bytes;
static uint32_t region_words;

#define REGION ((unsigned char *)(uintptr_t)S2_REGION_BASE)

static int open_file(const char *name, uint32_t len, uint32_t mode) {
    const uint32_t args[3] = {(uint32_t)(uintptr_t)name, mode, len};
    return semihost(SYS_OPEN, args);
}

static void write_text(const char *text, uint32_t len) {
    const uint32_t args[3] = {(uint32_t)console, (uint32_t)(uintptr_t)text, len};
    semihost(SYS_WRITE, args);
}

/* A small line buffer with number formatting. */
static char line[96];
static uint32_t line_len;

static void put_char(char c) {
    if (line_len == sizeof line) {
        write_text(line, line_len);
        line_len = 0;
    }
    line[line_len++] = c;
}

static void put_text(const char *s) {
    while (*s != '\0') {
        put_char(*s++);
    }
}

static void put_hex(uint32_t x) {
    put_char(' ');
    for (int shift = 28; shift >= 0; shift -= 4) {
        put_char("0123456789abcdef"[(x >> shift) & 0xfu]);
    }
}

static void put_dec(int64_t x) {
    char digits[20];
    int n = 0;
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    put_char(' ');
    if (x < 0) {
        put_char('-');
    }
    do {
        digits[n++] = (char)('0' + (int)(u % 10u));
        u /= 10u;
    } while (u != 0u);
    while (n > 0) {
        put_char(digits[--n]);
    }
}

static void end_line(void) {
    put_char('\n');
    write_text(line, line_len);
    line_len = 0;
}

static void bad_trace(const char *why) {
    put_text("bad trace: ");
    put_text(why);
    end_line();
    s2_exit(2);
}

/* Reads the next record into `next`; false at the end of the trace. */
static bool peek(void) {
    if (!have_next) {
        const uint32_t args[3] = {(uint32_t)trace, (uint32_t)(uintptr_t)next, sizeof next};
        int left = semihost(SYS_READ, args);
        if (left == (int)sizeof next) {
            return false;
        }
        if (left != 0) {
            bad_trace("truncated record");
        }
        have_next = true;
    }
    return true;
}

void s2_dma_read(uint32_t src, void *dst, uint32_t words) {
    for (uint32_t i = 0; i < words; i++) {
        if (!peek() || next[0] != REC_DRAM || next[1] != src + i) {
            bad_trace("DMA read of a DRAM word the trace does not give next");
        }
        memcpy((unsigned char *)dst + 4u * i, &next[2], sizeof(uint32_t));
        have_next = false;
    }
}

void s2_dram_read(uint32_t dram_word, void *dst, uint32_t words) {
    if (dram_word > region_words || words > region_words - dram_word) {
        bad_trace("DMA statement outside the private DRAM region");
    }
    memcpy(dst, REGION + 4u * dram_word, 4u * words);
}

void s2_dram_write(const void *src, uint32_t dram_word, uint32_t words) {
    if (dram_word > region_words || words > region_words - dram_word) {
        bad_trace("DMA statement outside the private DRAM region");
    }
    memcpy(REGION + 4u * dram_word, src, 4u * words);
}

/* Applies the host writes (of data memory and region words, and the
 * region's size) at the head of the trace. */
static void apply_writes(void) {
    while (peek() && (next[0] == REC_WRITE || next[0] >= REC_REGION)) {
        bool region = next[0] != REC_WRITE;
        if (next[0] == REC_REGION) {
            region_words = next[1];
            next[1] = 0u;
            next[2] = 0u;
        }
        if (next[1] >= (region ? region_words : memory_bytes / 4u) || region_words > S2_REGION_MAX_WORDS) {
            bad_trace("write outside the memory");
        }
        memcpy((region ? REGION : memory) + 4u * next[1], &next[2], sizeof next[2]);
        have_next = false;
    }
}

void s2_start(void *data, uint32_t bytes) {
    static const char name[] = "s2_events.bin";
    memory = data;
    memory_bytes = bytes;
    console = open_file(":tt", 3, 4);
    trace = open_file(name, sizeof name - 1, 1);
    if (trace < 0) {
        bad_trace("cannot open s2_events.bin");
    }
    apply_writes();
    if (!peek() || next[0] != REC_INIT) {
        bad_trace("the first record must be init");
    }
    have_next = false;
    event = 0;
    put_text("program");
    put_dec(0);
    end_line();
}

uint32_t s2_core_id(void) {
    return S2_CORE_ID;
}

bool s2_receive(s2_packet *packet) {
    apply_writes();
    if (!peek() || next[0] != REC_PACKET) {
        return false;
    }
    packet->key = next[1];
    packet->payload = next[2];
    have_next = false;
    event++;
    return true;
}

bool s2_wait_tick(s2_tick *tick) {
    apply_writes();
    if (!peek()) {
        return false;
    }
    switch (next[0]) {
    case REC_FORWARD:
        tick->kind = S2_TICK_FORWARD;
        break;
    case REC_BACKWARD:
        tick->kind = S2_TICK_BACKWARD;
        break;
    case REC_END_OF_SAMPLE:
        tick->kind = S2_TICK_END_OF_SAMPLE;
        break;
    case REC_END_OF_BATCH:
        tick->kind = S2_TICK_END_OF_BATCH;
        break;
    default:
        bad_trace("unknown record kind");
    }
    tick->step = (int32_t)next[1];
    have_next = false;
    event++;
    return true;
}

void s2_send(uint32_t key) {
    put_text("send");
    put_dec(event);
    put_hex(key);
    end_line();
}

void s2_send_payload(uint32_t key, uint32_t payload) {
    put_text("send");
    put_dec(event);
    put_hex(key);
    put_hex(payload);
    end_line();
}

void s2_trap(s2_trap_kind kind, uint32_t buffer, int64_t index) {
    put_text("trap");
    put_dec(event);
    put_dec((int64_t)kind);
    put_dec(buffer);
    put_dec(index);
    end_line();
}

void s2_output(const void *data, uint32_t bytes) {
    /* The data memory, then the private DRAM region if there is one. */
    const char *label = "memory";
    const unsigned char *at = data;
    uint32_t words = bytes / 4u;
    for (;;) {
        put_text(label);
        put_dec(words);
        for (uint32_t i = 0; i < words; i++) {
            uint32_t w;
            memcpy(&w, at + 4u * i, sizeof w);
            put_hex(w);
        }
        end_line();
        if (at == REGION || region_words == 0u) {
            return;
        }
        label = "dram";
        at = REGION;
        words = region_words;
    }
}

int s2_stop(void) {
    return 0;
}
