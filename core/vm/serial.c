#include "core/vm/serial.h"

#include <string.h>

/* Register offsets and bits, named after Linux's include/uapi/linux/serial_reg.h. */
enum {
    REG_RBR_THR_DLL = 0,
    REG_IER_DLM = 1,
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

#define IER_RDI      0x01
#define IER_THRI     0x02
#define IER_RLSI     0x04
#define IER_MSI      0x08

#define IIR_NO_INT   0x01
#define IIR_MSI      0x00
#define IIR_THRI     0x02
#define IIR_RDI      0x04
#define IIR_RLSI     0x06
#define IIR_FIFO_ON  0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB     0x80

#define MCR_DTR      0x01
#define MCR_RTS      0x02
#define MCR_OUT1     0x04
#define MCR_OUT2     0x08
#define MCR_LOOP     0x10
#define MCR_MASK     0x1f

#define LSR_DR       0x01
#define LSR_OE       0x02
#define LSR_THRE     0x20
#define LSR_TEMT     0x40

#define MSR_DCTS     0x01
#define MSR_DDSR     0x02
#define MSR_TERI     0x04
#define MSR_DDCD     0x08
#define MSR_CTS      0x10
#define MSR_DSR      0x20
#define MSR_RI       0x40
#define MSR_DCD      0x80

/* Modem status lines: in loopback they follow MCR, otherwise a connected modem. */
static uint8_t modem_lines(uint8_t mcr)
{
    uint8_t m = 0;

    if (!(mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    if (mcr & MCR_RTS)
        m |= MSR_CTS;
    if (mcr & MCR_DTR)
        m |= MSR_DSR;
    if (mcr & MCR_OUT1)
        m |= MSR_RI;
    if (mcr & MCR_OUT2)
        m |= MSR_DCD;
    return m;
}

static uint8_t pending_iir(const struct serial *s)
{
    if ((s->ier & IER_RLSI) && s->lsr_err)
        return IIR_RLSI;
    if ((s->ier & IER_RDI) && s->rx_count)
        return IIR_RDI;
    if ((s->ier & IER_THRI) && s->thr_ipending)
        return IIR_THRI;
    if ((s->ier & IER_MSI) && s->msr_delta)
        return IIR_MSI;
    return IIR_NO_INT;
}

static void update_irq(struct serial *s)
{
    int level = pending_iir(s) != IIR_NO_INT;

    /* In loopback the interrupt is not wired to the outside, as on the real part. */
    if (s->mcr & MCR_LOOP)
        level = 0;
    if (level != s->irq_level) {
        s->irq_level = level;
        if (s->io.set_irq)
            s->io.set_irq(s->io.opaque, level);
    }
}

static bool rx_put(struct serial *s, uint8_t byte)
{
    if (s->rx_count == SERIAL_RX_FIFO)
        return false;
    s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = byte;
    s->rx_count++;
    return true;
}

static void regs_reset(struct serial *s)
{
    s->ier = 0;
    s->lcr = 0x03; /* 8N1 */
    s->mcr = MCR_OUT2;
    s->fcr = 0;
    s->scr = 0;
    s->dll = 0x0c; /* 9600 baud */
    s->dlm = 0;
    s->lsr_err = 0;
    s->msr_delta = 0;
    s->thr_ipending = false;
    s->rx_head = 0;
    s->rx_count = 0;
}

int serial_init(struct serial *s, const struct serial_io *io)
{
    int r;

    memset(s, 0, sizeof(*s));
    s->io = *io;
    r = pthread_mutex_init(&s->lock, NULL);
    if (r)
        return -r;
    r = pthread_cond_init(&s->rx_space, NULL);
    if (r) {
        pthread_mutex_destroy(&s->lock);
        return -r;
    }
    regs_reset(s);
    return 0;
}

void serial_destroy(struct serial *s)
{
    pthread_cond_destroy(&s->rx_space);
    pthread_mutex_destroy(&s->lock);
}

void serial_reset(struct serial *s)
{
    pthread_mutex_lock(&s->lock);
    regs_reset(s);
    update_irq(s);
    pthread_cond_broadcast(&s->rx_space);
    pthread_mutex_unlock(&s->lock);
}

void serial_sync_irq(struct serial *s)
{
    pthread_mutex_lock(&s->lock);
    s->irq_level = -1; /* unknown: the line is driven to what the registers say */
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

static uint8_t read_locked(struct serial *s, uint8_t off)
{
    uint8_t v, iir;

    switch (off) {
    case REG_RBR_THR_DLL:
        if (s->lcr & LCR_DLAB)
            return s->dll;
        if (!s->rx_count)
            return 0;
        v = s->rx[s->rx_head];
        s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
        if (s->rx_count-- == SERIAL_RX_FIFO)
            pthread_cond_broadcast(&s->rx_space);
        return v;
    case REG_IER_DLM:
        return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
    case REG_IIR_FCR:
        iir = pending_iir(s);
        /* Reading IIR while it reports THRE acknowledges that cause (16550 datasheet). */
        if (iir == IIR_THRI)
            s->thr_ipending = false;
        return iir | ((s->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0);
    case REG_LCR:
        return s->lcr;
    case REG_MCR:
        return s->mcr;
    case REG_LSR:
        v = LSR_THRE | LSR_TEMT | s->lsr_err | (s->rx_count ? LSR_DR : 0);
        s->lsr_err = 0;
        return v;
    case REG_MSR:
        v = modem_lines(s->mcr) | s->msr_delta;
        s->msr_delta = 0;
        return v;
    case REG_SCR:
        return s->scr;
    default:
        return 0xff;
    }
}

static void write_mcr(struct serial *s, uint8_t val)
{
    uint8_t before = modem_lines(s->mcr), after;

    s->mcr = val & MCR_MASK;
    after = modem_lines(s->mcr);
    if ((before ^ after) & MSR_CTS)
        s->msr_delta |= MSR_DCTS;
    if ((before ^ after) & MSR_DSR)
        s->msr_delta |= MSR_DDSR;
    if ((before ^ after) & MSR_DCD)
        s->msr_delta |= MSR_DDCD;
    if ((before & MSR_RI) && !(after & MSR_RI))
        s->msr_delta |= MSR_TERI;
}

static void write_locked(struct serial *s, uint8_t off, uint8_t val)
{
    switch (off) {
    case REG_RBR_THR_DLL:
        if (s->lcr & LCR_DLAB) {
            s->dll = val;
        } else if (s->mcr & MCR_LOOP) {
            if (!rx_put(s, val))
                s->lsr_err |= LSR_OE;
            s->thr_ipending = true;
        } else {
            if (s->io.tx)
                s->io.tx(s->io.opaque, val);
            /* The byte left at once, so THR is empty again. */
            s->thr_ipending = true;
        }
        break;
    case REG_IER_DLM:
        if (s->lcr & LCR_DLAB) {
            s->dlm = val;
        } else {
            /* Enabling THRI while THR is empty raises it right away. */
            if (!(s->ier & IER_THRI) && (val & IER_THRI))
                s->thr_ipending = true;
            s->ier = val & 0x0f;
        }
        break;
    case REG_IIR_FCR:
        if (((val ^ s->fcr) & FCR_ENABLE) || (val & FCR_CLEAR_RX)) {
            s->rx_head = 0;
            s->rx_count = 0;
            pthread_cond_broadcast(&s->rx_space);
        }
        s->fcr = val & 0xc9;
        break;
    case REG_LCR:
        s->lcr = val;
        break;
    case REG_MCR:
        write_mcr(s, val);
        break;
    case REG_SCR:
        s->scr = val;
        break;
    default: /* LSR and MSR are read-only */
        break;
    }
}

uint8_t serial_read(struct serial *s, uint8_t off)
{
    uint8_t v;

    pthread_mutex_lock(&s->lock);
    v = read_locked(s, off);
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return v;
}

void serial_write(struct serial *s, uint8_t off, uint8_t val)
{
    pthread_mutex_lock(&s->lock);
    write_locked(s, off, val);
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
}

size_t serial_rx_push(struct serial *s, const uint8_t *buf, size_t n)
{
    size_t done = 0;

    pthread_mutex_lock(&s->lock);
    /* Input is dropped in loopback mode, like a disconnected line. */
    while (done < n && !(s->mcr & MCR_LOOP) && rx_put(s, buf[done]))
        done++;
    update_irq(s);
    pthread_mutex_unlock(&s->lock);
    return done;
}

size_t serial_rx_wait_space(struct serial *s, const bool *stop)
{
    size_t space;

    pthread_mutex_lock(&s->lock);
    while (!*stop && s->rx_count == SERIAL_RX_FIFO)
        pthread_cond_wait(&s->rx_space, &s->lock);
    space = *stop ? 0 : SERIAL_RX_FIFO - s->rx_count;
    pthread_mutex_unlock(&s->lock);
    return space;
}

void serial_wake(struct serial *s, bool *stop)
{
    pthread_mutex_lock(&s->lock);
    *stop = true;
    pthread_cond_broadcast(&s->rx_space);
    pthread_mutex_unlock(&s->lock);
}

static void bus_serial_read(void *opaque, uint64_t off, uint32_t len, uint64_t *val)
{
    if (len == 1 && off < SERIAL_NR_PORTS)
        *val = serial_read(opaque, (uint8_t)off);
}

static void bus_serial_write(void *opaque, uint64_t off, uint32_t len, uint64_t val)
{
    if (len == 1 && off < SERIAL_NR_PORTS)
        serial_write(opaque, (uint8_t)off, (uint8_t)val);
}

const struct bus_ops serial_bus_ops = {
    .read = bus_serial_read,
    .write = bus_serial_write,
};
