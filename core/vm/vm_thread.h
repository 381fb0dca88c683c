/* The core's threads (vCPUs, queue workers, the serial reader, the control thread). */
#ifndef CELLVM_CORE_VM_VM_THREAD_H
#define CELLVM_CORE_VM_VM_THREAD_H

#include <pthread.h>

/* A stack of 1 MiB: glibc's default (RLIMIT_STACK, 8 MiB) is a mapping the kernel backs with a
 * transparent huge page where THP is "always", 2 MiB resident per thread for a few KiB of
 * stack; a mapping below 2 MiB never gets one. Nothing in the core recurses or keeps large
 * arrays on its stack. */
#define VM_THREAD_STACK (1u << 20)

/* pthread_create with that stack. 0 or -errno. */
int vm_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif
