#ifndef CELLVM_CORE_CLI_CLI_RESTORE_H
#define CELLVM_CORE_CLI_CLI_RESTORE_H

#include <stdbool.h>
#include <stddef.h>

#include "devspec/optparse.h"

#define CLI_RESTORE_MAX_NETS 8 /* net_fds entries */

/* One net_fds entry: the net of config.json with that id uses these inherited TAP fds. */
struct cli_restore_net {
    char *id; /* owned */
    struct optparse_u32_list fds;
};

/* --restore source_url=file:///dir[,prefault=on][,net_fds=[net0@[23,24],...]] (issue 18), Cloud
 * Hypervisor's RestoreConfig syntax. */
struct cli_restore {
    bool present;
    char *source_url; /* owned */
    bool prefault;
    struct cli_restore_net *nets; /* owned, nnets of them */
    size_t nnets;
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
