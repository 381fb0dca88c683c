#ifndef CELLVM_CORE_CONTROLLER_CONSOLE_HOST_H
#define CELLVM_CORE_CONTROLLER_CONSOLE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

#include "core/cli/cli.h"

/*
 * The host side of --console (virtio-console, served by cellvm-consoled): what the controller
 * opens for the guest's console, where the user's permissions apply. consoled gets dups of
 * out_fd and in_fd (its device row keeps them for a replacement); this keeps the originals, the
 * terminal's mode and the pty's other end for the VM's life.
 *
 *   null: out /dev/null, no input            file: out the file (created, truncated), no input
 *   tty:  out the terminal on stdout, opened again so that its O_NONBLOCK is consoled's alone
 *         (otherwise a dup of stdout), in a dup of stdin when stdin is a terminal, which is
 *         then put in raw mode and restored by console_host_close
 *   pty:  a new pty: out and in the master (O_NONBLOCK); the slave stays open here so the master
 *         never reads as hung up while nobody has the pty open (the guest's output waits in the
 *         pty, then consoled drops what does not fit)
 */
struct console_host {
    enum cli_console_mode mode;
    int out_fd;        /* owned; -1 for off */
    int in_fd;         /* owned; -1 if the console has no input */
    int pty_slave;     /* pty: owned */
    char pty_path[64]; /* pty: the slave's name, "" otherwise */
    bool tty_raw;      /* stdin was put in raw mode here and must be restored */
    struct termios saved;
};

void console_host_init(struct console_host *h);

/* Opens what c asks for. stdin_raw: stdin is in raw mode already (the serial port's tty), so it
 * is left alone here. 0 or -errno with one line in err. */
int console_host_open(struct console_host *h, const struct cli_console *c, bool stdin_raw,
                      char *err, size_t errlen);

/* The spec cellvm-consoled gets (Cloud Hypervisor's --console syntax): "tty", "pty", "null",
 * "file=\"PATH\"". 0 or -ENAMETOOLONG. */
int console_host_spec(const struct console_host *h, const struct cli_console *c, char *buf,
                      size_t len);

/* Closes every fd and puts the terminal back as it was. */
void console_host_close(struct console_host *h);

#endif
