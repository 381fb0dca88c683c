/* virtio-mem's control messages (issue 17): CoreConfig's memory.virtio_mem regions with their
 * CORE_FD_VIRTIO_MEM fds, VirtioMemResize / VirtioMemResized, and the API's vm.resize-zone
 * request, validated strictly. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "validate.h"
#include "validate_api.h"

#define MiB (1ull << 20)

struct cfg {
    Cellvm__Envelope env;
    Cellvm__CoreConfig cc;
    Cellvm__CpuConfig cpus;
    Cellvm__MemoryConfig mem;
    Cellvm__VirtioMemRegion v[2];
    Cellvm__VirtioMemRegion *vp[2];
    Cellvm__CoreFd fds[5];
};

static void cfg_init(struct cfg *c)
{
    const Cellvm__CoreFd fds[] = { CELLVM__CORE_FD__CORE_FD_KVM, CELLVM__CORE_FD__CORE_FD_MEMORY,
                                   CELLVM__CORE_FD__CORE_FD_KERNEL,
                                   CELLVM__CORE_FD__CORE_FD_VIRTIO_MEM };

    cellvm__envelope__init(&c->env);
    cellvm__core_config__init(&c->cc);
    cellvm__cpu_config__init(&c->cpus);
    cellvm__memory_config__init(&c->mem);
    for (int i = 0; i < 2; i++) {
        cellvm__virtio_mem_region__init(&c->v[i]);
        c->vp[i] = &c->v[i];
    }
    for (int i = 0; i < 4; i++)
        c->fds[i] = fds[i];
    c->cpus.boot_vcpus = c->cpus.max_vcpus = 1;
    c->cpus.max_phys_bits = 46;
    c->cpus.threads_per_core = c->cpus.cores_per_die = c->cpus.dies_per_package = 1;
    c->cpus.packages = 1;
    c->mem.size = 512 * MiB;
    c->v[0].size = 1ull << 30;
    c->v[0].requested = 256 * MiB;
    c->v[0].fd_index = 3;
    c->mem.virtio_mem = c->vp;
    c->mem.n_virtio_mem = 1;
    c->cc.cpus = &c->cpus;
    c->cc.memory = &c->mem;
    c->cc.cmdline = (char *)"";
    c->cc.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
    c->cc.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    c->cc.fds = c->fds;
    c->cc.n_fds = 4;
    c->env.body_case = CELLVM__ENVELOPE__BODY_CORE_CONFIG;
    c->env.core_config = &c->cc;
}

static void refused(struct cfg *c, const char *want)
{
    const char *why = NULL;

    cr_assert_neq(pb_validate_envelope(&c->env, c->cc.n_fds, &why), 0, "want %s", want);
    cr_assert_str_eq(why, want);
}

Test(vmem_msgs, core_config_region)
{
    struct cfg c;
    const char *why = NULL;

    cfg_init(&c);
    cr_assert_eq(pb_validate_envelope(&c.env, 4, &why), 0, "%s", why ? why : "");
    c.v[0].size = 100 * MiB;
    refused(&c, "memory.virtio_mem.size");
    c.v[0].size = 0;
    refused(&c, "memory.virtio_mem.size");
    c.v[0].size = (1ull << 40) + 128 * MiB;
    refused(&c, "memory.virtio_mem.size");
    cfg_init(&c);
    c.v[0].requested = (1ull << 30) + 2 * MiB;
    refused(&c, "memory.virtio_mem.requested");
    c.v[0].requested = 3 * MiB;
    refused(&c, "memory.virtio_mem.requested");
    cfg_init(&c);
    c.v[0].zone = 1; /* no zones: only the default memory's device */
    refused(&c, "memory.virtio_mem.zone");
    cfg_init(&c);
    c.v[0].fd_index = 1; /* the RAM's fd */
    refused(&c, "memory.virtio_mem.fd_index");
    cfg_init(&c);
    c.mem.hotplug_size = 1ull << 30; /* not with ACPI memory hotplug */
    refused(&c, "memory.virtio_mem");
    cfg_init(&c);
    c.mem.n_virtio_mem = 0; /* an fd nobody names */
    refused(&c, "memory.virtio_mem");
    cfg_init(&c);
    c.mem.n_virtio_mem = 2; /* two devices for the one default memory */
    c.v[1] = c.v[0];
    refused(&c, "memory.virtio_mem");
}

Test(vmem_msgs, resize_and_answer)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__VirtioMemResize vr = CELLVM__VIRTIO_MEM_RESIZE__INIT;
    Cellvm__VirtioMemResized done = CELLVM__VIRTIO_MEM_RESIZED__INIT;
    const char *why = NULL;

    env.body_case = CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZE;
    env.virtio_mem_resize = &vr;
    vr.requested_size = 512 * MiB;
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    cr_assert_neq(pb_validate_envelope(&env, 1, &why), 0, "no fds");
    vr.requested_size = 513 * MiB;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "virtio_mem_resize.requested_size");
    vr.requested_size = 0;
    vr.index = 8;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "virtio_mem_resize.index");
    env.body_case = CELLVM__ENVELOPE__BODY_VIRTIO_MEM_RESIZED;
    env.virtio_mem_resized = &done;
    done.message = (char *)"";
    cr_assert_eq(pb_validate_envelope(&env, 0, &why), 0, "%s", why ? why : "");
    done.errnum = 4096;
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "virtio_mem_resized.errnum");
    done.errnum = 17;
    done.message = (char *)"bad\x01";
    cr_assert_neq(pb_validate_envelope(&env, 0, &why), 0);
    cr_assert_str_eq(why, "virtio_mem_resized.message");
}

Test(vmem_msgs, api_resize_zone)
{
    Cellvm__ApiRequest rq = CELLVM__API_REQUEST__INIT;
    Cellvm__ApiVmResizeZone rz = CELLVM__API_VM_RESIZE_ZONE__INIT;
    const char *why = NULL;

    rq.has_id = rq.has_endpoint = 1;
    rq.id = 1;
    rq.endpoint = CELLVM__API_ENDPOINT__API_VM_RESIZE_ZONE;
    cr_assert_neq(pb_validate_api_request(&rq, 0, &why), 0, "the body is required");
    rq.resize_zone = &rz;
    rz.id = (char *)"mem0";
    cr_assert_neq(pb_validate_api_request(&rq, 0, &why), 0, "desired_ram is required");
    rz.has_desired_ram = 1;
    rz.desired_ram = 1ull << 30;
    cr_assert_eq(pb_validate_api_request(&rq, 0, &why), 0, "%s", why ? why : "");
    rz.id = NULL;
    cr_assert_neq(pb_validate_api_request(&rq, 0, &why), 0, "the id is required");
}
