#include "core/api/api_routes.h"

#include <string.h>

#define EP(x) CELLVM__API_ENDPOINT__API_##x
#define NONE  CELLVM__API_ENDPOINT__API_UNSPECIFIED

/*
 * Cloud Hypervisor's quirk kept: the file documents /vmm.nmi but the server routes /vm.nmi;
 * /vmm.nmi is not a route (404 like any unknown path). Not-implemented endpoints answer the
 * error status their entry in the OpenAPI file lists (500, else 405, else 404).
 */
static const struct api_route routes[] = {
    { "/vmm.ping", API_GET, EP(VMM_PING), NULL, false, NULL, 0 },
    { "/vmm.shutdown", API_PUT, EP(VMM_SHUTDOWN), NULL, false, NULL, 0 },
    { "/vm.info", API_GET, EP(VM_INFO), NULL, false, NULL, 0 },
    { "/vm.counters", API_GET, EP(VM_COUNTERS), NULL, false, NULL, 0 },
    { "/vm.create", API_PUT, EP(VM_CREATE), &cellvm__api_vm_config__descriptor, false, NULL, 0 },
    { "/vm.delete", API_PUT, EP(VM_DELETE), NULL, false, NULL, 0 },
    { "/vm.boot", API_PUT, EP(VM_BOOT), NULL, false, NULL, 0 },
    { "/vm.pause", API_PUT, EP(VM_PAUSE), NULL, false, NULL, 0 },
    { "/vm.resume", API_PUT, EP(VM_RESUME), NULL, false, NULL, 0 },
    { "/vm.shutdown", API_PUT, EP(VM_SHUTDOWN), NULL, false, NULL, 0 },
    { "/vm.reboot", API_PUT, EP(VM_REBOOT), NULL, false, NULL, 0 },
    { "/vm.power-button", API_PUT, EP(VM_POWER_BUTTON), NULL, false, NULL, 0 },
    { "/vm.nmi", API_PUT, EP(VM_NMI), NULL, false, NULL, 0 },
    { "/vm.resize-disk", API_PUT, EP(VM_RESIZE_DISK), &cellvm__api_resize_disk__descriptor, false,
      NULL, 0 },
    { "/vm.add-net", API_PUT, EP(VM_ADD_NET), &cellvm__api_net_config__descriptor, true, NULL, 0 },
    { "/vm.resize", API_PUT, EP(VM_RESIZE), &cellvm__api_vm_resize__descriptor, false, NULL, 0 },
    { "/vm.resize-zone", API_PUT, EP(VM_RESIZE_ZONE), &cellvm__api_vm_resize_zone__descriptor,
      false, NULL, 0 },
    { "/vm.add-device", API_PUT, EP(VM_ADD_DEVICE), &cellvm__api_device_config__descriptor, false,
      NULL, 0 },
    { "/vm.remove-device", API_PUT, EP(VM_REMOVE_DEVICE), &cellvm__api_vm_remove_device__descriptor,
      false, NULL, 0 },
    { "/vm.add-disk", API_PUT, EP(VM_ADD_DISK), &cellvm__api_disk_config__descriptor, false, NULL,
      0 },
    { "/vm.add-fs", API_PUT, EP(VM_ADD_FS), &cellvm__api_fs_config__descriptor, false, NULL, 0 },
    { "/vm.add-pmem", API_PUT, EP(VM_ADD_PMEM), &cellvm__api_pmem_config__descriptor, false, NULL,
      0 },
    { "/vm.add-vsock", API_PUT, EP(VM_ADD_VSOCK), &cellvm__api_vsock_config__descriptor, false,
      NULL, 0 },
    { "/vm.add-vdpa", API_PUT, NONE, NULL, false, "vDPA devices", 500 },
    { "/vm.add-user-device", API_PUT, EP(VM_ADD_USER_DEVICE),
      &cellvm__api_user_device_config__descriptor, false, NULL, 0 },
    { "/vm.snapshot", API_PUT, EP(VM_SNAPSHOT), &cellvm__api_vm_snapshot_config__descriptor, false,
      NULL, 0 },
    { "/vm.coredump", API_PUT, NONE, NULL, false, "guest coredumps", 405 },
    { "/vm.restore", API_PUT, EP(VM_RESTORE), &cellvm__api_restore_config__descriptor, true, NULL,
      0 },
    { "/vm.receive-migration", API_PUT, EP(VM_RECEIVE_MIGRATION),
      &cellvm__api_receive_migration_data__descriptor, false, NULL, 0 },
    { "/vm.send-migration", API_PUT, EP(VM_SEND_MIGRATION),
      &cellvm__api_send_migration_data__descriptor, false, NULL, 0 },
};

const struct api_route *api_route_find(const char *path)
{
    size_t plen = strlen(API_PREFIX);

    if (strncmp(path, API_PREFIX, plen))
        return NULL;
    for (unsigned i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (!strcmp(path + plen, routes[i].path))
            return &routes[i];
    return NULL;
}

const struct api_route *api_routes(unsigned *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
