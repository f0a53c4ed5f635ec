#include <errno.h>
#include <stdio.h>

#include <qrencode.h>

#include "qr.h"

/* The specification asks for 4 modules of quiet zone; scanners need it. */
#define QR_QUIET 4

/* Whether the module at ${x},${y} is dark; the quiet zone is light. */
static int
qr_dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return (0);
	return (q->data[y * q->width + x] & 1);
}

int
qr_print(FILE *f, const char *text)
{
	/* Indexed by top dark * 2 + bottom dark: light modules are drawn. */
	static const char *const cell[4] = {
		"\u2588", "\u2580", "\u2584", " "
	};
	QRcode *q;
	int x, y, size;

	if ((q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) ==
	    NULL)
		return (-1);
	size = q->width + 2 * QR_QUIET;
	for (y = 0; y < size; y += 2) {
		for (x = 0; x < size; x++)
			fputs(cell[qr_dark(q, x, y) * 2 +
			    (y + 1 < size ? qr_dark(q, x, y + 1) : 0)], f);
		fputc('\n', f);
	}
	QRcode_free(q);
	return (ferror(f) ? -1 : 0);
}
