#include <criterion/criterion.h>

#include "core/vm/serial.h"

struct sink {
    int irq;
    int irq_changes;
    uint8_t out[256];
    size_t nout;
};

static void s_irq(void *opaque, int level)
{
    struct sink *k = opaque;

    k->irq = level;
    k->irq_changes++;
}

static void s_tx(void *opaque, uint8_t b)
{
    struct sink *k = opaque;

    if (k->nout < sizeof(k->out))
        k->out[k->nout++] = b;
}

static struct serial uart;
static struct sink sink;

static void setup(void)
{
    struct serial_io io = { .set_irq = s_irq, .tx = s_tx, .opaque = &sink };

    memset(&sink, 0, sizeof(sink));
    cr_assert_eq(serial_init(&uart, &io), 0);
}

static void teardown(void)
{
    serial_destroy(&uart);
}

TestSuite(serial, .init = setup, .fini = teardown);

Test(serial, transmit_and_lsr)
{
    serial_write(&uart, 0, 'h');
    serial_write(&uart, 0, 'i');
    cr_assert_eq(sink.nout, 2);
    cr_assert_eq(memcmp(sink.out, "hi", 2), 0);
    cr_assert_eq(serial_read(&uart, 5), 0x60, "THRE|TEMT, no data");
    cr_assert_eq(sink.irq, 0, "no interrupt without IER");
}

Test(serial, divisor_latch)
{
    serial_write(&uart, 3, 0x80);
    serial_write(&uart, 0, 0x01);
    serial_write(&uart, 1, 0x02);
    cr_assert_eq(sink.nout, 0, "DLL write is not output");
    cr_assert_eq(serial_read(&uart, 0), 0x01);
    cr_assert_eq(serial_read(&uart, 1), 0x02);
    serial_write(&uart, 3, 0x03);
    cr_assert_eq(serial_read(&uart, 1), 0x00, "IER again");
    cr_assert_eq(serial_read(&uart, 3), 0x03);
}

Test(serial, probe_registers_like_linux)
{
    serial_write(&uart, 7, 0xa5);
    cr_assert_eq(serial_read(&uart, 7), 0xa5);
    serial_write(&uart, 1, 0xff);
    cr_assert_eq(serial_read(&uart, 1), 0x0f, "IER keeps 4 bits");
    serial_write(&uart, 1, 0);
    serial_write(&uart, 2, 0xe7);
    cr_assert_eq(serial_read(&uart, 2) & 0xc0, 0xc0, "16550A FIFO bits");
    serial_write(&uart, 2, 0x00);
    cr_assert_eq(serial_read(&uart, 2) & 0xc0, 0x00);
    cr_assert_eq(serial_read(&uart, 6) & 0xf0, 0xb0, "DCD|DSR|CTS");
}

Test(serial, loopback)
{
    serial_write(&uart, 4, 0x10 | 0x0a);
    cr_assert_eq(serial_read(&uart, 6) & 0xf0, 0x90, "OUT2->DCD, RTS->CTS");
    serial_write(&uart, 4, 0x10 | 0x05);
    cr_assert_eq(serial_read(&uart, 6) & 0xf0, 0x60, "DTR->DSR, OUT1->RI");
    serial_write(&uart, 0, 0x42);
    cr_assert_eq(sink.nout, 0, "loopback does not transmit");
    cr_assert_eq(serial_read(&uart, 5) & 1, 1);
    cr_assert_eq(serial_read(&uart, 0), 0x42);
    cr_assert_eq(serial_read(&uart, 5) & 1, 0);
}

Test(serial, modem_status_deltas)
{
    serial_write(&uart, 4, 0x10);
    (void)serial_read(&uart, 6);
    serial_write(&uart, 4, 0x10 | 0x02);
    cr_assert_eq(serial_read(&uart, 6), 0x10 | 0x01, "CTS with delta");
    cr_assert_eq(serial_read(&uart, 6), 0x10, "delta cleared by read");
}

Test(serial, thre_interrupt)
{
    serial_write(&uart, 1, 0x02);
    cr_assert_eq(sink.irq, 1, "enabling THRI with THR empty interrupts");
    cr_assert_eq(serial_read(&uart, 2) & 0x0f, 0x02);
    cr_assert_eq(sink.irq, 0, "IIR read acknowledges THRE");
    cr_assert_eq(serial_read(&uart, 2) & 0x0f, 0x01);
    serial_write(&uart, 0, 'x');
    cr_assert_eq(sink.irq, 1, "THR empty again after transmit");
    serial_write(&uart, 1, 0);
    cr_assert_eq(sink.irq, 0);
}

Test(serial, receive_fifo_and_priority)
{
    uint8_t buf[SERIAL_RX_FIFO + 8];
    size_t i;

    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)i;
    cr_assert_eq(serial_rx_push(&uart, buf, sizeof(buf)), SERIAL_RX_FIFO, "bounded");
    cr_assert_eq(serial_rx_push(&uart, buf, 1), 0);
    cr_assert_eq(sink.irq, 0);
    serial_write(&uart, 1, 0x03);
    cr_assert_eq(sink.irq, 1);
    cr_assert_eq(serial_read(&uart, 2) & 0x0f, 0x04, "RDA outranks THRE");
    for (i = 0; i < SERIAL_RX_FIFO; i++)
        cr_assert_eq(serial_read(&uart, 0), (uint8_t)i);
    cr_assert_eq(serial_read(&uart, 2) & 0x0f, 0x02, "then THRE");
    cr_assert_eq(serial_read(&uart, 2) & 0x0f, 0x01);
    cr_assert_eq(sink.irq, 0);
    cr_assert_eq(serial_read(&uart, 0), 0, "empty FIFO reads 0");
}

Test(serial, overrun_in_loopback)
{
    unsigned int i;

    serial_write(&uart, 4, 0x10);
    for (i = 0; i <= SERIAL_RX_FIFO; i++)
        serial_write(&uart, 0, (uint8_t)i);
    cr_assert_eq(serial_read(&uart, 5) & 0x03, 0x03, "DR|OE");
    cr_assert_eq(serial_read(&uart, 5) & 0x02, 0x00, "OE clears on read");
    serial_write(&uart, 2, 0x03);
    cr_assert_eq(serial_read(&uart, 5) & 0x01, 0, "FCR clears the FIFO");
}

Test(serial, reset)
{
    uint8_t b = 'a';

    serial_rx_push(&uart, &b, 1);
    serial_write(&uart, 1, 0x01);
    cr_assert_eq(sink.irq, 1);
    serial_reset(&uart);
    cr_assert_eq(sink.irq, 0);
    cr_assert_eq(serial_read(&uart, 1), 0);
    cr_assert_eq(serial_read(&uart, 5) & 1, 0);
}

Test(serial, rx_wait_space_stops)
{
    bool stop = false;
    uint8_t buf[SERIAL_RX_FIFO] = { 0 };

    cr_assert_eq(serial_rx_wait_space(&uart, &stop), SERIAL_RX_FIFO);
    serial_rx_push(&uart, buf, 10);
    cr_assert_eq(serial_rx_wait_space(&uart, &stop), SERIAL_RX_FIFO - 10);
    serial_wake(&uart, &stop);
    cr_assert_eq(serial_rx_wait_space(&uart, &stop), 0);
}
