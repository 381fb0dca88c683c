#ifndef CELLVM_CORE_VM_LOG_H
#define CELLVM_CORE_VM_LOG_H

#include <stdarg.h>

/*
 * Line-oriented logging to a file descriptor (stderr in the core, whose stderr is a pipe the
 * controller reads and prefixes). Each line goes out in one write(), so lines from vCPU threads
 * never interleave mid-line.
 */

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3,
};

struct log {
    int fd;               /* borrowed; usually 2 */
    enum log_level level; /* lines above this level are dropped */
};

void log_init(struct log *lg, int fd, int verbosity);
void log_msg(const struct log *lg, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(const struct log *lg, enum log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_error(lg, ...) log_msg((lg), LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(lg, ...)  log_msg((lg), LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(lg, ...)  log_msg((lg), LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(lg, ...) log_msg((lg), LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
