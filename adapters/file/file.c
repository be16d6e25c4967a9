/*  The file source: an RFC 1035 master file, looked at every "reload" interval and loaded
 *  again when it changed (CoreDNS's file plugin). */
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "adapters/sources.h"
#include "dns/duration.h"
#include "dns/err.h"
#include "dns/log.h"
#include "zones/zonefile.h"

struct file_source {
	zone_source_t base;
	char path[PATH_MAX];
	char where[256];
	uint64_t reload_ms;
	struct stat seen; /* the file as last loaded */
	struct event *timer;
	source_changed_fn changed;
	void *ud;
};

static int file_open(zone_source_t **out, const source_conf_t *conf, char *err, size_t errlen)
{
	struct file_source *f;
	if (conf->argc < 1) {
		snprintf(err, errlen, "file: needs the zone file's path");
		return E_CFG_SEMANTIC;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return -ENOMEM;
	}
	f->base.ops = &source_file;
	snprintf(f->where, sizeof(f->where), "%s", conf->where);
	f->reload_ms = 60000; /* CoreDNS's default */
	for (int i = 0; i < conf->nopts; i++) {
		const source_option_t *o = &conf->opts[i];
		if (strcmp(o->name, "reload") == 0 && o->argc == 1 &&
		    duration_parse(o->args[0], &f->reload_ms) == E_OK) {
			continue;
		}
		snprintf(err, errlen, "%s: file: %s '%s'", o->where,
			 strcmp(o->name, "reload") == 0 ? "reload needs one duration, not"
							: "unknown property",
			 strcmp(o->name, "reload") == 0 && o->argc > 0 ? o->args[0] : o->name);
		free(f);
		return E_CFG_SEMANTIC;
	}
	const char *p = conf->args[0];
	int n = p[0] == '/' ? snprintf(f->path, sizeof(f->path), "%s", p)
			    : snprintf(f->path, sizeof(f->path), "%s/%s", conf->dir, p);
	if (n < 0 || (size_t)n >= sizeof(f->path)) {
		snprintf(err, errlen, "file: path too long");
		free(f);
		return E_CFG_SEMANTIC;
	}
	*out = &f->base;
	return E_OK;
}

static int file_load(zone_source_t *s, zone_builder_t *b)
{
	struct file_source *f = (struct file_source *)s;
	struct stat sb;
	if (stat(f->path, &sb) != 0) {
		int ret = -errno;
		zone_builder_report(b, LOG_ERR, f->where, "file: cannot read %s: %s", f->path,
				    strerror(errno));
		return ret;
	}
	/* Remembered before reading: a change made while reading is seen at the next look. */
	f->seen = sb;
	return zonefile_load(b, f->path);
}

static bool changed_since(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
	       a->st_size != b->st_size || a->st_ino != b->st_ino || a->st_dev != b->st_dev;
}

static void file_tick(evutil_socket_t fd, short what, void *arg)
{
	struct file_source *f = arg;
	struct stat sb;
	(void)fd;
	(void)what;
	if (stat(f->path, &sb) == 0 && changed_since(&sb, &f->seen)) {
		f->changed(f->ud);
	}
}

static int file_watch(zone_source_t *s, struct event_base *base, source_changed_fn changed,
		      void *ud)
{
	struct file_source *f = (struct file_source *)s;
	struct timeval tv = { (time_t)(f->reload_ms / 1000),
			      (suseconds_t)(f->reload_ms % 1000) * 1000 };
	if (f->reload_ms == 0) {
		return E_OK;
	}
	f->changed = changed;
	f->ud = ud;
	f->timer = event_new(base, -1, EV_PERSIST, file_tick, f);
	if (f->timer == NULL || event_add(f->timer, &tv) != 0) {
		return -ENOMEM;
	}
	return E_OK;
}

static void file_close(zone_source_t *s)
{
	struct file_source *f = (struct file_source *)s;
	if (f->timer != NULL) {
		event_free(f->timer);
	}
	free(f);
}

const zone_source_ops_t source_file = {
	.name = "file",
	.open = file_open,
	.load = file_load,
	.watch = file_watch,
	.close = file_close,
};
