#include <string.h>

#include "wire.h"

void
wire_reader_init(struct wire_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = 0;
}

const uint8_t *
wire_get_bytes(struct wire_reader *r, size_t n)
{
	const uint8_t *q;

	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return (NULL);
	}
	q = r->p + r->off;
	r->off += n;
	return (q);
}

uint8_t
wire_get_u8(struct wire_reader *r)
{
	const uint8_t *q = wire_get_bytes(r, 1);

	return (q ? q[0] : 0);
}

uint16_t
wire_get_u16(struct wire_reader *r)
{
	const uint8_t *q = wire_get_bytes(r, 2);

	return (q ? wire_load_u16(q) : 0);
}

uint32_t
wire_get_u32(struct wire_reader *r)
{
	const uint8_t *q = wire_get_bytes(r, 4);

	return (q ? wire_load_u32(q) : 0);
}

int
wire_reader_end(const struct wire_reader *r)
{
	return (r->bad || r->off != r->len ? -1 : 0);
}

void
wire_writer_init(struct wire_writer *w, void *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->off = 0;
	w->bad = 0;
}

void
wire_put_bytes(struct wire_writer *w, const void *p, size_t n)
{
	if (w->bad || n > w->cap - w->off) {
		w->bad = 1;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->off, p, n);
	w->off += n;
}

void
wire_put_u8(struct wire_writer *w, uint8_t v)
{
	wire_put_bytes(w, &v, 1);
}

void
wire_put_u16(struct wire_writer *w, uint16_t v)
{
	uint8_t b[2];

	wire_store_u16(b, v);
	wire_put_bytes(w, b, 2);
}

void
wire_put_u32(struct wire_writer *w, uint32_t v)
{
	uint8_t b[4];

	wire_store_u32(b, v);
	wire_put_bytes(w, b, 4);
}

long
wire_writer_end(const struct wire_writer *w)
{
	return (w->bad ? -1 : (long)w->off);
}

void
wire_store_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
wire_store_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint16_t
wire_load_u16(const uint8_t *p)
{
	return ((uint16_t)((p[0] << 8) | p[1]));
}

uint32_t
wire_load_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}
