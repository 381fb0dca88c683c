#ifndef CELLVM_CORE_CLI_CLI_RESTORE_H
#define CELLVM_CORE_CLI_CLI_RESTORE_H

#include <stdbool.h>
#include <stddef.h>

/* --restore source_url=file:///dir[,prefault=on] (issue 18), Cloud Hypervisor's RestoreConfig
 * syntax; net_fds is known but not taken yet. */
struct cli_restore {
    bool present;
    char *source_url; /* owned */
    bool prefault;
};

int cli_restore_parse(const char *value, struct cli_restore *r, char *err, size_t errlen);
void cli_restore_free(struct cli_restore *r);

/*
 * The directory of a snapshot URL: "file:///abs/dir" gives "/abs/dir" (a pointer into url).
 * NULL with err when the scheme is not file:// or the path is not absolute, as Cloud
 * Hypervisor takes only local directories for snapshots.
 */
const char *cli_snapshot_dir(const char *what, const char *url, char *err, size_t errlen);

#endif
