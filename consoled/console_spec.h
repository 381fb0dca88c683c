#ifndef CELLVM_CONSOLED_CONSOLE_SPEC_H
#define CELLVM_CONSOLED_CONSOLE_SPEC_H

#include <stddef.h>

/* What cellvm-consoled's --console names: where the guest's console goes. */
enum con_mode {
    CON_MODE_NULL, /* output discarded, no input */
    CON_MODE_TTY,  /* the process's stdout, and stdin when it is a terminal */
    CON_MODE_PTY,  /* a pty master (from the controller only) */
    CON_MODE_FILE, /* output to a file, no input */
};

struct con_spec {
    enum con_mode mode;
    char *file; /* CON_MODE_FILE: the path (owned) */
};

/*
 * Cloud Hypervisor's --console syntax as the daemon takes it: one of null, tty, pty,
 * file=PATH (the first of null, pty, tty, file in CH's order wins when several are given, as
 * in CH), iommu=off. off (no device) and socket= (CH refuses it for the console) are refused.
 * 0 or -errno with one line in err.
 */
int con_spec_parse(const char *value, struct con_spec *s, char *err, size_t errlen);
void con_spec_free(struct con_spec *s);
const char *con_mode_name(enum con_mode m);

#endif
