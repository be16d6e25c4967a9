#include "server/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/err.h"
#include "dns/log.h"

volatile int net_stopping;

static void addr_str(const struct sockaddr_storage *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
		inet_ntop(AF_INET, &a4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a4->sin_port));
	} else {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
		inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(a6->sin6_port));
	}
}

static int open_socket(const conf_listener_t *l, int type)
{
	char where[INET6_ADDRSTRLEN + 16];
	int one = 1;
	int fd = socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (type == SOCK_DGRAM) {
		int size = 4 << 20;
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		}
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		}
	}
	if (l->addr.ss_family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 1024) != 0)) {
		int err = -errno;
		addr_str(&l->addr, where, sizeof(where));
		log_err("net", "cannot listen on %s/%s: %s", where,
			type == SOCK_DGRAM ? "udp" : "tcp", strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

int net_open(net_sockets_t *s, const conf_t *conf, int nworkers)
{
	int n = conf->nlisteners;
	memset(s, 0, sizeof(*s));
	s->nlisteners = n;
	s->nworkers = nworkers;
	s->udp = malloc(sizeof(int) * (size_t)(n * nworkers + 1));
	s->tcp = malloc(sizeof(int) * (size_t)(n + 1));
	s->port = calloc((size_t)n + 1, sizeof(uint16_t));
	s->tls = calloc((size_t)n + 1, sizeof(bool));
	if (s->udp == NULL || s->tcp == NULL || s->port == NULL || s->tls == NULL) {
		net_close(s);
		return -ENOMEM;
	}
	for (int i = 0; i < n * nworkers; i++) {
		s->udp[i] = -1;
	}
	for (int i = 0; i < n; i++) {
		s->tcp[i] = -1;
	}
	for (int i = 0; i < n; i++) {
		const conf_listener_t *l = &conf->listeners[i];
		char where[INET6_ADDRSTRLEN + 16];
		s->port[i] = conf->views[l->view].port;
		s->tls[i] = l->tls;
		for (int w = 0; w < nworkers && !l->tls; w++) {
			int fd = open_socket(l, SOCK_DGRAM);
			if (fd < 0) {
				net_close(s);
				return fd;
			}
			s->udp[w * n + i] = fd;
		}
		int fd = open_socket(l, SOCK_STREAM);
		if (fd < 0) {
			net_close(s);
			return fd;
		}
		s->tcp[i] = fd;
		addr_str(&l->addr, where, sizeof(where));
		log_info("net", "listening on %s%s", l->tls ? "tls://" : "", where);
	}
	return E_OK;
}

void net_close(net_sockets_t *s)
{
	for (int i = 0; s->udp != NULL && i < s->nlisteners * s->nworkers; i++) {
		if (s->udp[i] >= 0) {
			close(s->udp[i]);
		}
	}
	for (int i = 0; s->tcp != NULL && i < s->nlisteners; i++) {
		if (s->tcp[i] >= 0) {
			close(s->tcp[i]);
		}
	}
	free(s->udp);
	free(s->tcp);
	free(s->port);
	free(s->tls);
	memset(s, 0, sizeof(*s));
}
