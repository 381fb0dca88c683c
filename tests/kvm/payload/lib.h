#ifndef CELLVM_TESTS_KVM_PAYLOAD_LIB_H
#define CELLVM_TESTS_KVM_PAYLOAD_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Freestanding helpers for the kvm-suite payload guests (long mode, identity-mapped 4 GiB). */

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

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void serial_init(void);
void print(const char *s);
void print_hex(uint64_t v);
/* Prints "ok NAME" or "FAIL NAME (got X)" and counts failures. */
void check(bool cond, const char *name, uint64_t got);
unsigned int failures(void);

uint8_t cmos_read(uint8_t idx);
void cmos_write(uint8_t idx, uint8_t v);

/* Prints PAYLOAD OK / PAYLOAD FAILED and powers off through the ACPI sleep register. */
void finish(void) __attribute__((noreturn));
void poweroff(void) __attribute__((noreturn));
void acpi_reset(void) __attribute__((noreturn));
void halt_forever(void) __attribute__((noreturn));

void payload_main(uint64_t start_info);

#endif
