#ifndef CELLVM_PROTO_VALIDATE_DEVICE_H
#define CELLVM_PROTO_VALIDATE_DEVICE_H

#include <stddef.h>

#include "control.pb-c.h"

#define PB_MAX_SPEC_LEN   4096 /* one device spec in Cloud Hypervisor key syntax */
#define PB_MAX_OPTION_LEN 32
#define PB_MAX_PATH_LEN   4095
#define PB_MAX_DEVICE_FDS 8
#define PB_MAX_QUEUES     256

/* Validators for the device-process messages; same contract as proto/validate.h. */
int pb_validate_device_configure(const Cellvm__DeviceConfigure *m, size_t nfds, const char **why);
int pb_validate_device_stats(const Cellvm__DeviceStats *m, const char **why);
int pb_validate_resize(const Cellvm__Resize *m, const char **why);
int pb_validate_open_backing_file(const Cellvm__OpenBackingFile *m, const char **why);
int pb_validate_backing_file(const Cellvm__BackingFile *m, size_t nfds, const char **why);
int pb_validate_device_event(const Cellvm__DeviceEvent *m, const char **why);
int pb_validate_vsock_connect(const Cellvm__VsockConnect *m, const char **why);
/* errnum 0 with exactly one fd, or an errno in 1..4095 with none. */
int pb_validate_vsock_connect_result(const Cellvm__VsockConnectResult *m, size_t nfds,
                                     const char **why);

/* 4 KiB multiples below 2^44 (the balloon config counts 4 KiB pages in 32 bits). */
int pb_validate_balloon_target(const Cellvm__BalloonTarget *m, const char **why);
int pb_validate_balloon_actual(const Cellvm__BalloonActual *m, const char **why);

/* Dispatches a device-process envelope body; -ENOENT if the body is not one of them. */
int pb_validate_device_envelope(const Cellvm__Envelope *m, size_t nfds, const char **why);

#endif
