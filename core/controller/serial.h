#ifndef CELLVM_CORE_SERIAL_BACKEND_H
#define CELLVM_CORE_SERIAL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <termios.h>

struct event_base;
struct event;

enum serial_mode {
    SERIAL_MODE_OFF,
    SERIAL_MODE_NULL,
    SERIAL_MODE_TTY,
    SERIAL_MODE_PTY,
    SERIAL_MODE_FILE,
    SERIAL_MODE_SOCKET
};

/*
 * The host side of the guest's COM1. The core gets core_in/core_out; for socket mode the
 * controller keeps the other end of a socketpair and relays it to one client at a time of a
 * listening unix socket, dropping bytes rather than blocking either side.
 */
struct serial_backend {
    enum serial_mode mode;
    int core_in;       /* for the core; owned until serial_release_core_fds(), -1 if none */
    int core_out;      /* for the core; owned likewise, -1 if output is dropped */
    int relay;         /* socket mode: controller's end of the pair; owned */
    int listener;      /* socket mode: listening socket; owned */
    int client;        /* socket mode: the connected client, -1 if none; owned */
    char *socket_path; /* socket mode: unlinked on close; owned */
    struct event *ev_listener, *ev_relay, *ev_client;
    bool tty_raw; /* stdin was put in raw mode and must be restored */
    struct termios saved;
};

void serial_init(struct serial_backend *s);

/* Opens the backend for `mode` (path for file/socket). err gets one line on failure. */
int serial_open(struct serial_backend *s, enum serial_mode mode, const char *path, char *err,
                size_t errlen);

/* Socket mode: starts relaying on base. No-op for the other modes. */
int serial_attach(struct serial_backend *s, struct event_base *base);

/* The core now holds its copies: close the controller's. */
void serial_release_core_fds(struct serial_backend *s);

void serial_close(struct serial_backend *s);

#endif
