#include "core/vm/vm_thread.h"

int vm_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    pthread_attr_t at;
    int r = pthread_attr_init(&at);

    if (r)
        return -r;
    r = pthread_attr_setstacksize(&at, VM_THREAD_STACK);
    if (!r)
        r = pthread_create(t, &at, fn, arg);
    pthread_attr_destroy(&at);
    return -r;
}
