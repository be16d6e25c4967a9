/*
 * echo — the physical ceiling for `make bench`: a bare UDP "DNS server" that
 * answers every query with the query itself, QR flipped on. One thread, one
 * socket, recvmmsg/sendmmsg batches, pinned to one CPU. No parsing, no lookup:
 * what a server can reach through this kernel's UDP path on this machine.
 *
 * usage: echo [-a ADDR] -p PORT [-c CPU] [-b BATCH]
 * Runs until killed (SIGTERM/SIGINT).
 */
#include <errno.h>
#include <getopt.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_BATCH 256
#define BUF_SIZE  4096
#define SOCK_BUF  (4 * 1024 * 1024)
#define FLAG_QR   0x80

static void die_errno(const char *what)
{
	fprintf(stderr, "echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: echo [-a ADDR] -p PORT [-c CPU] [-b BATCH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t bufs[MAX_BATCH][BUF_SIZE];
	static struct sockaddr_in peers[MAX_BATCH];
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	struct sockaddr_in addr;
	const char *host = "127.0.0.1";
	int port = 0, cpu = -1, batch = 64, size = SOCK_BUF, fd, c, i;

	while ((c = getopt(argc, argv, "a:p:c:b:h")) != -1) {
		switch (c) {
		case 'a':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (port <= 0 || port > 65535 || batch < 1 || batch > MAX_BATCH) {
		usage();
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0) {
			die_errno("sched_setaffinity");
		}
	}

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "echo: -a wants an IPv4 address\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		die_errno("socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		die_errno("bind");
	}

	for (;;) {
		int n, sent;

		for (i = 0; i < batch; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = BUF_SIZE;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_name = &peers[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		/* Block for the first datagram, then take what else is queued. */
		n = recvmmsg(fd, msgs, (unsigned int)batch, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			die_errno("recvmmsg");
		}
		for (i = 0; i < n; i++) {
			iov[i].iov_len = msgs[i].msg_len;
			if (msgs[i].msg_len >= 3) {
				bufs[i][2] |= FLAG_QR;
			}
		}
		for (i = 0; i < n; i += sent) {
			sent = sendmmsg(fd, msgs + i, (unsigned int)(n - i), 0);
			if (sent <= 0) {
				break; /* a full send buffer drops the rest, as a server would */
			}
		}
	}
}
