#ifndef CELLVM_CORE_ACPI_AML_H
#define CELLVM_CORE_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acpi/acpi_buf.h"

/*
 * A small AML (ACPI 6.x, section 20) encoder writing into an acpi_buf. AML is prefix notation,
 * so a term is written as its opcode followed by its operands in order:
 *
 *     aml_op(b, AML_STORE); aml_name_ref(b, "GDAT"); aml_local(b, 0);   // Local0 = GDAT
 *
 * Constructs with a PkgLength (Scope, Device, Method, If, Package, Buffer, Field) are opened by
 * a function returning a mark and closed by aml_end (aml_buffer_end for buffers), which
 * inserts the minimal PkgLength encoding. Names are ASL paths: "\\_SB.COM1", "^PWRB", "_S5";
 * each segment is padded with '_' to four characters. Invalid input latches -EINVAL in the
 * buffer.
 */

/* One-byte opcodes with operands written by the caller. */
enum aml_opcode {
    AML_STORE = 0x70,              /* Store (TermArg, SuperName) */
    AML_ADD = 0x72,                /* Add (Operand, Operand, Target) */
    AML_SUBTRACT = 0x74,           /* Subtract (Operand, Operand, Target) */
    AML_SHIFT_LEFT = 0x79,         /* ShiftLeft (Operand, ShiftCount, Target) */
    AML_AND = 0x7b,                /* And (Operand, Operand, Target) */
    AML_OR = 0x7d,                 /* Or (Operand, Operand, Target) */
    AML_NOTIFY = 0x86,             /* Notify (SuperName, TermArg) */
    AML_CREATE_DWORD_FIELD = 0x8a, /* CreateDWordField (Buffer, ByteIndex, NameString) */
    AML_CREATE_QWORD_FIELD = 0x8f, /* CreateQWordField (Buffer, ByteIndex, NameString) */
    AML_LNOT = 0x92,               /* LNot (Operand) */
    AML_LEQUAL = 0x93,             /* LEqual (Operand, Operand) */
    AML_LLESS = 0x95,              /* LLess (Operand, Operand) */
    AML_RETURN = 0xa4,             /* Return (TermArg) */
};

enum aml_region_space {
    AML_SYSTEM_MEMORY = 0x00,
    AML_SYSTEM_IO = 0x01,
};

/* FieldFlags: AccessType | LockRule | UpdateRule. */
enum aml_field_flags {
    AML_FIELD_ANY_ACC = 0x00,
    AML_FIELD_BYTE_ACC = 0x01,
    AML_FIELD_WORD_ACC = 0x02,
    AML_FIELD_DWORD_ACC = 0x03,
    AML_FIELD_QWORD_ACC = 0x04,
    AML_FIELD_LOCK = 0x10,
    AML_FIELD_PRESERVE = 0x00,
    AML_FIELD_WRITE_AS_ONES = 0x20,
    AML_FIELD_WRITE_AS_ZEROS = 0x40,
};

/* Extended Interrupt descriptor flags (ACPI 6.5, 6.4.3.6). */
enum aml_irq_flags {
    AML_IRQ_CONSUMER = 0x01,
    AML_IRQ_EDGE = 0x02,
    AML_IRQ_ACTIVE_LOW = 0x04,
    AML_IRQ_SHARED = 0x08,
    AML_IRQ_WAKE = 0x10,
};

void aml_op(struct acpi_buf *b, enum aml_opcode op);
/* A method invocation is the method's name followed by its arguments, nothing else:
 * aml_name_ref(b, "DVNT"); aml_arg(b, 0); aml_int(b, 1);   // DVNT (Arg0, One) */

/* Data objects. */
void aml_int(struct acpi_buf *b, uint64_t v); /* Zero/One or the smallest prefix */
void aml_string(struct acpi_buf *b, const char *s);
void aml_eisaid(struct acpi_buf *b, const char *id); /* "PNP0501" compressed to a DWord */
void aml_local(struct acpi_buf *b, unsigned n);      /* Local0..Local7 */
void aml_arg(struct acpi_buf *b, unsigned n);        /* Arg0..Arg6 */
void aml_null_target(struct acpi_buf *b);            /* an omitted Target operand */
void aml_name_ref(struct acpi_buf *b, const char *path);

/* Named objects. aml_name writes "Name (path," and the value follows. */
void aml_name(struct acpi_buf *b, const char *path);
void aml_op_region(struct acpi_buf *b, const char *path, enum aml_region_space space,
                   uint64_t offset, uint64_t len);

/* Mutex (path, sync_level 0..15); Acquire (path, timeout ms, 0xffff: forever); Release (path).
 * Acquire returns a value (true on timeout) that a statement may leave unused. */
void aml_mutex(struct acpi_buf *b, const char *path, uint8_t sync_level);
void aml_acquire(struct acpi_buf *b, const char *path, uint16_t timeout);
void aml_release(struct acpi_buf *b, const char *path);

/* PkgLength constructs, closed by aml_end. */
size_t aml_scope(struct acpi_buf *b, const char *path);
size_t aml_device(struct acpi_buf *b, const char *path);
size_t aml_method(struct acpi_buf *b, const char *path, unsigned nargs, bool serialized);
size_t aml_if(struct acpi_buf *b);    /* the predicate is the first term written after it */
size_t aml_while(struct acpi_buf *b); /* likewise */
size_t aml_package(struct acpi_buf *b, uint8_t nelems);
size_t aml_field(struct acpi_buf *b, const char *region, uint8_t flags);
void aml_field_unit(struct acpi_buf *b, const char *name, uint32_t bits);
void aml_field_reserved(struct acpi_buf *b, uint32_t bits); /* an unnamed gap: Offset () */
void aml_end(struct acpi_buf *b, size_t mark);

/* Buffers and resource templates; close with aml_buffer_end / aml_restemp_end. */
size_t aml_buffer(struct acpi_buf *b);
void aml_buffer_end(struct acpi_buf *b, size_t mark);
size_t aml_restemp(struct acpi_buf *b);
void aml_restemp_end(struct acpi_buf *b, size_t mark);

/* Resource descriptors (ACPI 6.5, 6.4), written inside a resource template. */
void aml_res_io(struct acpi_buf *b, uint16_t base, uint8_t len); /* IO (Decode16), fixed */
void aml_res_irq_noflags(struct acpi_buf *b, uint8_t irq);       /* ISA IRQ, edge high */
void aml_res_mem32_fixed(struct acpi_buf *b, bool writable, uint32_t base, uint32_t len);
void aml_res_interrupt(struct acpi_buf *b, uint8_t flags, uint32_t gsi);
/* Bridge windows (producer, fixed [min, max]): bus numbers, I/O ports, 32/64-bit memory. */
void aml_res_word_bus(struct acpi_buf *b, uint16_t min, uint16_t max);
void aml_res_word_io(struct acpi_buf *b, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct acpi_buf *b, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct acpi_buf *b, uint64_t min, uint64_t max);
/* The same window as cacheable RAM (a memory device's range). */
void aml_res_qword_ram(struct acpi_buf *b, uint64_t min, uint64_t max);

#endif
