#ifndef AWTRIX_WIRE_H
#define AWTRIX_WIRE_H

/*
 * Bounded big-endian readers and writers for the messages of both protocols.
 * A read past the end or a write past the capacity sets ${bad}; callers check
 * once at the end, so that no field is ever used from outside its buffer.
 */

#include <stddef.h>
#include <stdint.h>

struct wire_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
	int bad;
};

struct wire_writer {
	uint8_t *p;
	size_t cap;
	size_t off;
	int bad;
};

void wire_reader_init(struct wire_reader *r, const void *p, size_t len);
uint8_t wire_get_u8(struct wire_reader *r);
uint16_t wire_get_u16(struct wire_reader *r);
uint32_t wire_get_u32(struct wire_reader *r);

/**
 * wire_get_bytes(r, n):
 * Return a pointer to the next ${n} bytes, or NULL (and mark ${r} bad) if
 * fewer remain.  With ${n} == 0 the result is a valid, empty pointer.
 */
const uint8_t *wire_get_bytes(struct wire_reader *r, size_t n);

/**
 * wire_reader_end(r):
 * Return 0 if every read was in bounds and the whole buffer was consumed,
 * else -1: a message is exactly as long as its fields.
 */
int wire_reader_end(const struct wire_reader *r);

void wire_writer_init(struct wire_writer *w, void *p, size_t cap);
void wire_put_u8(struct wire_writer *w, uint8_t v);
void wire_put_u16(struct wire_writer *w, uint16_t v);
void wire_put_u32(struct wire_writer *w, uint32_t v);
void wire_put_bytes(struct wire_writer *w, const void *p, size_t n);

/**
 * wire_writer_end(w):
 * Return the number of bytes written, or -1 if anything did not fit.
 */
long wire_writer_end(const struct wire_writer *w);

void wire_store_u16(uint8_t *p, uint16_t v);
void wire_store_u32(uint8_t *p, uint32_t v);
uint16_t wire_load_u16(const uint8_t *p);
uint32_t wire_load_u32(const uint8_t *p);

#endif
