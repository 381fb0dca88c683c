#include "core/vm/vm_state.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * state.json both ways through one walk: each struct has one function that names its keys, and
 * the codec either writes the values (enc) or reads them back, checked (dec). Round trips cannot
 * drift apart. Numbers are JSON integers; KVM's own structures (registers, XSAVE, LAPIC,
 * irqchip) and byte arrays are lowercase hex strings of their exact size.
 */

#define PATH_LEN 160

struct codec {
    bool enc;
    int r; /* first error, 0 while none */
    char *err;
    size_t errlen;
    char path[PATH_LEN]; /* where the walk is: "vcpus[1].lapic" */
};

static void fail(struct codec *c, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct codec *c, int r, const char *fmt, ...)
{
    char what[160];
    va_list ap;

    if (c->r)
        return;
    c->r = r;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "state.json: %s%s%s", c->path, c->path[0] ? ": " : "", what);
}

/* Appends ".key" or "[i]" to the path; returns the length to go back to. */
static size_t push(struct codec *c, const char *key, long idx)
{
    size_t n = strlen(c->path);

    if (key)
        snprintf(c->path + n, sizeof(c->path) - n, "%s%s", n ? "." : "", key);
    else
        snprintf(c->path + n, sizeof(c->path) - n, "[%ld]", idx);
    return n;
}

/* Appends "key[i]" (with a dot when not first); returns the length to go back to. */
static size_t enter(struct codec *c, const char *key, uint32_t i)
{
    size_t n = strlen(c->path);

    snprintf(c->path + n, sizeof(c->path) - n, "%s%s[%u]", n ? "." : "", key, i);
    return n;
}

static void pop(struct codec *c, size_t n)
{
    c->path[n] = '\0';
}

static void u64(struct codec *c, json_object *o, const char *key, uint64_t *v, uint64_t max)
{
    json_object *x;
    size_t at;

    if (c->r || !o)
        return;
    if (c->enc) {
        x = json_object_new_uint64(*v);
        if (!x || json_object_object_add(o, key, x))
            fail(c, -ENOMEM, "out of memory");
        return;
    }
    at = push(c, key, 0);
    if (!json_object_object_get_ex(o, key, &x))
        fail(c, -EINVAL, "missing");
    else if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0)
        fail(c, -EINVAL, "expected an integer from 0");
    else if ((*v = json_object_get_uint64(x)) > max)
        fail(c, -EINVAL, "%llu is above %llu", (unsigned long long)*v, (unsigned long long)max);
    pop(c, at);
}

#define NUM(c, o, key, field, max)           \
    do {                                     \
        uint64_t v_ = (uint64_t)(field);     \
        u64((c), (o), (key), &v_, (max));    \
        if (!(c)->enc && !(c)->r)            \
            (field) = (__typeof__(field))v_; \
    } while (0)
#define U8(c, o, key, field)   NUM(c, o, key, field, UINT8_MAX)
#define U16(c, o, key, field)  NUM(c, o, key, field, UINT16_MAX)
#define U32(c, o, key, field)  NUM(c, o, key, field, UINT32_MAX)
#define U64(c, o, key, field)  NUM(c, o, key, field, UINT64_MAX)
#define BOOL(c, o, key, field) NUM(c, o, key, field, 1)

static int nibble(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* A byte array of exactly len bytes, as 2 * len hex digits. */
static void hex(struct codec *c, json_object *o, const char *key, void *buf, size_t len)
{
    uint8_t *b = buf;
    json_object *x;
    const char *s;
    size_t at;

    if (c->r || !o)
        return;
    if (c->enc) {
        static const char digits[] = "0123456789abcdef";
        char *t = malloc(2 * len + 1);

        if (!t) {
            fail(c, -ENOMEM, "out of memory");
            return;
        }
        for (size_t i = 0; i < len; i++) {
            t[2 * i] = digits[b[i] >> 4];
            t[2 * i + 1] = digits[b[i] & 15];
        }
        t[2 * len] = '\0';
        x = json_object_new_string_len(t, (int)(2 * len));
        free(t);
        if (!x || json_object_object_add(o, key, x))
            fail(c, -ENOMEM, "out of memory");
        return;
    }
    at = push(c, key, 0);
    if (!json_object_object_get_ex(o, key, &x)) {
        fail(c, -EINVAL, "missing");
    } else if (!json_object_is_type(x, json_type_string) ||
               (size_t)json_object_get_string_len(x) != 2 * len) {
        fail(c, -EINVAL, "expected %zu hex digits", 2 * len);
    } else {
        s = json_object_get_string(x);
        for (size_t i = 0; i < len && !c->r; i++) {
            int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);

            if (hi < 0 || lo < 0)
                fail(c, -EINVAL, "not lowercase hex");
            else
                b[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    pop(c, at);
}

/* A printable id of at most VMS_ID_LEN bytes. */
static void id(struct codec *c, json_object *o, const char *key, char *buf)
{
    json_object *x;
    size_t at, n;

    if (c->r || !o)
        return;
    if (c->enc) {
        x = json_object_new_string(buf);
        if (!x || json_object_object_add(o, key, x))
            fail(c, -ENOMEM, "out of memory");
        return;
    }
    at = push(c, key, 0);
    if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_string)) {
        fail(c, -EINVAL, "expected a string");
    } else {
        n = (size_t)json_object_get_string_len(x);
        if (!n || n > VMS_ID_LEN) {
            fail(c, -EINVAL, "expected 1 to %d bytes", VMS_ID_LEN);
        } else {
            memcpy(buf, json_object_get_string(x), n);
            buf[n] = '\0';
            for (size_t i = 0; i < n; i++)
                if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] > 0x7e)
                    fail(c, -EINVAL, "not printable");
        }
    }
    pop(c, at);
}

/* The object under key: made (enc) or found (dec). NULL after an error. */
static json_object *obj(struct codec *c, json_object *o, const char *key)
{
    json_object *x = NULL;

    if (c->r || !o)
        return NULL;
    if (c->enc) {
        x = json_object_new_object();
        if (!x || json_object_object_add(o, key, x)) {
            fail(c, -ENOMEM, "out of memory");
            return NULL;
        }
        return x;
    }
    if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_object)) {
        size_t at = push(c, key, 0);

        fail(c, -EINVAL, "expected an object");
        pop(c, at);
        return NULL;
    }
    return x;
}

/* The array under key with *n entries (enc), or its length read into *n, at most max (dec). */
static json_object *arr(struct codec *c, json_object *o, const char *key, uint32_t *n, uint32_t max)
{
    json_object *x = NULL;
    size_t at;

    if (c->r || !o)
        return NULL;
    if (c->enc) {
        x = json_object_new_array_ext((int)*n);
        if (!x || json_object_object_add(o, key, x)) {
            fail(c, -ENOMEM, "out of memory");
            return NULL;
        }
        return x;
    }
    at = push(c, key, 0);
    if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_array))
        fail(c, -EINVAL, "expected an array");
    else if (json_object_array_length(x) > max)
        fail(c, -EINVAL, "more than %u entries", max);
    else
        *n = (uint32_t)json_object_array_length(x);
    pop(c, at);
    return c->r ? NULL : x;
}

/* Entry i of an array: a new object appended (enc) or the object there (dec). */
static json_object *item(struct codec *c, json_object *a, uint32_t i)
{
    json_object *x;

    if (c->r || !a)
        return NULL;
    if (c->enc) {
        x = json_object_new_object();
        if (!x || json_object_array_add(a, x)) {
            json_object_put(x);
            fail(c, -ENOMEM, "out of memory");
            return NULL;
        }
        return x;
    }
    x = json_object_array_get_idx(a, i);
    if (!x || !json_object_is_type(x, json_type_object)) {
        fail(c, -EINVAL, "expected an object");
        return NULL;
    }
    return x;
}

/* An array of exactly n integers (each at most max). */
static void u64s(struct codec *c, json_object *o, const char *key, uint64_t *v, uint32_t n,
                 uint64_t max)
{
    json_object *a;
    uint32_t got = n;
    size_t at;

    a = arr(c, o, key, &got, n);
    if (!a)
        return;
    at = push(c, key, 0);
    if (!c->enc && got != n)
        fail(c, -EINVAL, "expected %u entries", n);
    for (uint32_t i = 0; i < n && !c->r; i++) {
        json_object *x;

        if (c->enc) {
            x = json_object_new_uint64(v[i]);
            if (!x || json_object_array_add(a, x)) {
                json_object_put(x);
                fail(c, -ENOMEM, "out of memory");
            }
            continue;
        }
        x = json_object_array_get_idx(a, i);
        if (!json_object_is_type(x, json_type_int) || json_object_get_int64(x) < 0 ||
            json_object_get_uint64(x) > max)
            fail(c, -EINVAL, "entry %u: expected an integer from 0 to %llu", i,
                 (unsigned long long)max);
        else
            v[i] = json_object_get_uint64(x);
    }
    pop(c, at);
}

/* Whether [gpa, gpa + size) is one of the memory ranges. */
static bool is_range(const struct vm_state *s, uint64_t gpa, uint64_t size)
{
    for (uint32_t i = 0; i < s->nranges; i++)
        if (s->ranges[i].gpa == gpa && s->ranges[i].size == size)
            return true;
    return false;
}

/* The ACPI memory hotplug slots: the enabled ones first, each one of the memory ranges; an
 * empty slot is all zero; ejects only of slots that exist. */
static void walk_memhp(struct codec *c, json_object *root, struct vm_state *s)
{
    struct vms_memhp *h = &s->memhp;
    json_object *o = obj(c, root, "memory_hotplug"), *a;
    uint32_t n = h->nslots;
    size_t top = push(c, "memory_hotplug", 0);

    U32(c, o, "select", h->sel);
    U64(c, o, "ejected", h->ejected);
    a = arr(c, o, "slots", &n, VMS_MAX_MEMHP_SLOTS);
    if (!c->enc)
        h->nslots = n;
    if (!c->enc && !c->r && n < 64 && h->ejected >> n)
        fail(c, -EINVAL, "ejected: slots past the %u there are", n);
    for (uint32_t i = 0; a && i < h->nslots && !c->r; i++) {
        struct vms_memhp_slot *sl = &h->slot[i];
        size_t at = enter(c, "slots", i);
        json_object *x = item(c, a, i);

        U64(c, x, "base", sl->base);
        U64(c, x, "size", sl->size);
        BOOL(c, x, "enabled", sl->enabled);
        BOOL(c, x, "inserting", sl->inserting);
        BOOL(c, x, "removing", sl->removing);
        if (c->enc || c->r)
            ;
        else if (sl->enabled && (i && !h->slot[i - 1].enabled))
            fail(c, -EINVAL, "enabled after an empty slot");
        else if (sl->enabled && !is_range(s, sl->base, sl->size))
            fail(c, -EINVAL, "0x%llx+0x%llx is not one of memory_ranges",
                 (unsigned long long)sl->base, (unsigned long long)sl->size);
        else if (!sl->enabled && (sl->base || sl->size || sl->inserting || sl->removing))
            fail(c, -EINVAL, "an empty slot with a region or pending flags");
        pop(c, at);
    }
    pop(c, top);
}

/* The virtio-mem devices: each region one of the memory ranges, aligned, its sizes whole
 * blocks within it, and a bitmap of exactly its blocks whose set bits add up to plugged_size. */
static void walk_vmem(struct codec *c, json_object *root, struct vm_state *s)
{
    uint32_t n = s->nvmem;
    json_object *a = arr(c, root, "virtio_mem", &n, VMS_MAX_VMEM);

    if (!c->enc)
        s->nvmem = n;
    for (uint32_t i = 0; a && i < s->nvmem && !c->r; i++) {
        struct vms_vmem *v = &s->vmem[i];
        size_t at = enter(c, "virtio_mem", i);
        json_object *o = item(c, a, i);
        uint64_t words, bits = 0, nblocks;

        U64(c, o, "addr", v->addr);
        NUM(c, o, "region_size", v->region_size, VMS_VMEM_MAX_REGION);
        U64(c, o, "usable_region_size", v->usable_size);
        U64(c, o, "plugged_size", v->plugged_size);
        U64(c, o, "requested_size", v->requested_size);
        if (!c->enc && !c->r &&
            (!v->region_size || (v->addr | v->region_size) % VMS_VMEM_ALIGN ||
             !is_range(s, v->addr, v->region_size) || v->usable_size > v->region_size ||
             v->requested_size > v->region_size || v->plugged_size > v->usable_size ||
             (v->usable_size | v->requested_size | v->plugged_size) % VMS_VMEM_BLOCK))
            fail(c, -EINVAL, "region not one of memory_ranges, or sizes not whole blocks in it");
        if (c->r) {
            pop(c, at);
            break;
        }
        words = vms_vmem_words(v->region_size);
        nblocks = v->region_size / VMS_VMEM_BLOCK;
        if (!c->enc) {
            v->plugged = calloc(words, sizeof(uint64_t));
            if (!v->plugged)
                fail(c, -ENOMEM, "out of memory");
        }
        hex(c, o, "plugged", v->plugged, words * sizeof(uint64_t));
        for (uint64_t w = 0; !c->enc && !c->r && w < words; w++) {
            uint64_t keep = w + 1 < words || !(nblocks % 64) ? ~0ull : (1ull << nblocks % 64) - 1;

            if (v->plugged[w] & ~keep)
                fail(c, -EINVAL, "plugged: bits past the region's %llu blocks",
                     (unsigned long long)nblocks);
            bits += (uint64_t)__builtin_popcountll(v->plugged[w]);
        }
        if (!c->enc && !c->r && bits * VMS_VMEM_BLOCK != v->plugged_size)
            fail(c, -EINVAL, "%llu blocks plugged, plugged_size says %llu",
                 (unsigned long long)bits, (unsigned long long)(v->plugged_size / VMS_VMEM_BLOCK));
        pop(c, at);
    }
}

static void walk_vcpu(struct codec *c, json_object *o, struct vms_vcpu *v)
{
    json_object *a;
    uint32_t n = v->nmsrs;

    hex(c, o, "regs", &v->regs, sizeof(v->regs));
    hex(c, o, "sregs", &v->sregs, sizeof(v->sregs));
    hex(c, o, "xsave", &v->xsave, sizeof(v->xsave));
    hex(c, o, "xcrs", &v->xcrs, sizeof(v->xcrs));
    hex(c, o, "lapic", &v->lapic, sizeof(v->lapic));
    hex(c, o, "events", &v->events, sizeof(v->events));
    hex(c, o, "debugregs", &v->debugregs, sizeof(v->debugregs));
    NUM(c, o, "mp_state", v->mp_state, KVM_MP_STATE_AP_RESET_HOLD);
    a = arr(c, o, "msrs", &n, VMS_MAX_MSRS);
    if (!c->enc)
        v->nmsrs = n;
    for (uint32_t i = 0; a && i < v->nmsrs && !c->r; i++) {
        size_t at = enter(c, "msrs", i);
        json_object *m = item(c, a, i);

        U32(c, m, "index", v->msrs[i].index);
        U64(c, m, "data", v->msrs[i].data);
        pop(c, at);
    }
}

static void walk_platform(struct codec *c, json_object *o, struct vms_platform *p)
{
    json_object *s = obj(c, o, "serial"), *cs;
    uint64_t w[VMS_MAX_SEGMENTS];

    BOOL(c, s, "present", p->serial_present);
    U8(c, s, "ier", p->serial.ier);
    U8(c, s, "lcr", p->serial.lcr);
    U8(c, s, "mcr", p->serial.mcr);
    U8(c, s, "fcr", p->serial.fcr);
    U8(c, s, "scr", p->serial.scr);
    U8(c, s, "dll", p->serial.dll);
    U8(c, s, "dlm", p->serial.dlm);
    U8(c, s, "lsr_err", p->serial.lsr_err);
    U8(c, s, "msr_delta", p->serial.msr_delta);
    BOOL(c, s, "thr_ipending", p->serial.thr_ipending);
    hex(c, s, "rx", p->serial.rx, sizeof(p->serial.rx));
    NUM(c, s, "rx_head", p->serial.rx_head, VMS_SERIAL_FIFO - 1);
    NUM(c, s, "rx_count", p->serial.rx_count, VMS_SERIAL_FIFO);
    s = obj(c, o, "rtc");
    NUM(c, s, "index", p->rtc_index, VMS_NVRAM - 1);
    hex(c, s, "nvram", p->rtc_nvram, sizeof(p->rtc_nvram));
    U32(c, o, "ged_pending", p->ged_pending);
    s = obj(c, o, "pci");
    NUM(c, s, "segments", p->nseg, VMS_MAX_SEGMENTS);
    U32(c, s, "hotplug_select", p->pci_hp_sel);
    U32(c, s, "cf8", p->cf8);
    if (!c->r && (!p->nseg || p->pci_hp_sel >= p->nseg))
        fail(c, -EINVAL, "pci: %u segments, hotplug select %u", p->nseg, p->pci_hp_sel);
    for (int k = 0; k < 3 && !c->r; k++) {
        uint32_t *v = k == 0 ? p->pci_up : k == 1 ? p->pci_down : p->pci_removing;

        for (uint32_t i = 0; i < p->nseg; i++)
            w[i] = v[i];
        u64s(c, s, k == 0 ? "up" : k == 1 ? "down" : "removing", w, p->nseg, UINT32_MAX);
        for (uint32_t i = 0; i < p->nseg && !c->enc && !c->r; i++)
            v[i] = (uint32_t)w[i];
    }
    {
        uint32_t n = p->nseg;
        json_object *a = arr(c, s, "host_bridges", &n, VMS_MAX_SEGMENTS);

        if (!c->enc && !c->r && n != p->nseg)
            fail(c, -EINVAL, "pci.host_bridges: expected %u entries", p->nseg);
        for (uint32_t i = 0; a && i < p->nseg && !c->r; i++) {
            size_t at = enter(c, "host_bridges", i);

            hex(c, item(c, a, i), "config", p->host_cfg[i], VMS_CFG_SIZE);
            pop(c, at);
        }
    }
    cs = obj(c, o, "cpu_hotplug");
    U32(c, cs, "select", p->cpu_hp_sel);
    u64s(c, cs, "enabled", p->cpu_enabled, VMS_CPU_WORDS, UINT64_MAX);
    u64s(c, cs, "inserting", p->cpu_inserting, VMS_CPU_WORDS, UINT64_MAX);
    u64s(c, cs, "removing", p->cpu_removing, VMS_CPU_WORDS, UINT64_MAX);
}

static void walk_queue(struct codec *c, json_object *o, struct vms_queue *q)
{
    U16(c, o, "size", q->size);
    U16(c, o, "vector", q->vector);
    BOOL(c, o, "enabled", q->enabled);
    U64(c, o, "desc", q->desc);
    U64(c, o, "avail", q->avail);
    U64(c, o, "used", q->used);
    BOOL(c, o, "running", q->running);
    U16(c, o, "avail_idx", q->avail_idx);
}

static const char *const dstate_names[] = { "none", "backend", "frontend-only" };

/* The backend's own state: its kind by name, and for "backend" the blob, length-checked. */
static void walk_dstate(struct codec *c, json_object *o, struct vms_device *d)
{
    char kind[VMS_ID_LEN + 1] = "";
    size_t at;

    if (c->enc)
        snprintf(kind, sizeof(kind), "%s", d->dstate_kind < 3 ? dstate_names[d->dstate_kind] : "?");
    id(c, o, "device_state", kind);
    if (!c->enc && !c->r) {
        d->dstate_kind = 3;
        for (uint8_t k = 0; k < 3; k++)
            if (!strcmp(kind, dstate_names[k]))
                d->dstate_kind = k;
        if (d->dstate_kind == 3) {
            at = push(c, "device_state", 0);
            fail(c, -EINVAL, "expected none, backend or frontend-only");
            pop(c, at);
        }
    }
    NUM(c, o, "device_state_len", d->dstate_len, VMS_MAX_DSTATE);
    if (c->r)
        return;
    if (d->dstate_kind != VMS_DSTATE_BACKEND && d->dstate_len) {
        at = push(c, "device_state_len", 0);
        fail(c, -EINVAL, "non-zero without a backend state");
        pop(c, at);
        return;
    }
    if (d->dstate_kind != VMS_DSTATE_BACKEND)
        return;
    if (!c->enc) {
        d->dstate = malloc(d->dstate_len ? d->dstate_len : 1);
        if (!d->dstate) {
            fail(c, -ENOMEM, "out of memory");
            return;
        }
    }
    hex(c, o, "device_state_data", d->dstate, d->dstate_len);
}

static void walk_device(struct codec *c, json_object *o, struct vms_device *d)
{
    json_object *a;
    uint32_t n = d->nqueues;

    id(c, o, "id", d->id);
    U16(c, o, "virtio_id", d->virtio_id);
    NUM(c, o, "pci_segment", d->seg, VMS_MAX_SEGMENTS - 1);
    NUM(c, o, "slot", d->slot, 31);
    hex(c, o, "pci_config", d->cfg, sizeof(d->cfg));
    NUM(c, o, "msix_vectors", d->nvec, VMS_MAX_VECTORS);
    if (!c->r)
        hex(c, o, "msix_table", d->msix_table, (size_t)d->nvec * 16);
    u64s(c, o, "msix_pba", d->msix_pba, (VMS_MAX_VECTORS + 63) / 64, UINT64_MAX);
    U64(c, o, "driver_features", d->driver_features);
    U32(c, o, "device_feature_select", d->dfselect);
    U32(c, o, "driver_feature_select", d->gfselect);
    U8(c, o, "status", d->status);
    U8(c, o, "isr", d->isr);
    U8(c, o, "config_generation", d->generation);
    U16(c, o, "config_vector", d->config_vector);
    U16(c, o, "queue_select", d->queue_select);
    U16(c, o, "core_queue_avail", d->ctrl_avail);
    U16(c, o, "queue_pairs", d->pairs);
    NUM(c, o, "config_len", d->config_len, VMS_MAX_CONFIG);
    if (!c->r)
        hex(c, o, "config", d->config, d->config_len);
    a = arr(c, o, "queues", &n, VMS_MAX_QUEUES);
    if (!c->enc)
        d->nqueues = (uint16_t)n;
    for (uint32_t i = 0; a && i < d->nqueues && !c->r; i++) {
        size_t at = enter(c, "queues", i);

        walk_queue(c, item(c, a, i), &d->q[i]);
        pop(c, at);
    }
    walk_dstate(c, o, d);
}

/* The virtio-pmem regions: 2 MiB aligned, not empty, apart from each other, ids unique. */
static void walk_pmem(struct codec *c, json_object *root, struct vm_state *s)
{
    uint32_t n = s->npmem;
    json_object *a = arr(c, root, "pmem", &n, VMS_MAX_PMEM);

    if (!c->enc)
        s->npmem = n;
    for (uint32_t i = 0; a && i < s->npmem && !c->r; i++) {
        struct vms_pmem *p = &s->pmem[i];
        size_t at = enter(c, "pmem", i);
        json_object *o = item(c, a, i);

        id(c, o, "id", p->id);
        U64(c, o, "gpa", p->gpa);
        U64(c, o, "size", p->size);
        BOOL(c, o, "hot", p->hot);
        if (!c->enc && !c->r &&
            (!p->size || (p->gpa | p->size) % VMS_PMEM_ALIGN || p->gpa + p->size < p->gpa))
            fail(c, -EINVAL, "not 2 MiB aligned, empty, or past the address space");
        for (uint32_t k = 0; !c->enc && k < i && !c->r; k++)
            if (!strcmp(s->pmem[k].id, p->id) ||
                (p->gpa < s->pmem[k].gpa + s->pmem[k].size && s->pmem[k].gpa < p->gpa + p->size))
                fail(c, -EINVAL, "same id as, or overlapping, pmem[%u]", k);
        pop(c, at);
    }
}

static void walk_watchdog(struct codec *c, json_object *root, struct vms_watchdog *w)
{
    json_object *o = obj(c, root, "watchdog");
    size_t at = push(c, "watchdog", 0);

    BOOL(c, o, "present", w->present);
    BOOL(c, o, "armed", w->armed);
    NUM(c, o, "since_ping_ms", w->since_ping_ms, VMS_WDT_MAX_MS);
    NUM(c, o, "to_check_ms", w->to_check_ms, VMS_WDT_MAX_MS);
    if (!c->enc && !c->r && w->armed && !w->present)
        fail(c, -EINVAL, "armed without a watchdog");
    pop(c, at);
}

static void walk(struct codec *c, json_object *root, struct vm_state *s)
{
    json_object *a, *o;
    uint32_t n;

    NUM(c, root, "version", s->version, UINT32_MAX);
    if (!c->r && s->version != VMS_VERSION) {
        fail(c, -EINVAL, "version %u, this cellvm reads version %u", s->version, VMS_VERSION);
        return;
    }
    NUM(c, root, "max_vcpus", s->max_vcpus, VMS_MAX_VCPUS);
    n = s->nvcpus;
    a = arr(c, root, "vcpus", &n, VMS_MAX_VCPUS);
    if (!c->enc && !c->r) {
        if (!n || n > s->max_vcpus)
            fail(c, -EINVAL, "%u vCPUs of at most %u", n, s->max_vcpus);
        else if (vm_state_alloc(s, n, 0))
            fail(c, -ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; a && i < s->nvcpus && !c->r; i++) {
        size_t at = enter(c, "vcpus", i);

        walk_vcpu(c, item(c, a, i), &s->vcpu[i]);
        pop(c, at);
    }
    o = obj(c, root, "irqchip");
    hex(c, o, "pic_master", &s->pic_master, sizeof(s->pic_master));
    hex(c, o, "pic_slave", &s->pic_slave, sizeof(s->pic_slave));
    hex(c, o, "ioapic", &s->ioapic, sizeof(s->ioapic));
    if (!c->enc && !c->r &&
        (s->pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER ||
         s->pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE || s->ioapic.chip_id != KVM_IRQCHIP_IOAPIC))
        fail(c, -EINVAL, "irqchip: chip ids do not match their keys");
    o = obj(c, root, "clock");
    U64(c, o, "clock", s->clock.clock);
    U32(c, o, "flags", s->clock.flags);
    n = s->nranges;
    a = arr(c, root, "memory_ranges", &n, VMS_MAX_RANGES);
    if (!c->enc)
        s->nranges = n;
    for (uint32_t i = 0; a && i < s->nranges && !c->r; i++) {
        size_t at = enter(c, "memory_ranges", i);

        o = item(c, a, i);
        U64(c, o, "gpa", s->ranges[i].gpa);
        U64(c, o, "size", s->ranges[i].size);
        if (!c->enc && !c->r &&
            (!s->ranges[i].size || (s->ranges[i].gpa | s->ranges[i].size) & 0xfff ||
             s->ranges[i].gpa + s->ranges[i].size < s->ranges[i].gpa ||
             (i && s->ranges[i].gpa < s->ranges[i - 1].gpa + s->ranges[i - 1].size)))
            fail(c, -EINVAL, "not page aligned, empty, or overlapping the one before");
        pop(c, at);
    }
    if (!c->enc && !c->r && !s->nranges)
        fail(c, -EINVAL, "memory_ranges: none");
    walk_memhp(c, root, s);
    walk_vmem(c, root, s);
    snprintf(c->path, sizeof(c->path), "platform");
    o = obj(c, root, "platform");
    walk_platform(c, o, &s->platform);
    c->path[0] = '\0';
    n = s->ndevices;
    a = arr(c, root, "devices", &n, VMS_MAX_DEVICES);
    if (!c->enc && !c->r) {
        s->dev = calloc(n ? n : 1, sizeof(*s->dev));
        if (!s->dev)
            fail(c, -ENOMEM, "out of memory");
        else
            s->ndevices = n;
    }
    for (uint32_t i = 0; a && i < s->ndevices && !c->r; i++) {
        size_t at = enter(c, "devices", i);

        walk_device(c, item(c, a, i), &s->dev[i]);
        pop(c, at);
    }
    walk_pmem(c, root, s);
    walk_watchdog(c, root, &s->watchdog);
}

void vm_state_json_init(void)
{
    json_object *o = json_object_new_object();

    if (o)
        (void)json_object_object_add(o, "seed", NULL); /* hashes a key: the seed is drawn */
    json_object_put(o);
}

char *vm_state_to_json(const struct vm_state *s)
{
    struct codec c = { .enc = true };
    json_object *root = json_object_new_object();
    char *out = NULL;

    if (!root)
        return NULL;
    walk(&c, root, (struct vm_state *)s);
    if (!c.r) {
        const char *t = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);

        out = t ? strdup(t) : NULL;
    }
    json_object_put(root);
    return out;
}

int vm_state_from_json(struct vm_state *s, const char *json, size_t len, char *err, size_t errlen)
{
    struct codec c = { .enc = false, .err = err, .errlen = errlen };
    struct json_tokener *tok;
    json_object *root;

    memset(s, 0, sizeof(*s));
    if (len > VMS_MAX_JSON) {
        snprintf(err, errlen, "state.json: larger than %u bytes", VMS_MAX_JSON);
        return -EINVAL;
    }
    tok = json_tokener_new_ex(8);
    if (!tok) {
        snprintf(err, errlen, "state.json: out of memory");
        return -ENOMEM;
    }
    root = json_tokener_parse_ex(tok, json, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len) {
        snprintf(err, errlen, "state.json: not one JSON document (%s at byte %zu)",
                 json_tokener_error_desc(json_tokener_get_error(tok)),
                 json_tokener_get_parse_end(tok));
        json_object_put(root);
        json_tokener_free(tok);
        return -EINVAL;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(root, json_type_object))
        fail(&c, -EINVAL, "expected an object");
    else
        walk(&c, root, s);
    json_object_put(root);
    return c.r;
}
