/*
 * The API socket's front: accepts clients on the --api-socket listener and reads every byte with
 * recvmsg, so fds sent with a request (SCM_RIGHTS: vm.add-net's TAP fds) are collected before
 * the bytes reach libevent's HTTP parser, which reads with readv and would drop them. The bytes
 * are relayed to evhttp over a private socket pair per client: evhttp listens on an
 * autobound abstract AF_UNIX address, which the API process's own network namespace keeps
 * unreachable to anyone else.
 */
#ifndef CELLVM_CORE_API_API_FRONT_H
#define CELLVM_CORE_API_API_FRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#define API_FRONT_MAX_CONNS 256 /* further clients are closed on accept */
#define API_FRONT_MAX_FDS   8   /* fds held for one connection; more fail its request */

struct event_base;
struct evhttp;
struct api_conn;

struct api_front {
    struct event_base *base; /* borrowed */
    int listen_fd;           /* the API socket; owned */
    int inner_fd;            /* evhttp's listener, until handed over; owned until then */
    struct sockaddr_un inner_addr;
    socklen_t inner_len;
    struct event *ev_accept;
    struct api_conn *conns; /* open connections, a list */
    unsigned nconns;
};

void api_front_init(struct api_front *f);

/* Creates the private listener evhttp will serve (before the jail: it needs socket/bind). */
int api_front_prepare(struct api_front *f);

/* Hands the private listener to http and starts accepting on listen_fd (owned from now on). */
int api_front_start(struct api_front *f, struct event_base *base, struct evhttp *http,
                    int listen_fd);

/*
 * Moves the fds received so far on the client whose bytes evhttp reads from http_fd into fds
 * (at most max; the caller owns them). Returns their count, or -E2BIG when the client sent
 * more than API_FRONT_MAX_FDS or a truncated set (every one of them closed), or -ENOENT.
 */
int api_front_take_fds(struct api_front *f, int http_fd, int *fds, size_t max);

void api_front_close(struct api_front *f);

#endif
