/* --landlock: the controller restricts itself (landlock_ctl.h), its children keep coming from
 * the unrestricted spawner (spawner.h). */
#include "core/controller/landlock_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/controller/controller.h"

int landlock_ctl_check(struct controller *ctl)
{
    int abi;

    if (!ctl->cfg.landlock || ctl->landlocked)
        return 0;
    /* Cloud Hypervisor fails the VM when the kernel cannot restrict it; so does cellvm. */
    abi = sbx_ll_abi();
    if (abi >= 1)
        return 0;
    snprintf(ctl->err, sizeof(ctl->err),
             "--landlock: %s, so the VMM cannot restrict itself; run without --landlock",
             abi == -EOPNOTSUPP ? "Landlock is disabled in this kernel (lsm= boot parameter)"
                                : "this kernel has no Landlock");
    return abi < 0 ? abi : -ENOSYS;
}

int landlock_ctl_apply(struct controller *ctl)
{
    struct landlock_rules *rules;
    char why[256];
    int r;

    if (!ctl->cfg.landlock || ctl->landlocked)
        return 0;
    r = landlock_ctl_check(ctl);
    if (r)
        return r;
    rules = malloc(sizeof(*rules));
    if (!rules) {
        snprintf(ctl->err, sizeof(ctl->err), "--landlock: out of memory");
        return -ENOMEM;
    }
    r = landlock_rules_build(&ctl->cfg, rules, ctl->err, sizeof(ctl->err));
    /* The spawner first: once restricted, the controller could not start a jailed child. */
    if (!r)
        r = spawner_start(&ctl->spawner, ctl->err, sizeof(ctl->err));
    if (!r) {
        r = sbx_ll_restrict(rules->v, rules->n, why, sizeof(why));
        if (r < 0) {
            snprintf(ctl->err, sizeof(ctl->err), "--landlock: %s", why);
            spawner_close(&ctl->spawner);
        }
    }
    if (r >= 0) {
        ctl->landlocked = true;
        ctl->core.spawner = &ctl->spawner;
        ctl->api.proc.spawner = &ctl->spawner;
        ctl->api.landlocked = true;
        ctl->devs.spawner = &ctl->spawner;
        for (size_t i = 0; i < ctl->devs.n; i++)
            ctl->devs.v[i].proc.spawner = &ctl->spawner;
        fprintf(stderr,
                "cellvm: --landlock: the VMM is restricted to %zu paths (Landlock ABI %d%s); "
                "children start from its spawner (pid %d)\n",
                rules->n, r, r < SBX_LL_TARGET_ABI ? ", fewer rights than ABI 3 handled" : "",
                (int)ctl->spawner.pid);
        r = 0;
    }
    landlock_rules_free(rules);
    free(rules);
    return r;
}
