#ifndef CELLVM_SANDBOX_PROFILE_RULES_H
#define CELLVM_SANDBOX_PROFILE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <seccomp.h>

/*
 * One allowlist entry. A syscall may appear in several entries (one per allowed ioctl number,
 * say): libseccomp ORs them. All argument comparisons of one entry must hold (AND).
 */
struct sbx_rule {
    int nr;  /* SCMP_SYS(name) */
    int err; /* 0: allow; otherwise fail the call with this errno instead of killing */
    unsigned nargs;
    struct scmp_arg_cmp args[2];
    const char *why; /* the one-line reason; kept next to the rule, printed by nothing */
};

struct sbx_rule_table {
    const struct sbx_rule *rules;
    size_t n;
};

#define SBX_ARG(i, cmp, a, b)                                                               \
    {                                                                                       \
        .arg = (i), .op = (cmp), .datum_a = (scmp_datum_t)(a), .datum_b = (scmp_datum_t)(b) \
    }
#define SBX_ALLOW(name, reason)               \
    {                                         \
        .nr = SCMP_SYS(name), .why = (reason) \
    }
#define SBX_ALLOW1(name, c0, reason)                                      \
    {                                                                     \
        .nr = SCMP_SYS(name), .nargs = 1, .args = { c0 }, .why = (reason) \
    }
#define SBX_ALLOW2(name, c0, c1, reason)                                      \
    {                                                                         \
        .nr = SCMP_SYS(name), .nargs = 2, .args = { c0, c1 }, .why = (reason) \
    }
#define SBX_ERRNO(name, e, reason)                        \
    {                                                     \
        .nr = SCMP_SYS(name), .err = (e), .why = (reason) \
    }
/* An ioctl allowed by request number (arg 1), whatever the fd. */
#define SBX_IOCTL(req, reason) \
    SBX_ALLOW1(ioctl, SBX_ARG(1, SCMP_CMP_EQ, (uint32_t)(req), 0), reason)

/* What every jailed process needs: memory, threads, signals, time, fds it already holds. */
extern const struct sbx_rule_table sbx_rules_base;
/* The core process (cellvm-core) on top of the base. */
extern const struct sbx_rule_table sbx_rules_core;
/* A vCPU thread, alone (it is stacked on the core's filter, so it can only narrow). */
extern const struct sbx_rule_table sbx_rules_vcpu;
/* Every device process (blockd, netd, vsockd), on top of the base: the device-procs/ runtime's
 * libevent loop, vhost-user socket and inflight memfd. */
extern const struct sbx_rule_table sbx_rules_devproc;
/* blockd on top of base and devproc: io_uring, the vhost-user socket, guest memory, image I/O. */
extern const struct sbx_rule_table sbx_rules_blockd;
/* netd on top of base and devproc: the vhost-user socket, guest memory, TAP reads/writes/offloads. */
extern const struct sbx_rule_table sbx_rules_netd;

/* cellvm-api on top of the base: the API socket, evhttp, the relay sockets. */
extern const struct sbx_rule_table sbx_rules_api;

/* vsockd on top of base and devproc (whose accept4 also takes host programs on the hybrid
 * socket): the vhost-user socket, guest memory, unix streams to the host. */
extern const struct sbx_rule_table sbx_rules_vsockd;
/* vsockd's standalone connector, alone: it keeps the user's identity, so it may do nothing but
 * connect unix streams for the daemon. */
extern const struct sbx_rule_table sbx_rules_vsockconn;

/* cellvm-balloond on top of base and devproc: guest memory kept open and punched. */
extern const struct sbx_rule_table sbx_rules_balloond;

/* cellvm-vfiod on top of the base: its client socket, the VFIO device and IOMMU ioctls. */
extern const struct sbx_rule_table sbx_rules_vfiod;

/* cellvm-rngd and cellvm-consoled, alone (no base): the runtime's loop on one thread, guest
 * memory, the host fds handed in (entropy source; console output and input). */
extern const struct sbx_rule_table sbx_rules_loopd;

/* device-procs/devproc_jail.c's interim filter, alone: a device process without its own jail hook
 * (the runtime's test devices). Looser than any role's profile. */
extern const struct sbx_rule_table sbx_rules_interim;

#endif
