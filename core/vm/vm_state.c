/* vm_state's memory and its RAM size (vm_state.h); the JSON codec is vm_state_json.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/vm/vm_state.h"

int vm_state_alloc(struct vm_state *s, uint32_t nvcpus, uint32_t ndevices)
{
    if (nvcpus > VMS_MAX_VCPUS || ndevices > VMS_MAX_DEVICES)
        return -EINVAL;
    free(s->vcpu);
    s->vcpu = calloc(nvcpus ? nvcpus : 1, sizeof(*s->vcpu));
    if (ndevices) {
        free(s->dev);
        s->dev = calloc(ndevices, sizeof(*s->dev));
    }
    if (!s->vcpu || (ndevices && !s->dev))
        return -ENOMEM;
    s->nvcpus = nvcpus;
    if (ndevices)
        s->ndevices = ndevices;
    return 0;
}

void vm_state_free(struct vm_state *s)
{
    for (uint32_t i = 0; s->dev && i < s->ndevices; i++)
        free(s->dev[i].dstate);
    for (uint32_t i = 0; i < VMS_MAX_VMEM; i++) {
        free(s->vmem[i].plugged);
        s->vmem[i].plugged = NULL;
    }
    s->nvmem = 0;
    free(s->vcpu);
    free(s->dev);
    s->vcpu = NULL;
    s->dev = NULL;
    s->nvcpus = 0;
    s->ndevices = 0;
}

uint64_t vm_state_ram_size(const struct vm_state *s)
{
    uint64_t t = 0;

    for (uint32_t i = 0; i < s->nranges && i < VMS_MAX_RANGES; i++)
        t += s->ranges[i].size;
    return t;
}

int vm_state_check_ram(const struct vm_state *s, uint64_t file_size, char *err, size_t errlen)
{
    uint64_t want = vm_state_ram_size(s);

    if (file_size == want)
        return 0;
    snprintf(err, errlen, "memory-ranges holds %llu bytes, state.json describes %llu (%s)",
             (unsigned long long)file_size, (unsigned long long)want,
             file_size < want ? "truncated" : "too long");
    return -EINVAL;
}
