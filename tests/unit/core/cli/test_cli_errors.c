/* Every refused command line produces exactly one line naming the option and the key. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli/cli.h"

#define MAX_ARGV 12

struct err_case {
    const char *argv[MAX_ARGV];
    const char *msg;
};

#define K "--kernel", "k"

static const struct err_case cases[] = {
    /* unknown option and argv shape (clap's errors) */
    { { "--foo" }, "unknown option '--foo'" },
    { { "--foo=bar" }, "unknown option '--foo'" },
    { { "-x" }, "unknown option '-x'" },
    { { "-vq" }, "unknown option '-q'" },
    { { "stray" }, "unexpected argument 'stray'" },
    { { K, "--", "x" }, "unexpected argument 'x'" },
    { { "--kernel" }, "--kernel: missing value" },
    { { "--cpus", "--kernel", "k" }, "--cpus: missing value" },
    { { K, "--cpus", "boot=1", "--cpus", "boot=2" }, "--cpus: given more than once" },
    { { K, "--vsock", "cid=3,socket=/a", "--vsock", "cid=4,socket=/b" },
      "--vsock: given more than once" },
    { { K, "--pvpanic=on" }, "--pvpanic: takes no value" },
    { { "--cpus", "boot=2" }, "--cpus: needs --kernel (or --firmware)" },
    { { "--cmdline", "console=ttyS0" }, "--cmdline: needs --kernel (or --firmware)" },
    /* (a) unknown keys */
    { { K, "--cpus", "foo=1" }, "--cpus: unknown key 'foo'" },
    { { K, "--memory", "size=1G,bogus" }, "--memory: unknown key 'bogus'" },
    { { K, "--serial", "foo" }, "--serial: unknown key 'foo'" },
    { { K, "--disk", "path=/a,colour=red" }, "--disk: unknown key 'colour'" },
    /* (b) known but not supported yet */
    { { K, "--cpus", "kvm_hyperv=on" }, "--cpus: known but not supported yet: kvm_hyperv" },
    { { K, "--cpus", "features=amx" }, "--cpus: known but not supported yet: features" },
    { { K, "--cpus", "nested=off" }, "--cpus: known but not supported yet: nested" },
    { { K, "--cpus", "boot=256" },
      "--cpus: known but not supported yet: boot=256 (cellvm's limit is 255 vCPUs)" },
    { { K, "--memory", "hotplug_size=2048G" },
      "--memory: known but not supported yet: hotplug_size=2199023255552 (cellvm's limit is "
      "1 TiB)" },
    { { K, "--memory", "hotplugged_size=1G" },
      "--memory: invalid value for 'hotplugged_size': '1073741824' (not with "
      "hotplug_method=acpi)" },
    /* virtio-mem (issue 17): Cloud Hypervisor's rules */
    { { K, "--memory", "hotplug_method=virtio-mem,hotplugged_size=1G" },
      "--memory: invalid value for 'hotplugged_size': '1073741824' (needs a hotplug_size at "
      "least as large, in multiples of 2 MiB)" },
    { { K, "--memory", "hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=2G" },
      "--memory: invalid value for 'hotplugged_size': '2147483648' (needs a hotplug_size at "
      "least as large, in multiples of 2 MiB)" },
    { { K, "--memory", "hotplug_method=virtio-mem,hotplug_size=1G,hotplugged_size=1M" },
      "--memory: invalid value for 'hotplugged_size': '1048576' (needs a hotplug_size at "
      "least as large, in multiples of 2 MiB)" },
    { { K, "--memory", "hotplug_method=virtio-mem,hotplug_size=0" },
      "--memory: invalid value for 'hotplug_size': '0' (virtio-mem needs a multiple of "
      "128 MiB, 1 TiB at most)" },
    { { K, "--memory", "hotplug_method=virtio-mem,hotplug_size=100M" },
      "--memory: invalid value for 'hotplug_size': '104857600' (virtio-mem needs a multiple of "
      "128 MiB, 1 TiB at most)" },
    { { K, "--memory", "size=0,hotplug_method=virtio-mem,hotplug_size=1G", "--memory-zone",
        "id=m0,size=1G" },
      "--memory: invalid value for 'hotplug_size': '1073741824' (with --memory-zone, each zone "
      "has its own hotplug_size)" },
    { { K, "--memory", "size=0,hotplug_method=virtio-mem", "--memory-zone",
        "id=m0,size=1G,hotplug_size=200M" },
      "--memory-zone: invalid value for 'hotplug_size': '209715200' (virtio-mem needs a "
      "multiple of 128 MiB, 1 TiB at most)" },
    { { K, "--memory", "size=0", "--memory-zone", "id=m0,size=1G,hotplug_size=1G" },
      "--memory-zone: invalid value for 'hotplug_size' (needs --memory "
      "hotplug_method=virtio-mem)" },
    { { K, "--memory", "size=0,hotplug_size=1G", "--memory-zone", "id=m0,size=1G" },
      "--memory: invalid value for 'hotplug_size': '1073741824' (with hotplug_method=acpi it "
      "needs --memory size>0 and no --memory-zone)" },
    { { K, "--pmem", "file=/p,size=2M,iommu=on" }, "--pmem: known but not supported yet: iommu" },
    { { K, "--fs", "tag=a,socket=/s,pci_segment=1" },
      "--fs: known but not supported yet: pci_segment" },
    { { K, "--fs", "tag=a,socket=/s,id=x", "--disk", "path=/a,id=x" },
      "--fs: invalid value for 'id': 'x' (already used)" },
    { { K, "--pvpanic" }, "--pvpanic: known but not supported yet" },
    { { K, "--firmware", "/fw" }, "--firmware: known but not supported yet" },
    { { "--restore", "source_url=/x" },
      "--restore source_url: '/x' is not a file:///absolute/directory URL" },
    { { "--restore", "prefault=on" }, "--restore: source_url is required" },
    { { "--restore", "source_url=file:///x,net_fds=[a@1]" },
      "--restore: net_fds: 'a': fd 1 (0, 1 and 2 are reserved)" },
    { { "--restore", "source_url=file:///x,net_fds=[a]" },
      "--restore: net_fds: expected <net id>@[<fd>,...], got 'a'" },
    { { "--restore", "source_url=file:///x,net_fds=a@[3]" },
      "--restore: net_fds: expected [<net id>@[<fd>,...],...]" },
    { { "--restore", "source_url=file:///x,net_fds=[a@[3],a@[4]]" },
      "--restore: net_fds: 'a' is named twice" },
    /* --net and --vsock are served; a refusal after them is still reported */
    { { K, "--net", "tap=tap0", "--vsock", "cid=3,socket=/tmp/v", "--pvpanic" },
      "--pvpanic: known but not supported yet" },
    { { K, "--disk", "vhost_user=on,socket=/s,iommu=on" },
      "--disk: Device does not support being placed behind IOMMU" },
    { { K, "--disk", "path=/a,pci_segment=1" },
      "--disk: invalid value for 'pci_segment': Invalid PCI segment id: 1 (--platform "
      "num_pci_segments=1)" },
    { { K, "--platform", "iommu_segments=[0]" },
      "--platform: invalid value for 'iommu_segments': segment 0 holds the virtio-iommu itself "
      "and cannot be an IOMMU segment (use iommu=on on the devices of segment 0)" },
    { { K, "--platform", "uuid=0011" },
      "--platform: invalid value for 'uuid': '0011' (invalid length: expected length 32 for "
      "simple format, found 4)" },
    { { K, "--platform", "num_pci_segments=97" },
      "--platform: invalid value for 'num_pci_segments': '97' (Number of PCI segments (97) not "
      "in range of 1 to 96)" },
    /* (c) bad values */
    { { K, "--cpus", "boot=x" },
      "--cpus: invalid value for 'boot': 'x' (expected an integer from 0 to 4294967295)" },
    { { K, "--cpus", "boot=0" }, "--cpus: invalid value for 'boot': '0' (at least 1)" },
    { { K, "--cpus", "boot=4,max=2" }, "--cpus: invalid value for 'max': '2' (lower than boot=4)" },
    { { K, "--cpus", "boot=9000" },
      "--cpus: invalid value for 'boot': '9000' (more than 8192 "
      "vCPUs)" },
    { { K, "--cpus", "boot=2,topology=1:1:1:1" },
      "--cpus: invalid value for 'topology': '1:1:1:1' (the product is 1, max is 2)" },
    { { K, "--cpus", "topology=1:1:1" },
      "--cpus: invalid value for 'topology': '1:1:1' "
      "(expected <threads>:<cores>:<dies>:<packages>)" },
    { { K, "--cpus", "topology=0:1:1:1" },
      "--cpus: invalid value for 'topology': '0:1:1:1' (no part may be 0)" },
    { { K, "--cpus", "features=sse" },
      "--cpus: invalid value for 'features': 'sse' (the only CPU feature is amx)" },
    { { K, "--cpus", "kvm_hyperv=maybe" },
      "--cpus: invalid value for 'kvm_hyperv': 'maybe' (expected on, off, true or false)" },
    { { K, "--cpus", "affinity=[0@[3-1]]" },
      "--cpus: invalid value for 'affinity': '[0@[3-1]]' (a range must go upwards)" },
    { { K, "--cpus", "affinity=[1@[0]]" },
      "--cpus: invalid value for 'affinity': vCPU 1 (max is 1)" },
    { { K, "--cpus", "affinity=[0@[0]" },
      "--cpus: invalid syntax (unbalanced quotes or brackets): 'affinity=[0@[0]'" },
    { { K, "--cpus", "max_phys_bits=300" },
      "--cpus: invalid value for 'max_phys_bits': '300' "
      "(expected an integer from 0 to 255)" },
    { { K, "--memory", "size=1T" },
      "--memory: invalid value for 'size': '1T' (expected <bytes>[K|M|G])" },
    { { K, "--memory", "size=1000" },
      "--memory: invalid value for 'size': '1000' (not a "
      "multiple of the 4 KiB page size)" },
    { { K, "--memory", "hugepages=on,hugepage_size=3M" },
      "--memory: invalid value for 'hugepage_size': '3145728' (not a power of two)" },
    { { K, "--memory", "hugepage_size=2M" },
      "--memory: invalid value for 'hugepage_size': '2097152' (needs hugepages=on)" },
    { { K, "--serial", "" },
      "--serial: no mode given (expected off, null, pty, tty, "
      "file=<path> or socket=<path>)" },
    { { K, "--serial", "file=" }, "--serial: missing value for 'file' (expected file=<path>)" },
    { { K, "--console", "socket=/tmp/c" },
      "--console: invalid value for 'socket': socket mode is for --serial only" },
    { { K, "--seccomp", "yes" }, "--seccomp: invalid value: 'yes' (expected true, false or log)" },
    { { K, "--log-file", "" }, "--log-file: invalid value: '' (empty path)" },
    { { "--api-socket", "fd=x" },
      "--api-socket: invalid value for 'fd': 'x' (expected a file descriptor number)" },
    { { "--event-monitor", "/tmp/ev" }, "--event-monitor: unknown key '/tmp/ev'" },
    { { "--event-monitor", "" }, "--event-monitor: expected path=<path> or fd=<fd>" },
    { { K, "--vsock", "cid=2,socket=/tmp/v" },
      "--vsock: invalid value for 'cid': '2' (0, 1, 2 and 4294967295 are reserved)" },
    { { K, "--vsock", "cid=4294967295,socket=/tmp/v" },
      "--vsock: invalid value for 'cid': '4294967295' (0, 1, 2 and 4294967295 are reserved)" },
    { { K, "--vsock", "cid=4294967296,socket=/tmp/v" },
      "--vsock: invalid value for 'cid': "
      "'4294967296' (expected an integer from "
      "0 to 4294967295)" },
    { { K, "--vsock", "cid=3" }, "--vsock: missing required key 'socket'" },
    { { K, "--vsock", "socket=/tmp/v" }, "--vsock: missing required key 'cid'" },
    { { K, "--net", "mac=12:34:56:78:9a" },
      "--net: invalid value for 'mac': '12:34:56:78:9a' "
      "(expected six colon-separated hex pairs, e.g. "
      "2e:00:00:00:00:01)" },
    { { K, "--net", "host_mac=1:34:56:78:9a:bc" },
      "--net: invalid value for 'host_mac': '1:34:56:78:9a:bc' (expected six colon-separated "
      "hex pairs, e.g. 2e:00:00:00:00:01)" },
    { { K, "--net", "ip=169.254.0.1" }, "--net: invalid value for 'ip': ip and mask go together" },
    { { K, "--net", "num_queues=3" },
      "--net: invalid value for 'num_queues': '3' (an even number, at least 2)" },
    { { K, "--net", "num_queues=4" },
      "--net: invalid value for 'num_queues': '4' (more queue "
      "pairs than the 1 boot vCPUs)" },
    { { K, "--net", "fd=[2]" }, "--net: invalid value for 'fd': '2' (0, 1 and 2 are reserved)" },
    { { K, "--net", "mtu=576" }, "--net: invalid value for 'mtu': '576' (at least 1280)" },
    { { K, "--net", "offload_csum=off" },
      "--net: invalid value for 'offload_csum': 'off' "
      "(offload_tso and offload_ufo need it on)" },
    { { K, "--disk", "path=/a,serial=123456789012345678901" },
      "--disk: invalid value for 'serial': '123456789012345678901' (longer than 20 bytes)" },
    { { K, "--disk", "path=/a,queue_size=2" },
      "--disk: invalid value for 'queue_size': '2' (a power of two from 4 to 32768)" },
    { { K, "--disk", "path=/a,num_queues=2" },
      "--disk: invalid value for 'num_queues': '2' (more than the 1 boot vCPUs)" },
    { { K, "--disk", "path=/a,socket=/s" },
      "--disk: invalid value for 'socket': path and socket exclude each other" },
    { { K, "--disk", "readonly=on" },
      "--disk: missing required key 'path' (or socket with vhost_user=on)" },
    { { K, "--disk", "path=/a,image_type=vmdk" },
      "--disk: invalid value for 'image_type': 'vmdk' (expected raw, qcow2, vhd or vhdx)" },
    { { K, "--disk", "path=/a,id=x", "path=/b,id=x" },
      "--disk: invalid value for 'id': 'x' (already used)" },
    { { K, "--disk", "path=/a,id=__x" },
      "--disk: invalid value for 'id': '__x' (ids starting with '__' are reserved)" },
    { { K, "--memory-zone", "size=1G" }, "--memory-zone: missing required key 'id'" },
    { { K, "--memory-zone", "id=m0" }, "--memory-zone: needs --memory size=0" },
    { { K, "--memory", "size=0" },
      "--memory: invalid value for 'size': '0' (only with --memory-zone)" },
    { { K, "--memory", "size=0", "--memory-zone", "id=m0", "--numa", "guest_numa_id=0" },
      "--numa: node 0 needs cpus, memory_zones or device_id" },
    { { K, "--numa", "cpus=[0]" }, "--numa: missing required key 'guest_numa_id'" },
    { { K, "--numa", "guest_numa_id=0,cpus=[0,1]" },
      "--numa: invalid value for 'cpus': vCPU 1 (max is 1)" },
    { { K, "--memory", "size=0", "--memory-zone", "id=m0", "--numa",
        "guest_numa_id=0,memory_zones=[m1]" },
      "--numa: invalid value for 'memory_zones': 'm1' (no such --memory-zone)" },
    { { K, "--numa", "guest_numa_id=0,cpus=[0],distances=[1@300]" },
      "--numa: invalid value for 'distances': '[1@300]' (tuple value must be an integer from 0 "
      "to 255)" },
    { { K, "--numa", "guest_numa_id=1,cpus=[0],pci_segments=[0]" },
      "--numa: invalid value for 'pci_segments': Default PCI segment assigned to non-zero NUMA "
      "node 1" },
};

Test(cli_errors, table)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[MAX_ARGV + 2] = { "cellvm" };
        char err[CLI_ERR_LEN], line[256] = "";
        struct cli_config c;
        int argc = 1, j, r;

        for (j = 0; j < MAX_ARGV && cases[i].argv[j]; j++) {
            argv[argc++] = cases[i].argv[j];
            if (strlen(line) + strlen(cases[i].argv[j]) + 2 < sizeof(line)) {
                strcat(line, " ");
                strcat(line, cases[i].argv[j]);
            }
        }
        r = cli_parse(argc, (char *const *)argv, &c, err, sizeof(err));
        cr_expect_eq(r, -EINVAL, "case %zu (%s): no error", i, line);
        if (r == 0)
            continue;
        cr_expect_str_eq(err, cases[i].msg, "case %zu (%s)", i, line);
        cr_expect_null(strchr(err, '\n'), "case %zu: one line", i);
        cli_config_free(&c);
    }
}

/* Values that are too long for their field are refused, not truncated. */
Test(cli_errors, overlong)
{
    size_t big = 70000;
    char *s = malloc(big + 8), err[CLI_ERR_LEN];
    struct cli_config c;

    cr_assert(s);
    memset(s, 'a', big);
    s[big] = '\0';
    cr_expect_eq(cli_parse(5, (char *const[]){ "cellvm", "--kernel", "k", "--cmdline", s, NULL },
                           &c, err, sizeof(err)),
                 -EINVAL);
    cr_expect_str_eq(err, "--cmdline: invalid value: longer than 65535 bytes");
    cli_config_free(&c);
    memset(s, 'a', 5000);
    s[5000] = '\0';
    cr_expect_eq(
        cli_parse(3, (char *const[]){ "cellvm", "--kernel", s, NULL }, &c, err, sizeof(err)),
        -EINVAL);
    cr_expect_str_eq(err, "--kernel: invalid value: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                          "aaaaaaaaaaaaaaaaaaaa...' (path longer than 4095 bytes)");
    cli_config_free(&c);
    memcpy(s, "boot=", 5);
    memset(s + 5, '1', 20000);
    s[20005] = '\0';
    cr_expect_eq(cli_parse(5, (char *const[]){ "cellvm", "--kernel", "k", "--cpus", s, NULL }, &c,
                           err, sizeof(err)),
                 -EINVAL);
    cr_expect_str_eq(err, "--cpus: value longer than 16384 bytes");
    cli_config_free(&c);
    free(s);
}
