/* config.c: see config.h. */
#include "daemon/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "form/form.h"

#define CONFIG_MAX_BYTES (64 * 1024)

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
	c->listen_port = 8080;
	c->free_space_floor_mb = 64;
	c->epoch_records = 1000;
	c->epoch_hours = 24;
	c->max_body_kb = 256;
	c->max_header_bytes = 8192;
	c->max_connections = 64;
	c->idle_timeout_s = 15;
	c->request_timeout_s = 10;
	c->log_level = LOG_INFO;
	c->sync_interval_s = 60;
	c->sync_retry_max_s = 900;
	c->sync_batch_max = 500;
	c->retention_days = 30;
	c->suppress_threshold = 5;
	snprintf(c->board.backend, sizeof(c->board.backend), "linux");
	snprintf(c->board.shutdown_flag, sizeof(c->board.shutdown_flag),
	    "/run/fieldd/ready-for-shutdown");
	c->battery_low_percent = 10;
	c->form_max_kb = FORM_MAX_DEF_BYTES / 1024;
}

/* The numeric keys, their ranges, and where they go. */
struct config_num {
	const char *key;
	uint64_t lo, hi;
	size_t off;
	int wide;			/* uint64_t rather than uint32_t */
};

static const struct config_num config_nums[] = {
	{ "free_space_floor_mb", 0, 1024 * 1024,
	    offsetof(struct config, free_space_floor_mb), 1 },
	{ "epoch_records", 1, 1000000, offsetof(struct config, epoch_records), 0 },
	{ "epoch_hours", 1, 24 * 365, offsetof(struct config, epoch_hours), 0 },
	{ "max_body_kb", 1, 16 * 1024, offsetof(struct config, max_body_kb), 0 },
	{ "max_header_bytes", 1024, 65536,
	    offsetof(struct config, max_header_bytes), 0 },
	{ "max_connections", 1, 4096,
	    offsetof(struct config, max_connections), 0 },
	{ "idle_timeout_s", 1, 3600, offsetof(struct config, idle_timeout_s), 0 },
	{ "request_timeout_s", 1, 3600,
	    offsetof(struct config, request_timeout_s), 0 },
	{ "sync_interval_s", 1, 86400,
	    offsetof(struct config, sync_interval_s), 0 },
	{ "sync_retry_max_s", 1, 86400,
	    offsetof(struct config, sync_retry_max_s), 0 },
	{ "sync_batch_max", 1, 1000, offsetof(struct config, sync_batch_max), 0 },
	{ "sync_budget_kb_day", 0, 1024 * 1024 * 1024,
	    offsetof(struct config, sync_budget_kb_day), 1 },
	{ "retention_days", 0, 3650, offsetof(struct config, retention_days), 0 },
	{ "suppress_threshold", 2, 1000,
	    offsetof(struct config, suppress_threshold), 0 },
	{ "battery_low_percent", 0, 90,
	    offsetof(struct config, battery_low_percent), 0 },
	{ "form_max_kb", 1, FORM_MAX_DEF_BYTES / 1024,
	    offsetof(struct config, form_max_kb), 0 },
};

/* Keys whose value is a string kept as it is ("" allowed but for board). */
static const struct config_str {
	const char *key;
	size_t off, size;
} config_strs[] = {
	{ "board", offsetof(struct config, board.backend),
	    sizeof(((struct config *)0)->board.backend) },
	{ "status_led", offsetof(struct config, board.status_led),
	    sizeof(((struct config *)0)->board.status_led) },
	{ "button", offsetof(struct config, board.button),
	    sizeof(((struct config *)0)->board.button) },
	{ "shutdown_flag", offsetof(struct config, board.shutdown_flag),
	    sizeof(((struct config *)0)->board.shutdown_flag) },
};

static void
config_set(struct config *c, const char *name, int line, const char *key,
    const char *val, struct config_err *e);

/* config_lines's setter for struct config. */
static void
config_set_one(void *arg, const char *name, int line, const char *key,
    const char *val, struct config_err *e)
{
	config_set(arg, name, line, key, val, e);
}

static void
config_set(struct config *c, const char *name, int line, const char *key,
    const char *val, struct config_err *e)
{
	static const char *levels[] = { "debug", "info", "warn", "error" };

	if (strcmp(key, "listen") == 0) {
		if (config_parse_listen(val, c->listen_addr,
		    sizeof(c->listen_addr), &c->listen_port) != 0)
			config_error(e, "%s:%d: listen: expected ADDR:PORT",
			    name, line);
		return;
	}
	if (strcmp(key, "collector") == 0) {
		if (config_parse_listen(val, c->collector_host,
		    sizeof(c->collector_host), &c->collector_port) != 0 ||
		    c->collector_port == 0)
			config_error(e, "%s:%d: collector: expected HOST:PORT",
			    name, line);
		return;
	}
	if (strcmp(key, "clock") == 0) {
		if (strcmp(val, "board") == 0 || strcmp(val, "host") == 0)
			c->clock_host = strcmp(val, "host") == 0;
		else
			config_error(e, "%s:%d: clock: expected board or host",
			    name, line);
		return;
	}
	if (strcmp(key, "log_level") == 0) {
		for (int i = 0; i < 4; i++)
			if (strcmp(val, levels[i]) == 0) {
				c->log_level = i;
				return;
			}
		config_error(e, "%s:%d: log_level: expected debug, info, warn "
		    "or error", name, line);
		return;
	}
	for (size_t i = 0; i < sizeof(config_strs) / sizeof(config_strs[0]);
	    i++) {
		const struct config_str *k = &config_strs[i];

		if (strcmp(key, k->key) != 0)
			continue;
		if (strlen(val) >= k->size)
			config_error(e, "%s:%d: %s: longer than %zu bytes", name,
			    line, key, k->size - 1);
		else if (strcmp(key, "board") == 0 && strcmp(val, "linux") != 0 &&
		    (strncmp(val, "sim:", 4) != 0 || val[4] == '\0'))
			config_error(e, "%s:%d: board: expected linux or sim:DIR",
			    name, line);
		else
			memcpy((char *)c + k->off, val, strlen(val) + 1);
		return;
	}
	for (size_t i = 0; i < sizeof(config_nums) / sizeof(config_nums[0]);
	    i++) {
		const struct config_num *k = &config_nums[i];
		uint64_t x;

		if (strcmp(key, k->key) != 0)
			continue;
		if (config_number(val, k->lo, k->hi, &x) != 0) {
			config_error(e, "%s:%d: %s: expected a whole number "
			    "from %llu to %llu", name, line, key,
			    (unsigned long long)k->lo,
			    (unsigned long long)k->hi);
			return;
		}
		if (k->wide)
			*(uint64_t *)((char *)c + k->off) = x;
		else
			*(uint32_t *)((char *)c + k->off) = (uint32_t)x;
		return;
	}
	config_error(e, "%s:%d: unknown key \"%.40s\"", name, line, key);
}

int
config_parse(struct config *c, const char *name, const char *text,
    char *err, size_t errlen)
{
	return config_lines(name, text, config_set_one, c, err, errlen);
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char *text;
	int rc;

	if ((text = util_read_file(path, CONFIG_MAX_BYTES, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "larger than 64 KiB" : strerror(errno));
		return -1;
	}
	rc = config_parse(c, path, text, err, errlen);
	free(text);
	return rc;
}

int
config_file_set(const char *path, const char *key, const char *value,
    char *err, size_t errlen)
{
	struct config c;
	char *old, *out, *line, *next;
	size_t cap;
	int found = 0, rc = -1;

	if (strpbrk(value, "\n#") != NULL || strpbrk(key, "\n#= ") != NULL) {
		snprintf(err, errlen, "%s: a value may not hold a newline or #",
		    key);
		return -1;
	}
	if ((old = util_read_file(path, CONFIG_MAX_BYTES, NULL)) == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		old = strdup("");
	}
	cap = strlen(old) + strlen(key) + strlen(value) + 8;
	if (old == NULL || (out = calloc(1, cap)) == NULL) {
		free(old);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (line = old; line && *line; line = next) {
		const char *k = line + strspn(line, " \t");
		size_t klen = strlen(key);

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (!found && strncmp(k, key, klen) == 0 &&
		    (k[klen] == '=' || k[klen] == ' ' || k[klen] == '\t')) {
			found = 1;
			snprintf(out + strlen(out), cap - strlen(out),
			    "%s = %s\n", key, value);
		} else
			snprintf(out + strlen(out), cap - strlen(out), "%s\n",
			    line);
	}
	if (!found)
		snprintf(out + strlen(out), cap - strlen(out), "%s = %s\n",
		    key, value);
	config_defaults(&c);
	if (config_parse(&c, path, out, err, errlen) == 0) {
		if (util_write_file(path, out, strlen(out), 0600) == 0)
			rc = 0;
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	free(old);
	free(out);
	return rc;
}
