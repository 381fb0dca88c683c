/* The pure half of sandbox/landlock.h: rights per ABI (unit-tested). */
#include "sandbox/landlock.h"

#include <linux/landlock.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* ABI 1's thirteen rights. */
#define LL_ABI1_ALL ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

#define LL_READ \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)

/* Rights that mean something on a file; the others only on a directory. */
#define LL_FILE_RIGHTS                                                                           \
    (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
     LANDLOCK_ACCESS_FS_TRUNCATE)

uint64_t sbx_ll_handled(int abi)
{
    uint64_t h;

    if (abi < 1)
        return 0;
    h = LL_ABI1_ALL;
    if (abi >= 2)
        h |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        h |= LANDLOCK_ACCESS_FS_TRUNCATE;
    return h;
}

uint64_t sbx_ll_rights(unsigned access, int abi, bool is_dir)
{
    uint64_t handled = sbx_ll_handled(abi), r = 0;

    if (access & SBX_LL_READ)
        r |= LL_READ;
    if (access & SBX_LL_WRITE)
        r |= handled & ~LL_READ;
    r &= handled;
    return is_dir ? r : r & LL_FILE_RIGHTS;
}
