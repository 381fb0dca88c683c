#include "device-procs/devproc_sys.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>

int devproc_sys_no_new_privs(void)
{
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int devproc_sys_set_dumpable(int on)
{
    return prctl(PR_SET_DUMPABLE, on, 0, 0, 0) < 0 ? -errno : 0;
}

int devproc_sys_pdeathsig(void)
{
    return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ? -errno : 0;
}
