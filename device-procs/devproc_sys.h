#ifndef CELLVM_DEVICE_PROCS_DEVPROC_SYS_H
#define CELLVM_DEVICE_PROCS_DEVPROC_SYS_H

/* prctl wrappers of the interim jail (devproc_jail.c), kept apart for the sandbox profile. */

int devproc_sys_no_new_privs(void);
int devproc_sys_set_dumpable(int on);
/* SIGKILL when the parent dies (controller mode only). */
int devproc_sys_pdeathsig(void);

#endif
