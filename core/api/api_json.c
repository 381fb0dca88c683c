#include "core/api/api_json.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate_api.h"

/* Keys of the v51.0 schema whose feature cellvm does not have yet, by schema object. */
struct unsupported_key {
    const char *schema; /* protobuf short name of the object holding the key */
    const char *key;
    const char *feature;
};

static const struct unsupported_key unsupported[] = {
    { "ApiVmConfig", "debug_console", "the debug console" },
    { "ApiVmConfig", "vdpa", "vDPA devices" },
    { "ApiVmConfig", "pci_segments", "multiple PCI segments" },
    { "ApiVmConfig", "tpm", "TPM" },
    { "ApiDiskConfig", "queue_affinity", "virtqueue affinity" },
};

/* Error context: the schema path of the value being converted. */
struct walk {
    char *err;
    size_t errlen;
    char path[192];
};

__attribute__((format(printf, 2, 3))) static int fail(struct walk *w, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(w->err, w->errlen, "%s: %s", w->path, msg);
    return -EINVAL;
}

/* The schema's name of a message: its protobuf name without the "Api" prefix. */
static const char *schema_name(const ProtobufCMessageDescriptor *d)
{
    return strncmp(d->short_name, "Api", 3) ? d->short_name : d->short_name + 3;
}

/* A key echoed in an error: printable, bounded. */
static void show_key(const char *k, char *out, size_t outlen)
{
    size_t o = 0;

    for (; *k && o + 4 < outlen && o < 48; k++)
        out[o++] = (*k >= 0x20 && *k <= 0x7e) ? *k : '?';
    if (*k)
        out[o++] = '.', out[o++] = '.', out[o++] = '.';
    out[o] = '\0';
}

static bool is_default_value(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:
        return true;
    case json_type_boolean:
        return !json_object_get_boolean(v);
    case json_type_array:
        return json_object_array_length(v) == 0;
    case json_type_object:
        return json_object_object_length(v) == 0;
    default:
        return false;
    }
}

static const struct unsupported_key *find_unsupported(const ProtobufCMessageDescriptor *d,
                                                      const char *key)
{
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (!strcmp(unsupported[i].schema, d->short_name) && !strcmp(unsupported[i].key, key))
            return &unsupported[i];
    return NULL;
}

static int parse_message(struct walk *w, json_object *obj, const ProtobufCMessageDescriptor *d,
                         ProtobufCMessage **out);

static int get_uint(struct walk *w, json_object *v, uint64_t max, uint64_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return fail(w, "expected an integer");
    if (json_object_get_int64(v) < 0)
        return fail(w, "must not be negative");
    *out = json_object_get_uint64(v);
    if (*out > max)
        return fail(w, "%" PRIu64 " is out of range", *out);
    return 0;
}

static int get_string(struct walk *w, json_object *v, const char *field, char **out)
{
    size_t max = strcmp(field, "cmdline") ? PB_API_MAX_STRING : PB_API_MAX_CMDLINE;
    const char *s;
    size_t n;

    if (!json_object_is_type(v, json_type_string))
        return fail(w, "expected a string");
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (n > max)
        return fail(w, "longer than %zu bytes", max);
    /* A NUL inside would cut the value short downstream; other control bytes reach logs. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && !(max == PB_API_MAX_CMDLINE && s[i] == '\t'))
            return fail(w, "contains a control character");
        else if ((unsigned char)s[i] > 0x7e)
            return fail(w, "contains a non-ASCII character");
    *out = strdup(s);
    return *out ? 0 : -ENOMEM;
}

/* One scalar or message value into the slot at `slot` (an element of a repeated field, or
 * the field itself). */
static int parse_value(struct walk *w, json_object *v, const ProtobufCFieldDescriptor *f,
                       void *slot)
{
    uint64_t u;
    int r;

    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_object_is_type(v, json_type_boolean))
            return fail(w, "expected true or false");
        *(protobuf_c_boolean *)slot = json_object_get_boolean(v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
        r = get_uint(w, v, UINT32_MAX, &u);
        if (!r)
            *(uint32_t *)slot = (uint32_t)u;
        return r;
    case PROTOBUF_C_TYPE_UINT64:
        r = get_uint(w, v, UINT64_MAX, &u);
        if (!r)
            *(uint64_t *)slot = u;
        return r;
    case PROTOBUF_C_TYPE_STRING:
        return get_string(w, v, f->name, (char **)slot);
    case PROTOBUF_C_TYPE_MESSAGE:
        return parse_message(w, v, f->descriptor, (ProtobufCMessage **)slot);
    default:
        return fail(w, "not settable through the API");
    }
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_UINT32:
        return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_UINT64:
        return sizeof(uint64_t);
    default:
        return sizeof(void *);
    }
}

static int parse_field(struct walk *w, json_object *v, const ProtobufCFieldDescriptor *f,
                       ProtobufCMessage *m)
{
    char *base = (char *)m;
    size_t n, max;
    char *arr;
    int r;

    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
        r = parse_value(w, v, f, base + f->offset);
        if (!r && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
            f->type != PROTOBUF_C_TYPE_MESSAGE)
            *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
        return r;
    }
    if (!json_object_is_type(v, json_type_array))
        return fail(w, "expected an array");
    n = json_object_array_length(v);
    max = f->type == PROTOBUF_C_TYPE_UINT32 ? PB_API_MAX_INTS : PB_API_MAX_REPEATED;
    if (n > max)
        return fail(w, "more than %zu entries", max);
    if (!n)
        return 0;
    arr = calloc(n, elem_size(f));
    if (!arr)
        return -ENOMEM;
    /* Owned by the message from here: free_unpacked releases the elements set so far. */
    *(void **)(base + f->offset) = arr;
    for (size_t i = 0; i < n; i++) {
        size_t plen = strlen(w->path);

        snprintf(w->path + plen, sizeof(w->path) - plen, "[%zu]", i);
        r = parse_value(w, json_object_array_get_idx(v, i), f, arr + i * elem_size(f));
        w->path[plen] = '\0';
        /* A message refused halfway is already in its slot: count it, or nothing frees it. */
        if (!r || (f->type == PROTOBUF_C_TYPE_MESSAGE && *(void **)(arr + i * elem_size(f))))
            *(size_t *)(base + f->quantifier_offset) = i + 1;
        if (r)
            return r;
    }
    return 0;
}

static int parse_message(struct walk *w, json_object *obj, const ProtobufCMessageDescriptor *d,
                         ProtobufCMessage **out)
{
    ProtobufCMessage *m;
    int r = 0;

    if (!json_object_is_type(obj, json_type_object))
        return fail(w, "expected an object (%s)", schema_name(d));
    m = calloc(1, d->sizeof_message);
    if (!m)
        return -ENOMEM;
    protobuf_c_message_init(d, m);
    *out = m;
    json_object_object_foreach(obj, key, val)
    {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        const struct unsupported_key *u;
        size_t plen = strlen(w->path);
        char shown[64];

        show_key(key, shown, sizeof(shown));
        snprintf(w->path + plen, sizeof(w->path) - plen, ".%s", shown);
        if (!f && (u = find_unsupported(d, key)) && !is_default_value(val))
            r = fail(w, "%s is not supported by cellvm yet", u->feature);
        else if (!f && !find_unsupported(d, key))
            r = fail(w, "unknown field");
        else if (f && !json_object_is_type(val, json_type_null))
            r = parse_field(w, val, f, m);
        w->path[plen] = '\0';
        if (r)
            return r;
    }
    return 0;
}

/* json-c's strict mode still takes single-quoted strings; JSON has none. */
static bool single_quote_outside_strings(const char *s, size_t len)
{
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        if (in_string && s[i] == '\\')
            i++;
        else if (s[i] == '"')
            in_string = !in_string;
        else if (!in_string && s[i] == '\'')
            return true;
    }
    return false;
}

int apij_parse(const char *body, size_t len, const ProtobufCMessageDescriptor *d,
               ProtobufCMessage **out, char *err, size_t errlen)
{
    struct walk w = { .err = err, .errlen = errlen };
    struct json_tokener *tok;
    json_object *obj;
    int r;

    *out = NULL;
    if (len > APIJ_MAX_BODY) {
        snprintf(err, errlen, "request body larger than %d bytes", APIJ_MAX_BODY);
        return -EINVAL;
    }
    tok = json_tokener_new_ex(APIJ_MAX_DEPTH);
    if (!tok)
        return -ENOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, body, (int)len);
    if (!obj || single_quote_outside_strings(body, len) ||
        json_tokener_get_error(tok) != json_tokener_success ||
        (size_t)json_tokener_get_parse_end(tok) != len) {
        enum json_tokener_error e = json_tokener_get_error(tok);

        snprintf(err, errlen, "malformed JSON: %s",
                 e == json_tokener_continue || e == json_tokener_success
                     ? "incomplete or trailing data"
                     : json_tokener_error_desc(e));
        json_object_put(obj);
        json_tokener_free(tok);
        return -EINVAL;
    }
    json_tokener_free(tok);
    snprintf(w.path, sizeof(w.path), "%s", schema_name(d));
    r = parse_message(&w, obj, d, out);
    json_object_put(obj);
    if (r) {
        if (r == -ENOMEM)
            snprintf(err, errlen, "out of memory");
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
    }
    return r;
}

static json_object *render_message(const ProtobufCMessage *m);

static json_object *render_value(const ProtobufCFieldDescriptor *f, const void *slot)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        return json_object_new_boolean(*(const protobuf_c_boolean *)slot);
    case PROTOBUF_C_TYPE_UINT32:
        return json_object_new_int64(*(const uint32_t *)slot);
    case PROTOBUF_C_TYPE_UINT64:
        return json_object_new_uint64(*(const uint64_t *)slot);
    case PROTOBUF_C_TYPE_STRING:
        return json_object_new_string(*(const char *const *)slot);
    case PROTOBUF_C_TYPE_MESSAGE:
        return render_message(*(const ProtobufCMessage *const *)slot);
    default:
        return NULL;
    }
}

static bool field_present(const ProtobufCFieldDescriptor *f, const char *base)
{
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
        return *(const void *const *)(base + f->offset) != NULL;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
    return true;
}

static json_object *render_message(const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    json_object *obj = json_object_new_object();

    for (unsigned i = 0; obj && i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        json_object *v;

        if (f->type == PROTOBUF_C_TYPE_ENUM)
            continue; /* enums are rendered by name by the endpoint's own renderer */
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *arr = *(const char *const *)(base + f->offset);

            if (!n)
                continue;
            v = json_object_new_array_ext((int)n);
            for (size_t j = 0; v && j < n; j++)
                json_object_array_add(v, render_value(f, arr + j * elem_size(f)));
        } else {
            if (!field_present(f, base))
                continue;
            v = render_value(f, base + f->offset);
        }
        json_object_object_add(obj, f->name, v);
    }
    return obj;
}

static char *to_string(json_object *obj)
{
    char *s = NULL;

    if (obj)
        s = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
    return s;
}

char *apij_render(const ProtobufCMessage *m)
{
    return to_string(render_message(m));
}

const char *apij_state_name(Cellvm__ApiVmState s)
{
    switch (s) {
    case CELLVM__API_VM_STATE__API_VM_STATE_CREATED:
        return "Created";
    case CELLVM__API_VM_STATE__API_VM_STATE_RUNNING:
        return "Running";
    case CELLVM__API_VM_STATE__API_VM_STATE_SHUTDOWN:
        return "Shutdown";
    case CELLVM__API_VM_STATE__API_VM_STATE_PAUSED:
        return "Paused";
    default:
        return NULL;
    }
}

char *apij_render_ping(const Cellvm__ApiPing *p)
{
    return apij_render(&p->base);
}

char *apij_render_info(const Cellvm__ApiVmInfo *info)
{
    json_object *obj = render_message(&info->base);
    const char *state = info->has_state ? apij_state_name(info->state) : NULL;

    if (obj && state)
        json_object_object_add(obj, "state", json_object_new_string(state));
    return to_string(obj);
}

char *apij_render_counters(const Cellvm__ApiCounters *c)
{
    json_object *obj = json_object_new_object();

    for (size_t i = 0; obj && i < c->n_devices; i++) {
        const Cellvm__ApiDeviceCounters *dev = c->devices[i];
        json_object *d = json_object_new_object();

        for (size_t j = 0; d && j < dev->n_counters; j++)
            json_object_object_add(d, dev->counters[j]->name ? dev->counters[j]->name : "",
                                   json_object_new_uint64(dev->counters[j]->value));
        json_object_object_add(obj, dev->id ? dev->id : "", d);
    }
    return to_string(obj);
}

char *apij_render_pci_device(const Cellvm__ApiPciDeviceInfo *p)
{
    json_object *obj = json_object_new_object();

    if (obj) {
        json_object_object_add(obj, "id", json_object_new_string(p->id ? p->id : ""));
        json_object_object_add(obj, "bdf", json_object_new_string(p->bdf ? p->bdf : ""));
    }
    return to_string(obj);
}
