/* Device processes replaced under a running VM (issue 19, vm.h): a vhost-user backend's
 * successor, and a cellvm-vfiod's with the vCPUs stopped meanwhile. */
#include "core/vm/vm_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/pci_devices.h"

int vm_reconnect_device(struct vm *vm, const char *id, int sock,
                        void (*done)(void *arg, const char *id, int err), void *arg)
{
    return pci_devices_reconnect(&vm->pci, id, sock, done, arg);
}

/* The vCPUs stop from the detach until every detached function has a new server: no vCPU is in
 * the function's callbacks meanwhile, the guest never reads a missing device's all-ones (Linux's
 * nvme driver would remove it) and its clock stops too. A VM the user paused stays paused. */
int vm_vfio_detach(struct vm *vm, const char *id)
{
    struct vfio_pci_dev *d = vfio_pci_find(vm->vfio, vm->nvfio, id);
    int p = d ? vm_pause(vm) : -ENODEV;

    if (p && p != -EALREADY)
        return p;
    vm->vfio_paused |= !p;
    vfio_pci_detach(d);
    return 0;
}

int vm_vfio_reconnect(struct vm *vm, const char *id, int sock, char *err, size_t errlen)
{
    struct vfio_pci_dev *d = vfio_pci_find(vm->vfio, vm->nvfio, id);
    int r = d ? 0 : -ENODEV;

    if (d && !vm->vfio_paused) { /* no detach came first: stop the vCPUs all the same */
        r = vm_pause(vm);
        vm->vfio_paused = !r;
        r = r == -EALREADY ? 0 : r;
    }
    if (r) {
        close(sock);
        snprintf(err, errlen, "%s: %s", id, strerror(-r));
        return r;
    }
    r = vfio_pci_reconnect(d, sock, err, errlen);
    /* On failure the controller replaces the server again or stops the VM: stay stopped. */
    if (!r && vm->vfio_paused && !vfio_pci_any_gone(vm->vfio, vm->nvfio)) {
        vm->vfio_paused = false;
        vm_resume(vm);
    }
    return r;
}
