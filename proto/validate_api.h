#ifndef CELLVM_PROTO_VALIDATE_API_H
#define CELLVM_PROTO_VALIDATE_API_H

#include <stddef.h>

#include "api.pb-c.h"
#include "control.pb-c.h"

#define PB_API_MAX_STRING   4095  /* paths, ids, modes: what open(2) and logs take */
#define PB_API_MAX_CMDLINE  65535 /* as PB_MAX_CMDLINE_LEN */
#define PB_API_MAX_REPEATED 256   /* devices, zones, NUMA nodes, counters in one message */
#define PB_API_MAX_INTS     8192  /* host CPUs in one affinity list */
#define PB_API_MAX_NET_FDS  8     /* TAP fds with one vm.add-net */

/* Validators for the API messages; same contract as proto/validate.h. */
int pb_validate_api_serve(const Cellvm__ApiServe *m, size_t nfds, const char **why);
int pb_validate_api_request(const Cellvm__ApiRequest *m, size_t nfds, const char **why);
int pb_validate_api_response(const Cellvm__ApiResponse *m, const char **why);
int pb_validate_vm_control(const Cellvm__VmControl *m, const char **why);
int pb_validate_vm_control_done(const Cellvm__VmControlDone *m, const char **why);

/*
 * Checks the shape every Api*Config message must have, whatever its type: strings printable
 * ASCII and bounded (tabs only in a command line), repeated fields bounded, sub-messages
 * present where repeated. Semantics (ranges, modes, cross-field rules) are the CLI parser's,
 * which the controller runs on the configuration. 0 or -EINVAL with *why naming the field.
 */
int pb_validate_api_shape(const ProtobufCMessage *m, const char **why);

/* Dispatches an API envelope body; -ENOENT if the body is not one of them. */
int pb_validate_api_envelope(const Cellvm__Envelope *m, size_t nfds, const char **why);

#endif
