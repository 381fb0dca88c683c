/* JSON <-> protobuf for Cloud Hypervisor's REST API. The Api* messages in proto/api.proto carry
 * the OpenAPI schemas' own field names, so one walk over the protobuf-c descriptors maps both
 * ways; what the schema has and cellvm does not implement is named in the error. */
#ifndef CELLVM_CORE_API_API_JSON_H
#define CELLVM_CORE_API_API_JSON_H

#include <stddef.h>

#include "api.pb-c.h"

#define APIJ_MAX_BODY  (256 * 1024) /* a 64 KiB command line, escaped, with room to spare */
#define APIJ_MAX_DEPTH 16
#define APIJ_ERR_LEN   256

/*
 * Parses a request body (exactly len bytes, one JSON object, nothing after it) into a new
 * message of type d. Keys outside the schema, wrong JSON types, negative or out-of-range
 * integers, strings with NUL or control bytes are refused with one printable line in err that
 * names the field ("VmConfig.cpus.boot_vcpus: expected an integer"). Keys the schema has but
 * cellvm does not implement are refused unless they carry the schema's default (null, false,
 * an empty array or object). Returns 0 and *out (free with protobuf_c_message_free_unpacked),
 * or -EINVAL / -ENOMEM.
 */
int apij_parse(const char *body, size_t len, const ProtobufCMessageDescriptor *d,
               ProtobufCMessage **out, char *err, size_t errlen);

/*
 * Renders a message as a JSON object with the schema's field names. Absent fields are left
 * out. The caller frees the string with free(). NULL on allocation failure.
 */
char *apij_render(const ProtobufCMessage *m);

/* The bodies of the endpoints that answer with one: VmmPingResponse, VmInfo (the state as
 * Cloud Hypervisor spells it), VmCounters ({"device": {"counter": n}}). */
char *apij_render_ping(const Cellvm__ApiPing *p);
char *apij_render_info(const Cellvm__ApiVmInfo *info);
char *apij_render_counters(const Cellvm__ApiCounters *c);

/* The 200 answer of an add endpoint: PciDeviceInfo, {"id":"...","bdf":"0000:00:05.0"} in that
 * order (absent members as empty strings: both are required by the schema). */
char *apij_render_pci_device(const Cellvm__ApiPciDeviceInfo *p);

/* "Created", "Running", "Shutdown", "Paused"; NULL for anything else. */
const char *apij_state_name(Cellvm__ApiVmState s);

#endif
