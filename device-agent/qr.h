#ifndef AGENT_QR_H
#define AGENT_QR_H

/*
 * A QR code in the terminal, so that an owner can open the IFTTT link on the
 * phone where IFTTT runs (libqrencode does the encoding).
 */

#include <stdio.h>

/**
 * qr_print(f, text):
 * Write ${text} to ${f} as a QR code drawn with Unicode half blocks, two
 * rows of modules per line, light on dark so that it scans from a terminal
 * with a dark or a light background alike (the quiet zone is drawn).
 * Return 0, or -1 (errno) if it cannot be encoded.
 */
int qr_print(FILE *f, const char *text);

#endif
