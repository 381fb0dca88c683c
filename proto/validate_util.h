#ifndef CELLVM_PROTO_VALIDATE_UTIL_H
#define CELLVM_PROTO_VALIDATE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Shared by the validators: points *why at the offending field's name, returns -EINVAL. */
int pb_fail(const char **why, const char *field);

/*
 * Printable ASCII only, at most max bytes: strings from peers end up in logs, on terminals and
 * in open(2). NULL or "" pass only when allow_empty; tabs only when allow_tab (a kernel command
 * line may hold them, the kernel treats them as spaces).
 */
bool pb_text_ok(const char *s, size_t max, bool allow_empty, bool allow_tab);

#endif
