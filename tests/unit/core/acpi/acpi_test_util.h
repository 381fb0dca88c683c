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

#endif
