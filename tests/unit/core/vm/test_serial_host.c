/* COM1's host side: the line-buffered output that coalesced writes allow (serial_host.h), on a
 * real pipe. No VM: vm_fd -1 (the UART raises no interrupt with IER 0). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/vm/serial_host.h"

static struct serial_host sh;
static struct log lg;
static int pfd[2];

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* as in the core: a gone reader is an error return */
    cr_assert_eq(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
    log_init(&lg, 2, 0);
    cr_assert_eq(serial_host_init(&sh, -1, -1, pfd[1], &lg), 0);
}

static void teardown(void)
{
    serial_host_destroy(&sh);
    if (pfd[0] >= 0)
        close(pfd[0]);
    close(pfd[1]);
}

TestSuite(serial_host, .init = setup, .fini = teardown);

static void put(const char *s)
{
    while (*s)
        serial_write(&sh.uart, 0, (uint8_t)*s++);
}

/* What the pipe holds now, as a string ("" when empty). */
static const char *drained(void)
{
    static char buf[1024];
    ssize_t n = read(pfd[0], buf, sizeof(buf) - 1);

    if (n < 0) {
        cr_assert_eq(errno, EAGAIN);
        n = 0;
    }
    buf[n] = 0;
    return buf;
}

Test(serial_host, unbuffered_writes_each_byte)
{
    put("a");
    cr_assert_str_eq(drained(), "a");
    put("bc");
    cr_assert_str_eq(drained(), "bc");
}

Test(serial_host, buffered_holds_a_line_until_its_newline)
{
    serial_host_set_buffered(&sh, true);
    put("ab");
    cr_assert_str_eq(drained(), "");
    put("\n");
    cr_assert_str_eq(drained(), "ab\n");
}

Test(serial_host, flush_writes_a_partial_line_once)
{
    serial_host_set_buffered(&sh, true);
    put("login: ");
    serial_host_tick(&sh);
    cr_assert_str_eq(drained(), "login: ");
    serial_host_flush(&sh);
    cr_assert_str_eq(drained(), "");
}

Test(serial_host, full_buffer_goes_out_and_turning_off_flushes)
{
    char line[SERIAL_HOST_OBUF + 45];

    memset(line, 'x', sizeof(line) - 1);
    line[sizeof(line) - 1] = 0;
    serial_host_set_buffered(&sh, true);
    put(line);
    cr_assert_eq(strlen(drained()), SERIAL_HOST_OBUF);
    serial_host_set_buffered(&sh, false);
    cr_assert_eq(strlen(drained()), 44);
    put("y");
    cr_assert_str_eq(drained(), "y");
}

Test(serial_host, destroy_flushes)
{
    serial_host_set_buffered(&sh, true);
    put("tail");
    serial_host_destroy(&sh);
    cr_assert_str_eq(drained(), "tail");
    cr_assert_eq(serial_host_init(&sh, -1, -1, pfd[1], &lg), 0); /* for teardown */
}

/* A full non-blocking pipe or a gone reader loses the output, as a real line would; the
 * guest's writes go on and nothing blocks. */
Test(serial_host, full_pipe_and_gone_reader_lose_output_without_blocking)
{
    char big[1024];
    int filled = 0;

    memset(big, 'z', sizeof(big));
    while (write(pfd[1], big, sizeof(big)) > 0)
        filled++;
    cr_assert_gt(filled, 0);
    serial_host_set_buffered(&sh, true);
    put("dropped\n");
    put("more");
    serial_host_flush(&sh);
    close(pfd[0]);
    pfd[0] = -1;
    put("to nobody\n");
    serial_host_flush(&sh);
}
