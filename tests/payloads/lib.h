#ifndef CELLVM_TESTS_PAYLOADS_LIB_H
#define CELLVM_TESTS_PAYLOADS_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The one library of the freestanding payload guests (long mode, first 4 GiB identity-mapped
 * by start.S). Every line a payload prints starts with "CELLVM-PAYLOAD: " so runners can pick
 * them out of a serial log:
 *
 *   CELLVM-PAYLOAD: ok <what> = <value>        a check that held
 *   CELLVM-PAYLOAD: BAD <what> = <value>       a check that did not
 *   CELLVM-PAYLOAD: PASS <name>                the verdict, then the guest powers off
 *   CELLVM-PAYLOAD: FAIL <name>: <reason>
 *
 * Runners treat "FAIL" anywhere as a failure; "BAD" lines always end in a FAIL verdict.
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

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
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

static inline uint8_t mmio_read8(uint64_t gpa)
{
    return *(volatile uint8_t *)(uintptr_t)gpa;
}

static inline uint32_t mmio_read32(uint64_t gpa)
{
    return *(volatile uint32_t *)(uintptr_t)gpa;
}

static inline void mmio_write32(uint64_t gpa, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)gpa = v;
}

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;

    __asm__ volatile("cpuid"
                     : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause");
}

/* Programs COM1 for 115200 8N1 with the FIFO on and cleared (so it drops queued input). */
void serial_init(void);
void serial_putc(char c);
/* Writes s, with "\n" sent as "\r\n". */
void serial_puts(const char *s);
void serial_puthex(uint64_t v);
/* Prints one PAYLOAD_MARK line made of the given strings. */
void payload_say(const char *a, const char *b);

/* Reads or writes a CMOS/RTC register (NMI stays enabled: bit 7 of the index is clear). */
uint8_t cmos_read(uint8_t reg);
void cmos_write(uint8_t reg, uint8_t v);

/* Local APIC (xAPIC MMIO at GPA_LAPIC) and IOAPIC, for payloads that look at interrupts with
 * interrupts off: no IDT is needed to see a vector arrive in the IRR. */
void lapic_write(uint32_t reg, uint32_t v);
/* Software-enables the local APIC (spurious vector 0xff). */
void lapic_enable(void);
/* True when vector is pending in the local APIC's IRR. */
bool lapic_irr_pending(uint8_t vector);
/* Routes an IOAPIC pin to vector on APIC 0: fixed, edge, unmasked. */
void ioapic_route(unsigned int pin, uint8_t vector);

/* Prints an "ok" or "BAD" line with the value seen, counts BAD ones; returns ok. */
bool payload_check(bool ok, const char *what, uint64_t got);

/* Powers off through the ACPI sleep control register (S5); halts if that returns. */
__attribute__((noreturn)) void payload_poweroff(int failed);
/* Resets through the ACPI reset register; halts until the reset takes effect. */
__attribute__((noreturn)) void payload_acpi_reset(void);
/* Prints the PASS or FAIL line and powers off. */
__attribute__((noreturn)) void payload_pass(const char *name);
__attribute__((noreturn)) void payload_fail(const char *name, const char *why);
/* PASS when no payload_check() failed so far, FAIL otherwise. */
__attribute__((noreturn)) void payload_finish(const char *name);
/* Halts forever with interrupts off. */
__attribute__((noreturn)) void payload_halt(void);

/* The compiler may emit calls to these even in freestanding code. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* Each payload defines this; start.S calls it in long mode with the hvm_start_info address. */
void payload_main(uint32_t start_info);

#endif
