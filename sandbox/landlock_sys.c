/* The side-effecting half of sandbox/landlock.h: the three Landlock syscalls. */
#include "sandbox/landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ABI 1's layout: the kernel takes any prefix of its own struct. */
struct ll_ruleset_attr {
    uint64_t handled_access_fs;
};

struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

#define LL_RULE_PATH_BENEATH 1

int sbx_ll_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

    return v < 0 ? -errno : (int)v;
}

static int add_rule(int ruleset, const struct sbx_ll_rule *rule, int abi, char *why, size_t whylen)
{
    struct ll_path_beneath pb;
    struct stat st;
    int fd = open(rule->path, O_PATH | O_CLOEXEC);
    int r = 0;

    if (fd < 0 && errno == ENOENT && rule->optional)
        return 0;
    if (fd < 0 || fstat(fd, &st) < 0) {
        r = -errno;
        snprintf(why, whylen, "cannot open '%.200s': %s", rule->path, strerror(errno));
        goto out;
    }
    pb.allowed_access = sbx_ll_rights(rule->access, abi, S_ISDIR(st.st_mode));
    pb.parent_fd = fd;
    if (pb.allowed_access &&
        syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
        r = -errno;
        snprintf(why, whylen, "landlock_add_rule '%.200s': %s", rule->path, strerror(errno));
    }
out:
    if (fd >= 0)
        close(fd);
    return r;
}

int sbx_ll_restrict(const struct sbx_ll_rule *rules, size_t n, char *why, size_t whylen)
{
    struct ll_ruleset_attr attr;
    int abi = sbx_ll_abi(), ruleset, r = 0;

    if (abi < 0) {
        snprintf(why, whylen, "%s",
                 abi == -EOPNOTSUPP ? "Landlock is disabled in this kernel (add landlock to "
                                      "its lsm= boot parameter)"
                                    : "this kernel has no Landlock");
        return abi;
    }
    attr.handled_access_fs = sbx_ll_handled(abi);
    ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
    if (ruleset < 0) {
        r = -errno;
        snprintf(why, whylen, "landlock_create_ruleset: %s", strerror(errno));
        return r;
    }
    for (size_t i = 0; !r && i < n; i++)
        r = add_rule(ruleset, &rules[i], abi, why, whylen);
    if (!r && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        r = -errno;
        snprintf(why, whylen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    }
    if (!r && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
        r = -errno;
        snprintf(why, whylen, "landlock_restrict_self: %s", strerror(errno));
    }
    close(ruleset);
    return r ? r : abi;
}
