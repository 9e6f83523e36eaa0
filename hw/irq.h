/* Interrupt lines: a device raises or lowers a line; what is on the other end
 * (PIC input, board router, test probe) is the owner's business. */
#ifndef HW_IRQ_H
#define HW_IRQ_H

typedef void (*irq_handler_fn)(void *opaque, int n, int level);

struct irq {
    irq_handler_fn handler;
    void *opaque;
    int n;
};

static inline void irq_init(struct irq *irq, irq_handler_fn fn, void *opaque, int n)
{
    irq->handler = fn;
    irq->opaque = opaque;
    irq->n = n;
}

static inline void irq_set(struct irq *irq, int level)
{
    if (irq && irq->handler)
        irq->handler(irq->opaque, irq->n, level);
}

static inline void irq_raise(struct irq *irq) { irq_set(irq, 1); }
static inline void irq_lower(struct irq *irq) { irq_set(irq, 0); }
/* An edge for edge-triggered inputs: high then low. */
static inline void irq_pulse(struct irq *irq) { irq_set(irq, 1); irq_set(irq, 0); }

#endif
