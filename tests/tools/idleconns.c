/*
 * idleconns: open N TCP connections to HOST:PORT that send nothing (or one
 * byte per second with -s), and report how many the peer closed within
 * SECONDS.  For the handshake-deadline and EMFILE tests.
 *
 *   idleconns [-s] N HOST:PORT SECONDS
 *
 * Prints "opened A closed B refused C" and exits 0.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct pollfd *pfd;
	struct rlimit rl;
	time_t end, last_drip = 0;
	int slow = 0, n, i, opened = 0, closed = 0, refused = 0, secs, open_now;
	char *colon, buf[64];

	if (argc > 1 && strcmp(argv[1], "-s") == 0) {
		slow = 1;
		argv++;
		argc--;
	}
	if (argc != 4 || (colon = strrchr(argv[2], ':')) == NULL) {
		fprintf(stderr, "usage: idleconns [-s] N HOST:PORT SECONDS\n");
		return (2);
	}
	n = atoi(argv[1]);
	secs = atoi(argv[3]);
	*colon = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	if (n <= 0 || n > 19000 || inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1)
		return (2);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((pfd = calloc((size_t)n, sizeof(*pfd))) == NULL)
		return (2);
	for (i = 0; i < n; i++) {
		pfd[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0 || connect(pfd[i].fd, (struct sockaddr *)&sin,
		    sizeof(sin))) {
			if (pfd[i].fd >= 0)
				close(pfd[i].fd);
			pfd[i].fd = -1;
			refused++;
			continue;
		}
		opened++;
	}
	end = time(NULL) + secs;
	open_now = opened;
	while (open_now > 0 && time(NULL) < end) {
		if (slow && time(NULL) != last_drip) {
			last_drip = time(NULL);
			for (i = 0; i < n; i++)
				if (pfd[i].fd >= 0)
					(void)send(pfd[i].fd, "x", 1, MSG_NOSIGNAL);
		}
		if (poll(pfd, (nfds_t)n, 200) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (read(pfd[i].fd, buf, sizeof(buf)) <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				closed++;
				open_now--;
			}
		}
	}
	printf("opened %d closed %d refused %d\n", opened, closed, refused);
	fflush(stdout);
	for (i = 0; i < n; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	free(pfd);
	return (0);
}
