#include "tests/bench/bench_cpu.h"

#include <dirent.h>
#include <stdio.h>

unsigned long long bench_proc_cpu_ns(pid_t pid)
{
    char path[320];
    unsigned long long sum = 0, v;
    struct dirent *de;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        FILE *f;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
        f = fopen(path, "r");
        if (f && fscanf(f, "%llu", &v) == 1)
            sum += v;
        if (f)
            fclose(f);
    }
    closedir(d);
    return sum;
}
