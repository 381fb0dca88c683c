#ifndef CELLVM_TESTS_PAYLOADS_LIB_H
#define CELLVM_TESTS_PAYLOADS_LIB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Helpers shared by the payload guests. Output lines start with "CELLVM-PAYLOAD: " so runners
 * can pick them out of a serial log; a result line is "CELLVM-PAYLOAD: PASS <name>" or
 * "CELLVM-PAYLOAD: FAIL <name>: <reason>".
 */

#define PAYLOAD_MARK "CELLVM-PAYLOAD: "

/* Port QEMU's isa-debug-exit listens on when a runner adds it; nothing is there on cellvm. */
#define PAYLOAD_DEBUG_EXIT_PORT 0xf4

/* hvm_start_info magic, to check the loader's handoff. */
#define PAYLOAD_PVH_MAGIC 0x336ec578u

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;

    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;

    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t mmio_read32(uint64_t gpa)
{
    return *(volatile uint32_t *)(uintptr_t)gpa;
}

static inline uint8_t mmio_read8(uint64_t gpa)
{
    return *(volatile uint8_t *)(uintptr_t)gpa;
}

void serial_putc(char c);
void serial_puts(const char *s);
void serial_puthex(uint64_t v);

/* Reads a CMOS/RTC register (NMI stays enabled: bit 7 of the index is clear). */
uint8_t cmos_read(uint8_t reg);

/* Powers off through the ACPI sleep control register (S5); halts if that returns. */
__attribute__((noreturn)) void payload_poweroff(int failed);
/* Prints the PASS or FAIL line and powers off. */
__attribute__((noreturn)) void payload_pass(const char *name);
__attribute__((noreturn)) void payload_fail(const char *name, const char *why);
/* Halts forever with interrupts off. */
__attribute__((noreturn)) void payload_halt(void);

/* The compiler may emit calls to these even in freestanding code. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* Each payload defines this; start.S calls it in long mode with the hvm_start_info address. */
void payload_main(uint32_t start_info);

#endif
