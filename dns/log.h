/*  Signet: logging. One line per event on stderr: "[LEVEL] component: message". */
#pragma once

#include <stdarg.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/*! \brief Set the most verbose level printed (default LOG_INFO). */
void log_set_level(enum log_level level);

/*! \brief Print one line "[LEVEL] component: message" to stderr, atomically. */
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(comp, ...)   log_msg(LOG_ERR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...) log_msg(LOG_DEBUG, comp, __VA_ARGS__)
