#include "validate_util.h"

#include <errno.h>
#include <string.h>

int pb_fail(const char **why, const char *field)
{
    *why = field;
    return -EINVAL;
}

bool pb_text_ok(const char *s, size_t max, bool allow_empty, bool allow_tab)
{
    size_t n;

    if (!s)
        return allow_empty;
    n = strnlen(s, max + 1);
    if (n > max || (n == 0 && !allow_empty))
        return false;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] < 0x20 && !(allow_tab && s[i] == '\t')) ||
            (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}
