#include "dns/log.h"

#include <stdio.h>
#include <unistd.h>

static enum log_level max_level = LOG_INFO;

void log_set_level(enum log_level level)
{
	max_level = level;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	static const char *names[] = { "ERROR", "WARNING", "INFO", "DEBUG" };
	char line[1024];
	va_list ap;
	int n;

	if (level > max_level) {
		return;
	}
	n = snprintf(line, sizeof(line), "[%s] %s: ", names[level], component);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	/* One write per line so that lines from several threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		return;
	}
}
