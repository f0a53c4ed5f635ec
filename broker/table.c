#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "table.h"

void
table_init(struct table *t, size_t key_off)
{
	memset(t, 0, sizeof(*t));
	t->key_off = key_off;
}

static const uint8_t *
table_key(const struct table *t, const void *elem)
{
	return ((const uint8_t *)elem + t->key_off);
}

static size_t
table_home(const struct table *t, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return ((size_t)h & (t->cap - 1));
}

void *
table_get(const struct table *t, const uint8_t key[32])
{
	size_t i;

	if (t->cap == 0)
		return (NULL);
	for (i = table_home(t, key); t->slot[i] != NULL;
	    i = (i + 1) & (t->cap - 1))
		if (crypto_verify_32(table_key(t, t->slot[i]), key) == 0)
			return (t->slot[i]);
	return (NULL);
}

static void
table_insert(struct table *t, void *elem)
{
	size_t i = table_home(t, table_key(t, elem));

	while (t->slot[i] != NULL)
		i = (i + 1) & (t->cap - 1);
	t->slot[i] = elem;
	t->count++;
}

static int
table_grow(struct table *t)
{
	void **old = t->slot;
	size_t oldcap = t->cap, i;

	t->cap = oldcap ? oldcap * 2 : 64;
	if ((t->slot = calloc(t->cap, sizeof(*t->slot))) == NULL) {
		t->slot = old;
		t->cap = oldcap;
		return (-1);
	}
	t->count = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i] != NULL)
			table_insert(t, old[i]);
	free(old);
	return (0);
}

int
table_put(struct table *t, void *elem)
{
	if ((t->count + 1) * 2 > t->cap && table_grow(t))
		return (-1);
	table_insert(t, elem);
	return (0);
}

void
table_del(struct table *t, void *elem)
{
	size_t i, j, home;

	if (t->cap == 0)
		return;
	for (i = table_home(t, table_key(t, elem)); t->slot[i] != elem;
	    i = (i + 1) & (t->cap - 1))
		if (t->slot[i] == NULL)
			return;
	/* Backward shift: pull later members of the run into the hole. */
	j = i;
	for (;;) {
		t->slot[i] = NULL;
		for (;;) {
			j = (j + 1) & (t->cap - 1);
			if (t->slot[j] == NULL) {
				t->count--;
				return;
			}
			home = table_home(t, table_key(t, t->slot[j]));
			/* Can slot[j] move to i?  Only if home is not in (i, j]. */
			if (i <= j ? (home <= i || home > j) :
			    (home <= i && home > j))
				break;
		}
		t->slot[i] = t->slot[j];
		i = j;
	}
}

void *
table_at(const struct table *t, size_t i)
{
	return (i < t->cap ? t->slot[i] : NULL);
}

void
table_free(struct table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = t->count = 0;
}
