#ifndef CELLVM_TESTS_UNIT_CORE_ACPI_TEST_UTIL_H
#define CELLVM_TESTS_UNIT_CORE_ACPI_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/acpi/acpi.h"

/* A built table set as the guest would see it at gpa. */
struct acpi_image {
    uint8_t buf[0x20000]; /* ACPI_TABLES_MAX */
    long len;
    uint64_t gpa;
};

uint16_t rd16(const uint8_t *p);
uint32_t rd32(const uint8_t *p);
uint64_t rd64(const uint8_t *p);
uint8_t byte_sum(const uint8_t *p, size_t n);

/* Builds at GPA_ACPI_TABLES; returns acpi_build's result. */
long image_build(struct acpi_image *img, const struct acpi_cpu *cpus, uint32_t ncpus);
long image_build_params(struct acpi_image *img, const struct acpi_params *p);

/* Translates a guest address to a pointer if [gpa, gpa+len) lies inside the image. */
const uint8_t *image_at(const struct acpi_image *img, uint64_t gpa, size_t len);

/* Finds a table through RSDP -> XSDT (and FADT.X_DSDT for "DSDT"); NULL if absent or
 * pointing outside the image. */
const uint8_t *image_table(const struct acpi_image *img, const char sig[4]);

/* Files and processes for the iasl checks; all return 0 or -errno. */
int write_file(const char *path, const void *data, size_t len);
char *read_file(const char *path, size_t *len); /* malloc'd, NUL-terminated; NULL on error */
bool find_in_path(const char *prog);
/* Runs argv with stdout and stderr appended to log; returns the exit status or -errno. */
int run_logged(char *const argv[], const char *log);
void remove_tree(const char *dir);

/* Criterion helpers shared by the iasl and acpiexec tests (they assert on failure). */
char *make_tmpdir(void); /* $TMPDIR/cellvm-acpi-XXXXXX, malloc'd */
/* The first of Error, Warning, Invalid, Incorrect in text, or NULL. */
const char *find_bad_word(const char *text);
void require_acpiexec(void); /* skips the test without acpiexec */
/*
 * Loads FACP, DSDT and APIC into acpiexec with every operation region reading as fill (and the
 * named objects in init, if any, set from acpiexec's init file: "path value" lines), runs the
 * given batch commands with region accesses traced and returns the log (malloc'd) after
 * checking that nothing failed.
 */
char *acpiexec_init(const struct acpi_image *img, const char *dir, const char *fill,
                    const char *init, const char *cmds);
char *acpiexec(const struct acpi_image *img, const char *dir, const char *fill, const char *cmds);
/* The part of acpiexec's log after "Evaluating <first command's path>". */
const char *after_evaluating(const char *text);
/* acpiexec's trace line "SystemMemory <op>: Val <val> Addr <addr>" at or after from, or NULL;
 * op is "Read " or "Write". */
const char *region_access(const char *from, const char *op, uint32_t val, uint64_t addr);
/* Counts the lines of text holding every one of the given strings (NULL-terminated). */
int count_lines(const char *text, const char *const *all);

#endif
