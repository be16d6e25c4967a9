/*  signetd: the authoritative DNS server. */
#include <event2/event.h>
#include <event2/thread.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <urcu-qsbr.h>

#include "dns/err.h"
#include "dns/log.h"
#include "server/conf.h"
#include "server/http.h"
#include "server/net.h"
#include "server/state.h"
#include "server/tls.h"
#include "server/zoneconf.h"
#include "server/zonemgr.h"

#define SIGNET_VERSION "0.1.0"

static const char demo_zone[] = "$ORIGIN example.test.\n"
				"$TTL 3600\n"
				"@\tIN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
				"\tNS ns1\n"
				"\tNS ns2\n"
				"\tMX 10 mail\n"
				"\tA 192.0.2.1\n"
				"\tAAAA 2001:db8::1\n"
				"\tTXT \"Signet demo zone\"\n"
				"ns1\tA 192.0.2.53\n"
				"ns2\tA 192.0.2.54\n"
				"mail\tA 192.0.2.25\n"
				"www\tCNAME @\n"
				"*.apps\tA 192.0.2.80\n"
				"_dns._udp\tSRV 0 0 53 ns1\n";

struct options {
	const char *conf;
	const char *pidfile;
	uint16_t port;
	int workers;
	bool quiet, validate;
};

struct app {
	struct options opt;
	const char *conf_path; /* NULL: embedded */
	struct event_base *base;
	net_sockets_t sockets;
	udp_workers_t *udp;
	tcp_server_t *tcp;
	time_t conf_mtime;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: signetd [-conf FILE] [-dns.port PORT] [-workers N] [-pidfile FILE] "
		   "[-quiet] [-version] [-plugins] [-validate]\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-') {
			a++;
		}
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		char *eq = strchr(a, '=');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (eq != NULL) {
			val = eq + 1;
		}
		bool takes = strcmp(name, "-conf") == 0 || strcmp(name, "-dns.port") == 0 ||
			     strcmp(name, "-workers") == 0 || strcmp(name, "-pidfile") == 0;
		if (takes && val == NULL) {
			fprintf(stderr, "signetd: %s needs a value\n", name);
			return -1;
		}
		if (strcmp(name, "-conf") == 0) {
			o->conf = val;
		} else if (strcmp(name, "-dns.port") == 0) {
			long p = strtol(val, NULL, 10);
			if (p <= 0 || p > 65535) {
				fprintf(stderr, "signetd: bad port '%s'\n", val);
				return -1;
			}
			o->port = (uint16_t)p;
		} else if (strcmp(name, "-workers") == 0) {
			o->workers = atoi(val);
			if (o->workers <= 0 || o->workers > 256) {
				fprintf(stderr, "signetd: bad worker count '%s'\n", val);
				return -1;
			}
		} else if (strcmp(name, "-pidfile") == 0) {
			o->pidfile = val;
		} else if (strcmp(name, "-quiet") == 0) {
			o->quiet = true;
			continue;
		} else if (strcmp(name, "-validate") == 0) {
			o->validate = true;
			continue;
		} else if (strcmp(name, "-version") == 0) {
			printf("Signet-%s\n", SIGNET_VERSION);
			exit(0);
		} else if (strcmp(name, "-plugins") == 0) {
			printf("Server types:\n  dns\n\nOther plugins:\n");
			char list[512];
			snprintf(list, sizeof(list), "%s", conf_directives());
			for (char *s = strtok(list, " "); s != NULL; s = strtok(NULL, " ")) {
				printf("  dns.%s\n", s);
			}
			exit(0);
		} else if (strcmp(name, "-h") == 0 || strcmp(name, "-help") == 0) {
			usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "signetd: unknown flag '%s'\n", argv[i]);
			usage(stderr);
			return -1;
		}
		if (eq == NULL) {
			i++;
		}
	}
	return 0;
}

static int cpus_available(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
	}
	return 1;
}

/* The embedded demo zone, as a file the zone reader can open. */
static void setup_demo_zone(void)
{
	char path[64];
	int fd = memfd_create("example.test.zone", MFD_CLOEXEC);
	if (fd < 0 || write(fd, demo_zone, sizeof(demo_zone) - 1) < 0) {
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)getpid(), fd);
	setenv("SIGNET_DEMO_ZONE", path, 1);
}

static void print_error(void *ud, const char *file, int line, const char *msg)
{
	(void)ud;
	printf("%s:%d: %s\n", file, line, msg);
}

static void print_diag(void *ud, int level, const char *where, const char *msg)
{
	int *errors = ud;
	if (level <= LOG_ERR) {
		(*errors)++;
	}
	printf("%s%s%s%s\n", where ? where : "", where ? ": " : "",
	       level <= LOG_ERR ? "" : "warning: ", msg);
}

static int validate(const struct app *a)
{
	conf_t *c = NULL;
	int errors = 0;
	if (conf_check(&c, a->conf_path, a->opt.port, print_error, NULL, true) != E_OK) {
		errors++;
		/* Go on with the zones of what was accepted; nothing when it did not parse. */
		if (c == NULL) {
			return 1;
		}
	}
	zonemgr_set_max_records(c->limits.zone_records);
	for (int i = 0; i < c->nzones; i++) {
		zone_t *z = NULL;
		int zerr = 0;
		if (zonemgr_load(&c->zones[i], &z, print_diag, &zerr) != E_OK && zerr == 0) {
			printf("%s: cannot load zone %s\n", c->zones[i].where,
			       c->zones[i].apex_str);
			zerr++;
		}
		errors += zerr;
		zone_free(z);
	}
	conf_free(c);
	if (errors == 0) {
		printf("configuration is valid\n");
	}
	return errors == 0 ? 0 : 1;
}

/* Publish \a st, retire the previous state once no reader can see it. */
static void publish(server_state_t *st)
{
	server_state_t *old = rcu_xchg_pointer(&server_state, st);
	synchronize_rcu();
	state_free(old);
}

static bool listeners_equal(const conf_t *a, const conf_t *b)
{
	if (a->nlisteners != b->nlisteners) {
		return false;
	}
	for (int i = 0; i < a->nlisteners; i++) {
		if (a->listeners[i].addrlen != b->listeners[i].addrlen ||
		    memcmp(&a->listeners[i].addr, &b->listeners[i].addr, a->listeners[i].addrlen) !=
			    0) {
			return false;
		}
	}
	return true;
}

static time_t conf_mtime(const char *path)
{
	struct stat sb;
	return path != NULL && stat(path, &sb) == 0 ? sb.st_mtime : 0;
}

static void reload(struct app *a, const char *why)
{
	conf_t *c = NULL;
	server_state_t *st = NULL;
	log_info("signetd", "reloading (%s)", why);
	a->conf_mtime = conf_mtime(a->conf_path);
	if (conf_load(&c, a->conf_path, a->opt.port, NULL, NULL) != E_OK) {
		log_err("signetd", "reload: the configuration has errors; keeping the running one");
		return;
	}
	if (!listeners_equal(c, server_state->conf)) {
		log_warn("signetd", "reload: listening addresses changed; they take effect at the "
				    "next restart");
	}
	if (state_new(&st, c) != E_OK) {
		log_err("signetd", "reload: out of memory; keeping the running configuration");
		return;
	}
	int failed = zonemgr_start(st, server_state, a->base);
	zonemgr_stop(server_state);
	publish(st);
	log_info("signetd", "reload done%s", failed ? ", some zones failed (see above)" : "");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *a = arg;
	(void)what;
	if (sig == SIGHUP || sig == SIGUSR1) {
		reload(a, sig == SIGHUP ? "SIGHUP" : "SIGUSR1");
	} else {
		log_info("signetd", "stopping (%s)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		event_base_loopexit(a->base, NULL);
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct app *a = arg;
	static uint64_t ticks;
	(void)fd;
	(void)what;
	uint64_t every = server_state->conf->reload_ms / 200u;
	if (a->conf_path != NULL && every > 0 && ++ticks % every == 0 &&
	    conf_mtime(a->conf_path) != a->conf_mtime) {
		reload(a, "the Corefile changed");
	}
}

/* Room for every TCP connection "limits" allows, plus the rest. */
static void raise_nofile(uint32_t tcp_connections)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		return;
	}
	rlim_t want = (rlim_t)tcp_connections + 1024;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		if (rl.rlim_cur < want && geteuid() == 0) {
			rl.rlim_cur = rl.rlim_max = want;
		}
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* chown -R the folders the server writes (journals, keys) before becoming \a pw. */
static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	if (lchown(path, chown_uid, chown_gid) != 0) {
		log_warn("signetd", "user: cannot hand %s over: %s", path, strerror(errno));
	}
	return 0;
}

/* "user NAME": after the sockets are open, run as NAME (CoreDNS's and Knot's behaviour). */
static int drop_privileges(const conf_t *c)
{
	if (c->user[0] == '\0') {
		return 0;
	}
	struct passwd *pw = getpwnam(c->user);
	if (pw == NULL) {
		log_err("signetd", "user: no such user '%s'", c->user);
		return -1;
	}
	chown_uid = pw->pw_uid;
	chown_gid = pw->pw_gid;
	for (int i = 0; i < c->nblocks; i++) {
		const char *dir = c->zblocks[i].storage;
		if (mkdir(dir, 0750) == 0 || errno == EEXIST) {
			nftw(dir, chown_one, 16, FTW_PHYS);
		}
	}
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_err("signetd", "user: cannot become '%s': %s", c->user, strerror(errno));
		return -1;
	}
	log_info("signetd", "running as user %s (uid %u)", c->user, (unsigned)pw->pw_uid);
	return 0;
}

static void write_pidfile(const char *path)
{
	FILE *f = path != NULL ? fopen(path, "w") : NULL;
	if (f != NULL) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}

static int serve(struct app *a)
{
	conf_t *c = NULL;
	server_state_t *st = NULL;
	int ret = conf_load(&c, a->conf_path, a->opt.port, NULL, NULL);
	if (ret != E_OK) {
		log_err("signetd", "the configuration has errors, not starting");
		return 1;
	}
	a->conf_mtime = conf_mtime(a->conf_path);
	if (state_new(&st, c) != E_OK) {
		return 1;
	}
	int nworkers = a->opt.workers > 0 ? a->opt.workers : cpus_available();
	raise_nofile(st->conf->limits.tcp_connections);
	write_pidfile(a->opt.pidfile);
	if (net_open(&a->sockets, st->conf, nworkers) != E_OK || drop_privileges(st->conf) != 0) {
		net_close(&a->sockets);
		state_free(st);
		return 1;
	}
	evthread_use_pthreads();
	a->base = event_base_new();
	zonemgr_start(st, NULL, a->base);
	rcu_assign_pointer(server_state, st);

	struct event *sigs[4];
	int signums[4] = { SIGHUP, SIGUSR1, SIGTERM, SIGINT };
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(a->base, signums[i], on_signal, a);
		event_add(sigs[i], NULL);
	}
	struct event *tick = event_new(a->base, -1, EV_PERSIST, on_tick, a);
	struct timeval tv = { 0, 200000 };
	event_add(tick, &tv);
	signal(SIGPIPE, SIG_IGN);

	http_server_t *http = NULL; /* prometheus, health, ready */
	tls_server_t *tls = NULL;   /* DNS over TLS */
	if (udp_start(&a->udp, &a->sockets) != E_OK || tcp_start(&a->tcp, &a->sockets) != E_OK ||
	    tls_start(&tls, &a->sockets, st->conf) != E_OK) {
		log_err("signetd", "cannot start the serving threads");
		ret = 1;
	} else {
		if (http_start(&http, st->conf) != E_OK) {
			log_err("signetd", "serving DNS without the HTTP endpoints (see above)");
		}
		if (!a->opt.quiet) {
			log_info("signetd", "Signet-%s serving with %d UDP workers", SIGNET_VERSION,
				 nworkers);
		}
		event_base_dispatch(a->base);
		ret = 0;
	}
	http_lameduck(http); /* health { lameduck }: answer a while longer, not ready */
	http_stop(http);
	tls_stop(tls);
	udp_stop(a->udp);
	tcp_stop(a->tcp);
	net_close(&a->sockets);
	for (int i = 0; i < 4; i++) {
		event_free(sigs[i]);
	}
	event_free(tick);
	zonemgr_stop(server_state);
	event_base_free(a->base);
	state_free(rcu_xchg_pointer(&server_state, NULL));
	zonemgr_shutdown();
	if (a->opt.pidfile != NULL) {
		unlink(a->opt.pidfile);
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct app a = { 0 };
	/* Journals, keys and state are for the server's eyes (keys' private files are 0600). */
	umask(027);
	/* A file over its size limit fails the write (EFBIG) instead of killing the server. */
	signal(SIGXFSZ, SIG_IGN);
	if (parse_args(argc, argv, &a.opt) != 0) {
		return 2;
	}
	if (a.opt.conf != NULL) {
		a.conf_path = a.opt.conf;
	} else if (access("Corefile", R_OK) == 0) {
		a.conf_path = "Corefile";
	} else {
		setup_demo_zone();
	}
	if (a.opt.validate) {
		return validate(&a);
	}
	return serve(&a);
}
