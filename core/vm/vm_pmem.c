/* The VM's virtio-pmem devices (issue 20): PCI functions the core serves itself. The file is
 * guest memory from boot (its own region and KVM slot above RAM, see core_layout.c), so the
 * guest reads and writes it directly; the one queue only carries FLUSH requests, answered with
 * fdatasync on the file. A discard_writes=on region is a private copy-on-write mapping only
 * the core has: device processes cannot map it (their table leaves it out), as Cloud
 * Hypervisor gives no device DMA access to pmem either. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/virtio_pci_local.h"
#include "core/vm/virtio_pci_vu.h"
#include "core/vm/virtio_pmem.h"
#include "core/vm/vm_priv.h"
#include "core/vm/vm_sys.h"
#include "core/vm/vring_req.h"

#define PMEM_QUEUE_SIZE 256 /* as Cloud Hypervisor */
#define PMEM_BUDGET     256 /* requests one kick answers before the other devices' turn */

struct vm_pmem {
    struct vpci_local local; /* the transport's view of it */
    uint8_t config[PMEM_CONFIG_SIZE];
    struct vm *vm;
    int fd; /* the file, borrowed */
    bool discard_writes;
    char id[VM_PMEM_ID_LEN];
};

static int flush(void *arg)
{
    struct vm_pmem *v = arg;
    int r;

    if (v->discard_writes) /* writes go to private pages: nothing of them is the file's */
        return 0;
    r = vm_sys_fdatasync(v->fd);
    if (r)
        log_warn(&v->vm->log, "%s: flush: %s", v->id, strerror(-r));
    return r;
}

static size_t answer(void *arg, const uint8_t *in, size_t len, uint8_t out[VRING_RESP_MAX])
{
    pmem_request(in, len, flush, arg, out);
    return PMEM_RESP_SIZE;
}

/* Frontend thread: the driver kicked the request queue. */
static void serve(void *arg, struct vpci_dev *d)
{
    vpci_local_serve(d, PMEM_BUDGET, answer, arg, NULL, "malformed virtio-pmem request queue");
}

int vm_pmem_init(struct vm *vm, const struct vm_params *p, struct vpci_params **all, size_t *n,
                 char *err, size_t errlen)
{
    struct vpci_params *list;

    if (!p->npmem)
        return 0;
    if (p->npmem > VM_MAX_PMEM)
        return vm_set_err(err, errlen, -EINVAL, "vm: %u virtio-pmem devices", p->npmem);
    list = realloc(*all, (*n + p->npmem + 1) * sizeof(*list));
    if (!list)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-pmem");
    *all = list;
    vm->pmem = calloc(p->npmem, sizeof(*vm->pmem));
    if (!vm->pmem)
        return vm_set_err(err, errlen, -ENOMEM, "vm: virtio-pmem");
    for (uint32_t i = 0; i < p->npmem; i++) {
        const struct vm_pmem_params *pp = &p->pmem[i];
        const struct guest_mem_region *g =
            pp->region < vm->mem.nregions ? &vm->mem.regions[pp->region] : NULL;
        struct vm_pmem *v = &vm->pmem[i];

        if (!g || !g->pmem)
            return vm_set_err(err, errlen, -EINVAL, "vm: virtio-pmem %u names no region", i);
        v->vm = vm;
        v->fd = g->fd;
        v->discard_writes = g->core_only;
        snprintf(v->id, sizeof(v->id), "%s", pp->id ? pp->id : "_pmem");
        pmem_config(g->gpa, g->size, v->config);
        v->local = (struct vpci_local){
            .config = v->config, .config_len = PMEM_CONFIG_SIZE, .serve = serve, .arg = v
        };
        list[(*n)++] = (struct vpci_params){ .id = v->id,
                                             .virtio_id = PMEM_VIRTIO_ID,
                                             .num_queues = 1,
                                             .queue_size = PMEM_QUEUE_SIZE,
                                             .sock = -1,
                                             .pci_segment = pp->pci_segment,
                                             .local = &v->local };
        vm->npmem++;
        log_info(&vm->log, "%s: %llu MiB at 0x%llx%s", v->id, (unsigned long long)(g->size >> 20),
                 (unsigned long long)g->gpa, v->discard_writes ? ", writes discarded" : "");
    }
    return 0;
}

void vm_pmem_destroy(struct vm *vm)
{
    free(vm->pmem);
    vm->pmem = NULL;
    vm->npmem = 0;
}
