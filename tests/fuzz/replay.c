/*
 * Corpus replay without libFuzzer: link a fuzz target with this file (any
 * compiler, ideally with -fsanitize=address,undefined) and run
 *
 *     replay DIR_OR_FILE...
 *
 * Every regular file named (directly, or inside a directory named, one
 * level deep, in name order) is passed once to LLVMFuzzerTestOneInput.  A
 * crash or a sanitizer report ends the run; an abort (a broken FUZZ_CHECK,
 * or a sanitizer report with ASAN_OPTIONS/UBSAN_OPTIONS abort_on_error=1)
 * also names the input on stderr.  Otherwise the last line on stdout is
 * "N inputs" and the exit status is 0 (1 if a path cannot be read, or if
 * nothing was run at all).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static const char *volatile current;

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	long len;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return (-1);
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		fclose(f);
		return (-1);
	}
	/* Exactly the input's size, so that ASan sees any over-read. */
	if ((buf = malloc(len > 0 ? (size_t)len : 1)) == NULL) {
		fclose(f);
		return (-1);
	}
	n = fread(buf, 1, (size_t)len, f);
	fclose(f);
	if (n != (size_t)len) {
		fprintf(stderr, "%s: short read\n", path);
		free(buf);
		return (-1);
	}
	current = path;
	(void)LLVMFuzzerTestOneInput(buf, n);
	current = NULL;
	free(buf);
	return (0);
}

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
replay_dir(const char *dir, unsigned long *count)
{
	struct dirent *de;
	struct stat st;
	char **names = NULL, **more, path[4096];
	size_t n = 0, cap = 0, i;
	DIR *d;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		return (-1);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if ((more = realloc(names, cap * sizeof(*names))) ==
			    NULL)
				abort();
			names = more;
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(path) != 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return (rc);
}

static void
on_abort(int sig)
{
	static const char msg[] = "replay: input that failed: ";
	const char *name = current;

	if (name != NULL) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)!write(STDERR_FILENO, name, strlen(name));
		(void)!write(STDERR_FILENO, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int
main(int argc, char **argv)
{
	struct stat st;
	unsigned long count = 0;
	int i, rc = 0;

	signal(SIGABRT, on_abort);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			rc = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (replay_dir(argv[i], &count) != 0)
				rc = 1;
		} else if (replay_file(argv[i]) != 0)
			rc = 1;
		else
			count++;
	}
	printf("%lu inputs\n", count);
	return (rc != 0 || count == 0 ? 1 : 0);
}
