#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc/channel.h"
#include "ipc/msg.h"
#include "validate.h"
#include "validate_device.h"

static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    cr_assert_not_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

Test(channel, roundtrip_with_fds)
{
    int sv[2], fds[2], got[IPC_MAX_FDS];
    char buf[64];
    size_t nfds;
    ssize_t n;

    cr_assert_eq(ipc_chan_pair(sv), 0);
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
    cr_assert_eq(ipc_send(sv[0], "hello", 5, fds, 2), 0);
    n = ipc_recv(sv[1], buf, sizeof(buf), got, IPC_MAX_FDS, &nfds);
    cr_assert_eq(n, 5);
    cr_assert_eq(nfds, 2);
    cr_assert(fcntl(got[0], F_GETFD) & FD_CLOEXEC, "received fds must be close-on-exec");
    cr_assert_eq(write(got[1], "x", 1), 1);
    cr_assert_eq(read(fds[0], buf, 1), 1);
    ipc_close_fds(got, nfds);
    ipc_close_fds(fds, 2);
    ipc_close_fds(sv, 2);
}

Test(channel, oversized_packet_rejected_and_fds_closed)
{
    int sv[2], fds[2], got[IPC_MAX_FDS];
    char big[256] = { 0 }, small[16];
    size_t nfds = 99;
    int before;

    cr_assert_eq(ipc_chan_pair(sv), 0);
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
    cr_assert_eq(ipc_send(sv[0], big, sizeof(big), fds, 2), 0);
    before = count_open_fds();
    cr_assert_eq(ipc_recv(sv[1], small, sizeof(small), got, IPC_MAX_FDS, &nfds), -EMSGSIZE);
    cr_assert_eq(nfds, 0);
    cr_assert_eq(count_open_fds(), before, "fds of a rejected packet must be closed");
    ipc_close_fds(fds, 2);
    ipc_close_fds(sv, 2);
}

Test(channel, too_many_fds_rejected_and_closed)
{
    int sv[2], fds[2], got[1];
    char buf[16];
    size_t nfds;
    int before;

    cr_assert_eq(ipc_chan_pair(sv), 0);
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
    cr_assert_eq(ipc_send(sv[0], "x", 1, fds, 2), 0);
    before = count_open_fds();
    cr_assert_eq(ipc_recv(sv[1], buf, sizeof(buf), got, 1, &nfds), -EMSGSIZE);
    cr_assert_eq(count_open_fds(), before);
    ipc_close_fds(fds, 2);
    ipc_close_fds(sv, 2);
}

Test(channel, peer_close_is_end_of_stream)
{
    int sv[2], got[1];
    char buf[16];
    size_t nfds;
    Cellvm__Envelope *env;
    const char *why = NULL;

    cr_assert_eq(ipc_chan_pair(sv), 0);
    close(sv[0]);
    cr_assert_eq(ipc_recv(sv[1], buf, sizeof(buf), got, 1, &nfds), 0);
    cr_assert_eq(ipc_recv_envelope(sv[1], &env, got, 1, &nfds, &why), -EPIPE);
    close(sv[1]);
}

static void send_hello(int sock, uint32_t version, Cellvm__Role role, uint32_t pid, const int *fds,
                       size_t nfds)
{
    Cellvm__Envelope env = CELLVM__ENVELOPE__INIT;
    Cellvm__Hello hello = CELLVM__HELLO__INIT;

    hello.protocol_version = version;
    hello.role = role;
    hello.id = (char *)"core";
    hello.pid = pid;
    env.body_case = CELLVM__ENVELOPE__BODY_HELLO;
    env.hello = &hello;
    cr_assert_eq(ipc_send_envelope(sock, &env, fds, nfds), 0);
}

Test(envelope, valid_hello)
{
    int sv[2], got[4];
    size_t nfds;
    Cellvm__Envelope *env;
    const char *why = NULL;

    cr_assert_eq(ipc_chan_pair(sv), 0);
    send_hello(sv[0], 1, CELLVM__ROLE__ROLE_CORE, 42, NULL, 0);
    cr_assert_eq(ipc_recv_envelope(sv[1], &env, got, 4, &nfds, &why), 0, "%s", why);
    cr_assert_eq(env->body_case, CELLVM__ENVELOPE__BODY_HELLO);
    cr_assert_eq(env->hello->pid, 42);
    cr_assert_str_eq(env->hello->id, "core");
    ipc_free_envelope(env);
    ipc_close_fds(sv, 2);
}

Test(envelope, invalid_messages_rejected_with_field_name)
{
    int sv[2], got[4], fds[2];
    size_t nfds;
    Cellvm__Envelope *env;
    const char *why = NULL;
    int before;

    cr_assert_eq(ipc_chan_pair(sv), 0);
    send_hello(sv[0], 2, CELLVM__ROLE__ROLE_CORE, 42, NULL, 0);
    cr_assert_eq(ipc_recv_envelope(sv[1], &env, got, 4, &nfds, &why), -EINVAL);
    cr_assert_str_eq(why, "hello.protocol_version");
    send_hello(sv[0], 1, 77, 42, NULL, 0);
    cr_assert_eq(ipc_recv_envelope(sv[1], &env, got, 4, &nfds, &why), -EINVAL);
    cr_assert_str_eq(why, "hello.role");

    /* fds on a message that carries none: rejected, and the fds closed. */
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
    send_hello(sv[0], 1, CELLVM__ROLE__ROLE_CORE, 42, fds, 2);
    before = count_open_fds();
    cr_assert_eq(ipc_recv_envelope(sv[1], &env, got, 4, &nfds, &why), -EINVAL);
    cr_assert_str_eq(why, "envelope.fds");
    cr_assert_eq(count_open_fds(), before);
    ipc_close_fds(fds, 2);

    /* Garbage bytes. */
    cr_assert_eq(ipc_send(sv[0], "\xff\xff\xff\xff", 4, NULL, 0), 0);
    cr_assert_eq(ipc_recv_envelope(sv[1], &env, got, 4, &nfds, &why), -EBADMSG);
    ipc_close_fds(sv, 2);
}

static Cellvm__CpuConfig good_cpus(void)
{
    Cellvm__CpuConfig c = CELLVM__CPU_CONFIG__INIT;

    c.boot_vcpus = 2;
    c.max_vcpus = 4;
    c.threads_per_core = 1;
    c.cores_per_die = 2;
    c.dies_per_package = 1;
    c.packages = 2;
    c.max_phys_bits = 46;
    return c;
}

Test(validate, core_config)
{
    Cellvm__CoreConfig cfg = CELLVM__CORE_CONFIG__INIT;
    Cellvm__CpuConfig cpus = good_cpus();
    Cellvm__MemoryConfig mem = CELLVM__MEMORY_CONFIG__INIT;
    Cellvm__CoreFd fdlist[] = { CELLVM__CORE_FD__CORE_FD_KVM, CELLVM__CORE_FD__CORE_FD_MEMORY,
                                CELLVM__CORE_FD__CORE_FD_KERNEL };
    const char *why = NULL;

    mem.size = 512ull << 20;
    cfg.cpus = &cpus;
    cfg.memory = &mem;
    cfg.cmdline = (char *)"console=ttyS0";
    cfg.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
    cfg.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    cfg.fds = fdlist;
    cfg.n_fds = 3;
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), 0, "%s", why);
    cr_assert_eq(pb_validate_core_config(&cfg, 2, &why), -EINVAL, "fd count must match");

    cpus.packages = 3;
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL);
    cr_assert_str_eq(why, "cpus.topology");
    cpus = good_cpus();

    mem.size = 12345;
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL);
    cr_assert_str_eq(why, "memory.size");
    mem.size = 512ull << 20;

    cfg.cmdline = (char *)"console=ttyS0\nevil";
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL);
    cr_assert_str_eq(why, "core_config.cmdline");
    cfg.cmdline = NULL;

    fdlist[2] = CELLVM__CORE_FD__CORE_FD_KVM;
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL, "duplicate fd role");
    fdlist[2] = CELLVM__CORE_FD__CORE_FD_KERNEL;

    cfg.serial = CELLVM__SERIAL_MODE__SERIAL_STREAM;
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL, "stream serial needs an fd");
}

/* CoreConfig.smbios: the SMBIOS strings the core writes into guest memory. */
Test(validate, core_config_smbios)
{
    Cellvm__CoreConfig cfg = CELLVM__CORE_CONFIG__INIT;
    Cellvm__CpuConfig cpus = good_cpus();
    Cellvm__MemoryConfig mem = CELLVM__MEMORY_CONFIG__INIT;
    Cellvm__Smbios sm = CELLVM__SMBIOS__INIT;
    Cellvm__CoreFd fdlist[] = { CELLVM__CORE_FD__CORE_FD_KVM, CELLVM__CORE_FD__CORE_FD_MEMORY,
                                CELLVM__CORE_FD__CORE_FD_KERNEL };
    static char big[PB_MAX_SMBIOS_TEXT + 2];
    static char *many[PB_MAX_OEM_STRINGS + 1];
    char *oem[] = { (char *)"a", (char *)"b" };
    uint8_t uuid[17] = { 0 };
    const char *why = NULL;

    mem.size = 512ull << 20;
    cfg.cpus = &cpus;
    cfg.memory = &mem;
    cfg.serial = CELLVM__SERIAL_MODE__SERIAL_NULL;
    cfg.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    cfg.fds = fdlist;
    cfg.n_fds = 3;
    cfg.smbios = &sm;
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), 0, "empty: %s", why);
    sm.serial_number = (char *)"SN-1";
    sm.uuid.data = uuid;
    sm.uuid.len = 16;
    sm.oem_strings = oem;
    sm.n_oem_strings = 2;
    cr_assert_eq(pb_validate_core_config(&cfg, 3, &why), 0, "%s", why);

    sm.uuid.len = 17;
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL);
    cr_expect_str_eq(why, "core_config.smbios.uuid");
    sm.uuid.len = 16;

    sm.serial_number = (char *)"a\nb";
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL);
    cr_expect_str_eq(why, "core_config.smbios.serial_number");
    sm.serial_number = (char *)"";

    oem[1] = (char *)"";
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL, "an empty OEM string");
    cr_expect_str_eq(why, "core_config.smbios.oem_strings");
    oem[1] = (char *)"b\x80";
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL, "not ASCII");
    oem[1] = (char *)"b";

    for (size_t i = 0; i <= PB_MAX_OEM_STRINGS; i++)
        many[i] = (char *)"x";
    sm.oem_strings = many;
    sm.n_oem_strings = PB_MAX_OEM_STRINGS;
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), 0, "%s", why);
    sm.n_oem_strings = PB_MAX_OEM_STRINGS + 1;
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL);
    cr_expect_str_eq(why, "core_config.smbios.oem_strings");

    /* The total, one NUL each: PB_MAX_SMBIOS_TEXT fits, one byte more does not. */
    memset(big, 's', PB_MAX_SMBIOS_TEXT - 3);
    sm.serial_number = big;
    sm.oem_strings = oem;
    sm.n_oem_strings = 1; /* "a" and its NUL */
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), 0, "%s", why);
    big[PB_MAX_SMBIOS_TEXT - 3] = 's';
    cr_expect_eq(pb_validate_core_config(&cfg, 3, &why), -EINVAL);
    cr_expect_str_eq(why, "core_config.smbios");
}

/* DeviceStats' vm.counters latencies: only with completed requests, and min never above max. */
Test(validate, device_stats_latencies)
{
    Cellvm__DeviceStats st = CELLVM__DEVICE_STATS__INIT;
    const char *why = NULL;

    cr_assert_eq(pb_validate_device_stats(&st, &why), 0, "%s", why);
    st.write_latency_max = 5;
    cr_assert_eq(pb_validate_device_stats(&st, &why), -EINVAL, "a latency without writes");
    cr_assert_str_eq(why, "device_stats.write_latency");
    st.write_ops = 2;
    st.write_latency_min = 3;
    st.write_latency_total = 8;
    cr_assert_eq(pb_validate_device_stats(&st, &why), 0, "%s", why);
    st.read_ops = 1;
    st.read_latency_min = 9;
    st.read_latency_max = 4;
    cr_assert_eq(pb_validate_device_stats(&st, &why), -EINVAL, "min above max");
    cr_assert_str_eq(why, "device_stats.read_latency");
}

Test(validate, device_configure_rate_limit_group)
{
    Cellvm__DeviceConfigure c = CELLVM__DEVICE_CONFIGURE__INIT;
    const char *why = NULL;

    c.option = "disk";
    c.spec = "path=a";
    c.seccomp = CELLVM__SECCOMP_MODE__SECCOMP_ON;
    c.nfds = 2;
    cr_assert_eq(pb_validate_device_configure(&c, 2, &why), 0, "%s", why);
    c.rate_limit_group = "g0";
    cr_assert_eq(pb_validate_device_configure(&c, 2, &why), 0, "%s", why);
    c.nfds = 0;
    cr_assert_eq(pb_validate_device_configure(&c, 0, &why), -EINVAL, "a group without its region");
    cr_assert_str_eq(why, "device_configure.rate_limit_group");
    c.nfds = 1;
    c.rate_limit_group = "g\n0";
    cr_assert_eq(pb_validate_device_configure(&c, 1, &why), -EINVAL, "not printable");
    cr_assert_str_eq(why, "device_configure.rate_limit_group");
}
