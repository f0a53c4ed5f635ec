#ifndef BROKER_TABLE_H
#define BROKER_TABLE_H

/*
 * A compact open-addressing hash table of pointers, keyed by a 32-byte keyed
 * hash stored inside each element (at ${key_off}).  The keys are already
 * uniformly random (keyed BLAKE2b), so their first bytes are the bucket
 * index.  Linear probing, deletion by backward shift, no tombstones; one
 * pointer per slot, at most half full.
 */

#include <stddef.h>
#include <stdint.h>

struct table {
	void **slot;
	size_t cap;		/* a power of two, or 0 */
	size_t count;
	size_t key_off;		/* offset of the 32-byte key in an element */
};

/**
 * table_init(t, key_off):
 * Make ${t} an empty table of elements whose key is at ${key_off}.
 */
void table_init(struct table *t, size_t key_off);

/**
 * table_get(t, key):
 * Return the element with key ${key}, or NULL.
 */
void *table_get(const struct table *t, const uint8_t key[32]);

/**
 * table_put(t, elem):
 * Insert ${elem} (its key must not be in the table).  Return 0, or -1 if
 * memory ran out.
 */
int table_put(struct table *t, void *elem);

/**
 * table_del(t, elem):
 * Remove ${elem} if it is in the table.
 */
void table_del(struct table *t, void *elem);

/**
 * table_at(t, i):
 * The element in slot ${i} (< t->cap), or NULL: for sweeps.
 */
void *table_at(const struct table *t, size_t i);

/**
 * table_free(t):
 * Free the slots (not the elements).
 */
void table_free(struct table *t);

#endif
