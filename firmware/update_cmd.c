/* update_cmd.c: see update_cmd.h. */
#include "firmware/update_cmd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cli.h"
#include "common/util.h"
#include "daemon/config.h"
#include "firmware/update.h"

#define UPD_BASE "usr/lib/fieldd"
#define UPD_DEFAULT_RESTART "systemctl restart fieldd"
#define UPD_DEFAULT_TIMEOUT 60
#define UPD_TIMEOUT_MAX 3600
#define UPD_HTTP_MAX (16 * 1024)
#define UPD_ATTEMPT_MS 2000	/* one health request at most */
#define UPD_POLL_MS 250		/* between health requests */

struct upd {
	const char *bundle;
	const char *restart;
	int timeout_s;
	char key[PATH_MAX];
	char health[512];
	char base[PATH_MAX];	/* ROOT/usr/lib/fieldd */
	char releases[PATH_MAX];
	char current[PATH_MAX];
	char running[UPDATE_VERSION_MAX + 1];	/* current/VERSION */
	char prev[NAME_MAX + 1];		/* current's release folder */
};

static int __attribute__((format(printf, 3, 4)))
upd_path(char *out, size_t outlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, outlen, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static void
upd_usage(void)
{
	fprintf(stderr,
	    "usage: fieldctl update verify BUNDLE [--root DIR] [--key FILE]\n"
	    "       fieldctl update apply BUNDLE [--root DIR] [--key FILE]\n"
	    "                [--restart CMD] [--health URL] [--timeout S]\n");
	exit(2);
}

static _Noreturn void
upd_apply_only(const char *opt)
{
	cli_fail("option '%s' is for update apply only", opt);
}

static void
upd_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the health URL ---------------------------------------------------- */

/* 1 when a is loopback or an address of one of this host's interfaces. */
static int
upd_addr_local(const struct sockaddr_storage *a)
{
	struct ifaddrs *ifs, *i;
	int found = 0;

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)a;
		if ((ntohl(s->sin_addr.s_addr) >> 24) == 127)
			return 1;
	} else if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)a;
		if (IN6_IS_ADDR_LOOPBACK(&s->sin6_addr))
			return 1;
	} else
		return 0;
	if (getifaddrs(&ifs) != 0)
		return 0;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family !=
		    a->ss_family)
			continue;
		if (a->ss_family == AF_INET)
			found = memcmp(&((struct sockaddr_in *)
			    (void *)i->ifa_addr)->sin_addr,
			    &((const struct sockaddr_in *)a)->sin_addr,
			    sizeof(struct in_addr)) == 0;
		else
			found = memcmp(&((struct sockaddr_in6 *)
			    (void *)i->ifa_addr)->sin6_addr,
			    &((const struct sockaddr_in6 *)a)->sin6_addr,
			    sizeof(struct in6_addr)) == 0;
	}
	freeifaddrs(ifs);
	return found;
}

int
update_url_parse(const char *url, struct update_url *u, char *err,
    size_t errlen)
{
	const char *p = url, *hend, *pstart;
	char host[64];
	long port = 80;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (strncmp(p, "http://", 7) != 0)
		return util_fail(err, errlen, "health URL %s: must start with "
		    "http://", url);
	p += 7;
	if (*p == '[') {
		if ((hend = strchr(p, ']')) == NULL)
			return util_fail(err, errlen, "health URL %s: no ']'",
			    url);
		hl = (size_t)(hend - p - 1);
		if (hl == 0 || hl >= sizeof(host))
			return util_fail(err, errlen, "health URL %s: bad host",
			    url);
		memcpy(host, p + 1, hl);
		host[hl] = '\0';
		p = hend + 1;
	} else {
		hl = strcspn(p, ":/");
		if (hl == 0 || hl >= sizeof(host))
			return util_fail(err, errlen, "health URL %s: bad host",
			    url);
		memcpy(host, p, hl);
		host[hl] = '\0';
		p += hl;
	}
	if (*p == ':') {
		char *end;

		errno = 0;
		port = strtol(p + 1, &end, 10);
		if (errno || end == p + 1 || port < 1 || port > 65535 ||
		    (*end != '\0' && *end != '/'))
			return util_fail(err, errlen, "health URL %s: bad port",
			    url);
		p = end;
	}
	pstart = *p ? p : "/";
	if (*pstart != '/' || strlen(pstart) >= sizeof(u->path))
		return util_fail(err, errlen, "health URL %s: bad path", url);
	for (const char *c = pstart; *c; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return util_fail(err, errlen, "health URL %s: bad byte in "
			    "the path", url);
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)&u->sa;
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&u->sa;

		if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			u->salen = sizeof(*s4);
		} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			u->salen = sizeof(*s6);
		} else
			return util_fail(err, errlen, "health URL %s: the host "
			    "must be a numeric address or localhost", url);
	}
	if (!upd_addr_local(&u->sa))
		return util_fail(err, errlen, "health URL %s: %s is not a "
		    "loopback address or one of this host's", url, host);
	if (u->sa.ss_family == AF_INET6)
		snprintf(u->host, sizeof(u->host), "[%s]", host);
	else
		snprintf(u->host, sizeof(u->host), "%s", host);
	snprintf(u->path, sizeof(u->path), "%s", pstart);
	return 0;
}

/* Waits for fd to be ready for ev until deadline (monotonic ms). */
static int
upd_wait(int fd, short ev, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	uint64_t now;
	int rc;

	for (;;) {
		now = util_mono_ms();
		if (now >= deadline)
			return -1;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc > 0)
			return 0;
		if (rc == 0 || errno != EINTR)
			return -1;
	}
}

/*
 * One GET of the health URL, HTTP/1.0, within ms: 0 and the version the
 * daemon reports when it answers 200 {"status":"ok","version":...}, or -1
 * with err.
 */
static int
upd_health_once(const struct update_url *u, unsigned ms, char *version,
    size_t vlen, char *err, size_t errlen)
{
	uint64_t deadline = util_mono_ms() + ms;
	char req[512], *resp = NULL, *body;
	size_t got = 0, sent = 0, reqlen;
	json_t *j = NULL;
	const char *st, *ver;
	int fd, soerr = 0, rc = -1;
	socklen_t sl = sizeof(soerr);

	fd = socket(u->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return util_fail(err, errlen, "socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)&u->sa, u->salen) != 0) {
		if (errno != EINPROGRESS) {
			util_fail(err, errlen, "connect: %s", strerror(errno));
			goto out;
		}
		if (upd_wait(fd, POLLOUT, deadline) != 0) {
			util_fail(err, errlen, "connect: timed out");
			goto out;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr != 0) {
			util_fail(err, errlen, "connect: %s", strerror(soerr));
			goto out;
		}
	}
	reqlen = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n"
	    "Host: %s\r\nConnection: close\r\n\r\n", u->path, u->host);
	while (sent < reqlen) {
		ssize_t n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR) &&
		    upd_wait(fd, POLLOUT, deadline) == 0)
			continue;
		util_fail(err, errlen, "sending the request: %s",
		    n < 0 ? strerror(errno) : "closed");
		goto out;
	}
	if ((resp = malloc(UPD_HTTP_MAX + 1)) == NULL) {
		util_fail(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, resp + got, UPD_HTTP_MAX - got, 0);

		if (n > 0) {
			got += (size_t)n;
			if (got == UPD_HTTP_MAX) {
				util_fail(err, errlen, "answer over %d bytes",
				    UPD_HTTP_MAX);
				goto out;
			}
			continue;
		}
		if (n == 0)
			break;
		if ((errno == EAGAIN || errno == EINTR) &&
		    upd_wait(fd, POLLIN, deadline) == 0)
			continue;
		util_fail(err, errlen, "reading the answer: %s",
		    errno == EAGAIN ? "timed out" : strerror(errno));
		goto out;
	}
	resp[got] = '\0';
	if (got < 12 || strncmp(resp, "HTTP/1.", 7) != 0 || resp[8] != ' ') {
		util_fail(err, errlen, "not an HTTP answer");
		goto out;
	}
	if (strncmp(resp + 9, "200", 3) != 0) {
		util_fail(err, errlen, "HTTP status %.3s", resp + 9);
		goto out;
	}
	if ((body = strstr(resp, "\r\n\r\n")) == NULL) {
		util_fail(err, errlen, "no end of headers");
		goto out;
	}
	body += 4;
	j = json_loadb(body, got - (size_t)(body - resp), 0, NULL);
	st = json_string_value(json_object_get(j, "status"));
	ver = json_string_value(json_object_get(j, "version"));
	if (st == NULL || ver == NULL) {
		util_fail(err, errlen, "the answer is not {\"status\", "
		    "\"version\"}");
		goto out;
	}
	if (strcmp(st, "ok") != 0) {
		util_fail(err, errlen, "status \"%.64s\"", st);
		goto out;
	}
	snprintf(version, vlen, "%s", ver);
	rc = 0;
out:
	json_decref(j);
	free(resp);
	close(fd);
	return rc;
}

/*
 * Polls the health URL until it answers with version want, for up to
 * timeout_s seconds.  0, or -1 with the last reason in err.
 */
static int
upd_health_wait(const struct update_url *u, const char *want, int timeout_s,
    char *err, size_t errlen)
{
	uint64_t deadline = util_mono_ms() + (uint64_t)timeout_s * 1000;
	char ver[64], why[256] = "no answer";

	for (;;) {
		uint64_t now = util_mono_ms();
		unsigned ms;

		if (now >= deadline)
			break;
		ms = deadline - now < UPD_ATTEMPT_MS ?
		    (unsigned)(deadline - now) : UPD_ATTEMPT_MS;
		if (upd_health_once(u, ms, ver, sizeof(ver), why,
		    sizeof(why)) == 0) {
			if (strcmp(ver, want) == 0)
				return 0;
			snprintf(why, sizeof(why), "it answers version %.32s",
			    ver);
		}
		if (util_mono_ms() + UPD_POLL_MS >= deadline)
			break;
		upd_sleep_ms(UPD_POLL_MS);
	}
	return util_fail(err, errlen, "no healthy answer with version %s in "
	    "%d s (%s)", want, timeout_s, why);
}

/* ---- the restart command ----------------------------------------------- */

/* Runs cmd with /bin/sh, for up to timeout_s seconds.  0 or -1 and err. */
static int
upd_run(const char *cmd, int timeout_s, char *err, size_t errlen)
{
	uint64_t deadline = util_mono_ms() + (uint64_t)timeout_s * 1000;
	pid_t pid, w;
	int status;

	fflush(NULL);
	if ((pid = fork()) < 0)
		return util_fail(err, errlen, "fork: %s", strerror(errno));
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0) {
			dup2(nul, 0);
			close(nul);
		}
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return util_fail(err, errlen, "waiting for \"%s\": %s",
			    cmd, strerror(errno));
		if (util_mono_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return util_fail(err, errlen, "\"%s\" did not finish in "
			    "%d s", cmd, timeout_s);
		}
		upd_sleep_ms(50);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return util_fail(err, errlen, "\"%s\" exited %d", cmd,
		    WEXITSTATUS(status));
	return util_fail(err, errlen, "\"%s\" killed by signal %d", cmd,
	    WTERMSIG(status));
}

/* ---- releases on disk --------------------------------------------------- */

/*
 * The running release: current's target must be releases/NAME (relative,
 * or absolute ending so) with NAME a version; its VERSION file gives the
 * running version.
 */
static int
upd_running(struct upd *o, char *err, size_t errlen)
{
	char target[PATH_MAX], path[PATH_MAX], *text, *name;
	ssize_t n;
	size_t len;

	n = readlink(o->current, target, sizeof(target) - 1);
	if (n < 0)
		return util_fail(err, errlen, "%s: %s (no release installed?)",
		    o->current, errno == EINVAL ? "not a symlink" :
		    strerror(errno));
	target[n] = '\0';
	name = strrchr(target, '/');
	if (name == NULL || name - target < 8 ||
	    strncmp(name - 8, "releases", 8) != 0 ||
	    (name - target > 8 && name[-9] != '/') ||
	    update_version_parse(name + 1, (uint32_t[3]){ 0 }) != 0)
		return util_fail(err, errlen, "%s -> %s: expected "
		    "releases/X.Y.Z", o->current, target);
	snprintf(o->prev, sizeof(o->prev), "%s", name + 1);
	if (upd_path(path, sizeof(path), "%s/%s/VERSION", o->releases,
	    o->prev) != 0)
		return util_fail(err, errlen, "%s: path too long", o->releases);
	if ((text = update_slurp(path, 64, &len)) == NULL)
		return util_fail(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "not a version" : strerror(errno));
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (update_version_parse(text, (uint32_t[3]){ 0 }) != 0) {
		free(text);
		return util_fail(err, errlen, "%s: not a version X.Y.Z", path);
	}
	/* The folder's name is what an apply keeps and rolls back to: a
	   VERSION that disagrees with it would let a bundle "newer" than
	   VERSION replace the running folder itself. */
	if (strcmp(text, o->prev) != 0) {
		util_fail(err, errlen, "%s says %s but current is releases/%s: "
		    "fix the layout first", path, text, o->prev);
		free(text);
		return -1;
	}
	snprintf(o->running, sizeof(o->running), "%s", text);
	free(text);
	return 0;
}

/* Removes a release folder: regular files (or links) only, never
   following a link, then the folder. */
static int
upd_remove_release(const char *path, char *err, size_t errlen)
{
	struct dirent *e;
	DIR *d;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ENOTDIR || errno == ELOOP) {
			if (unlink(path) == 0)
				return 0;
		}
		return util_fail(err, errlen, "removing %s: %s", path,
		    strerror(errno));
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return util_fail(err, errlen, "removing %s: %s", path,
		    strerror(errno));
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, e->d_name, 0) != 0) {
			int en = errno;

			closedir(d);
			return util_fail(err, errlen, "removing %s/%s: %s", path,
			    e->d_name, strerror(en));
		}
	}
	closedir(d);
	if (rmdir(path) != 0)
		return util_fail(err, errlen, "removing %s: %s", path,
		    strerror(errno));
	return 0;
}

/* Writes all of data to the file name in folder dfd, fsynced. */
static int
upd_write_at(int dfd, const char *dir, const struct update_file *f,
    char *err, size_t errlen)
{
	size_t off = 0;
	int fd;

	fd = openat(dfd, f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		return util_fail(err, errlen, "%s/%s: %s", dir, f->name,
		    strerror(errno));
	while (off < f->len) {
		ssize_t n = write(fd, f->data + off, f->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			util_fail(err, errlen, "%s/%s: %s", dir, f->name,
			    n < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, f->mode) != 0 || fsync(fd) != 0) {
		util_fail(err, errlen, "%s/%s: %s", dir, f->name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) != 0)
		return util_fail(err, errlen, "%s/%s: %s", dir, f->name,
		    strerror(errno));
	return 0;
}

/* releases/V from a verified bundle, whole or not at all. */
static int
upd_install(const struct upd *o, const struct update_bundle *b, char *err,
    size_t errlen)
{
	char tmp[PATH_MAX], final[PATH_MAX], why[512];
	int dfd, i;

	if (upd_path(final, sizeof(final), "%s/%s", o->releases,
	    b->version) != 0 || upd_path(tmp, sizeof(tmp),
	    "%s/%s.tmp-XXXXXX", o->releases, b->version) != 0)
		return util_fail(err, errlen, "%s: path too long", o->releases);
	/* A folder of this version is left from an apply that failed or
	   was cut short; it is not current (the bundle is newer). */
	if (upd_remove_release(final, err, errlen) != 0)
		return -1;
	if (mkdtemp(tmp) == NULL)
		return util_fail(err, errlen, "%s: %s", tmp, strerror(errno));
	if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		util_fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	for (i = 0; i < UPDATE_FILES; i++)
		if (upd_write_at(dfd, tmp, &b->files[i], err, errlen) != 0) {
			close(dfd);
			goto fail;
		}
	if (fchmod(dfd, 0755) != 0 || fsync(dfd) != 0) {
		util_fail(err, errlen, "%s: %s", tmp, strerror(errno));
		close(dfd);
		goto fail;
	}
	close(dfd);
	if (rename(tmp, final) != 0) {
		util_fail(err, errlen, "rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (util_sync_dir(o->releases) != 0)
		return util_fail(err, errlen, "%s: fsync: %s", o->releases,
		    strerror(errno));
	return 0;
fail:
	upd_remove_release(tmp, why, sizeof(why));
	return -1;
}

/* Points current at releases/version atomically (a new link renamed over
   it) and makes that durable. */
static int
upd_point(const struct upd *o, const char *version, char *err, size_t errlen)
{
	char target[NAME_MAX + 16], tmp[PATH_MAX];

	if (upd_path(target, sizeof(target), "releases/%s", version) != 0 ||
	    upd_path(tmp, sizeof(tmp), "%s.new", o->current) != 0)
		return util_fail(err, errlen, "%s: path too long", o->current);
	if (unlink(tmp) != 0 && errno != ENOENT)
		return util_fail(err, errlen, "%s: %s", tmp, strerror(errno));
	if (symlink(target, tmp) != 0)
		return util_fail(err, errlen, "%s: %s", tmp, strerror(errno));
	if (rename(tmp, o->current) != 0) {
		int e = errno;

		unlink(tmp);
		return util_fail(err, errlen, "rename %s: %s", tmp,
		    strerror(e));
	}
	if (util_sync_dir(o->base) != 0)
		return util_fail(err, errlen, "%s: fsync: %s", o->base,
		    strerror(errno));
	return 0;
}

/* Removes every release but keep1 and keep2, and leftovers of cut-short
   applies; entries that are not ours are left alone.  Warns only. */
static void
upd_prune(const struct upd *o, const char *keep1, const char *keep2)
{
	char path[PATH_MAX], name[NAME_MAX + 1], why[512];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(o->releases)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *dot;

		snprintf(name, sizeof(name), "%s", e->d_name);
		if ((dot = strstr(name, ".tmp-")) != NULL)
			*dot = '\0';
		if (update_version_parse(name, (uint32_t[3]){ 0 }) != 0)
			continue;
		if (dot == NULL && (strcmp(name, keep1) == 0 ||
		    strcmp(name, keep2) == 0))
			continue;
		if (upd_path(path, sizeof(path), "%s/%s", o->releases,
		    e->d_name) != 0)
			continue;
		if (upd_remove_release(path, why, sizeof(why)) != 0)
			fprintf(stderr, "fieldctl update: warning: %s\n", why);
	}
	closedir(d);
	util_sync_dir(o->releases);
}

/* ---- the commands ------------------------------------------------------- */

/* The default health URL: fieldd.conf's listen, any address made
   loopback. */
static int
upd_default_health(struct upd *o, const char *root, char *err,
    size_t errlen)
{
	struct config c;
	char conf[PATH_MAX];
	const char *addr;
	int v6;

	config_defaults(&c);
	if (upd_path(conf, sizeof(conf), "%s/etc/fieldd/fieldd.conf",
	    root) != 0)
		return util_fail(err, errlen, "--root: path too long");
	if (access(conf, F_OK) == 0 && config_load(&c, conf, err,
	    errlen) != 0)
		return -1;
	addr = c.listen_addr;
	v6 = strchr(addr, ':') != NULL;
	if (strcmp(addr, "0.0.0.0") == 0)
		addr = "127.0.0.1";
	else if (strcmp(addr, "::") == 0)
		addr = "::1";
	if (upd_path(o->health, sizeof(o->health), "http://%s%s%s:%d"
	    "/api/health", v6 ? "[" : "", addr, v6 ? "]" : "",
	    c.listen_port) != 0)
		return util_fail(err, errlen, "listen: too long");
	return 0;
}

static int
upd_options(struct upd *o, int apply, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "key", required_argument, NULL, 'k' },
		{ "restart", required_argument, NULL, 's' },
		{ "health", required_argument, NULL, 'h' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root = "/", *key = NULL, *health = NULL;
	char rootbuf[PATH_MAX], err[512], *end;
	size_t rl;
	long t;
	int ch;

	memset(o, 0, sizeof(*o));
	o->restart = UPD_DEFAULT_RESTART;
	o->timeout_s = UPD_DEFAULT_TIMEOUT;
	optind = 0;
	while ((ch = cli_getopt(argc, argv, "", lo)) != -1) {
		switch (ch) {
		case 'r': root = optarg; break;
		case 'k': key = optarg; break;
		case 's': if (!apply) upd_apply_only("--restart");
			o->restart = optarg; break;
		case 'h': if (!apply) upd_apply_only("--health");
			health = optarg; break;
		case 't':
			if (!apply)
				upd_apply_only("--timeout");
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || t < 1 ||
			    t > UPD_TIMEOUT_MAX) {
				fprintf(stderr, "fieldctl update: --timeout: "
				    "1 to %d seconds\n", UPD_TIMEOUT_MAX);
				return -1;
			}
			o->timeout_s = (int)t;
			break;
		default: upd_usage();
		}
	}
	if (optind >= argc)
		cli_fail("update %s needs BUNDLE", apply ? "apply" : "verify");
	cli_operands(argc, argv, optind, 1, 1, "BUNDLE");
	o->bundle = argv[optind];
	/* ROOT without its trailing slashes; "/" becomes "". */
	rl = strlen(root);
	if (rl >= sizeof(rootbuf)) {
		fprintf(stderr, "fieldctl update: --root: too long\n");
		return -1;
	}
	memcpy(rootbuf, root, rl + 1);
	while (rl > 0 && rootbuf[rl - 1] == '/')
		rootbuf[--rl] = '\0';
	if (upd_path(o->base, sizeof(o->base), "%s/" UPD_BASE, rootbuf) ||
	    upd_path(o->releases, sizeof(o->releases), "%s/releases",
	    o->base) || upd_path(o->current, sizeof(o->current), "%s/current",
	    o->base) || (key ? upd_path(o->key, sizeof(o->key), "%s", key) :
	    upd_path(o->key, sizeof(o->key), "%s/etc/fieldd/release.pub",
	    rootbuf))) {
		fprintf(stderr, "fieldctl update: path too long\n");
		return -1;
	}
	if (apply) {
		if (health)
			snprintf(o->health, sizeof(o->health), "%s", health);
		else if (upd_default_health(o, rootbuf, err, sizeof(err)) != 0) {
			fprintf(stderr, "fieldctl update: %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* Everything verify checks; fills *b (the caller frees it). */
static int
upd_verify(struct upd *o, struct update_bundle *b)
{
	mbedtls_pk_context pub;
	char err[1024];
	int rc;

	memset(b, 0, sizeof(*b));
	if (update_key_read_public(&pub, o->key, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl update: %s\n", err);
		return -1;
	}
	rc = update_read_file(o->bundle, &pub, update_arch(), b, err,
	    sizeof(err));
	mbedtls_pk_free(&pub);
	if (rc != 0) {
		fprintf(stderr, "fieldctl update: %s: refused: %s\n",
		    o->bundle, err);
		return -1;
	}
	if (upd_running(o, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl update: %s\n", err);
		update_free(b);
		return -1;
	}
	rc = update_version_cmp(b->version, o->running);
	if (rc <= 0) {
		fprintf(stderr, "fieldctl update: downgrade refused: bundle %s "
		    "is %s running %s\n", b->version, rc < 0 ?
		    "older than" : "the same version as", o->running);
		update_free(b);
		return -1;
	}
	return 0;
}

static int
upd_cmd_verify(int argc, char **argv)
{
	struct update_bundle b;
	struct upd o;

	if (upd_options(&o, 0, argc, argv) != 0 || upd_verify(&o, &b) != 0)
		return 1;
	printf("release %s for %s: signed by the release key, newer than "
	    "running %s\n", b.version, b.arch, o.running);
	update_free(&b);
	return 0;
}

static int
upd_cmd_apply(int argc, char **argv)
{
	struct update_bundle b;
	struct update_url url;
	struct upd o;
	char lock[PATH_MAX], failed[PATH_MAX], err[1024], why[1024];
	char ver[UPDATE_VERSION_MAX + 1];
	int lfd, rc = 1;

	if (upd_options(&o, 1, argc, argv) != 0)
		return 1;
	if (update_url_parse(o.health, &url, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl update: %s\n", err);
		return 1;
	}
	/* The lock first: the running version read under it is the one an
	   apply racing with this one may have changed. */
	if (upd_path(lock, sizeof(lock), "%s/.update.lock", o.base) != 0 ||
	    (lfd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) < 0) {
		fprintf(stderr, "fieldctl update: %s: %s\n", lock,
		    strerror(errno));
		return 1;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "fieldctl update: another update is running "
		    "(%s is locked)\n", lock);
		close(lfd);
		return 1;
	}
	if (upd_verify(&o, &b) != 0)
		goto out_lock;
	snprintf(ver, sizeof(ver), "%s", b.version);
	if (upd_install(&o, &b, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl update: installing %s: %s; nothing "
		    "changed\n", ver, err);
		update_free(&b);
		goto out_lock;
	}
	update_free(&b);
	if (upd_point(&o, ver, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl update: switching to %s: %s; "
		    "nothing changed\n", ver, err);
		goto out_lock;
	}
	printf("fieldctl update: %s installed, restarting\n", ver);
	if (upd_run(o.restart, o.timeout_s, why, sizeof(why)) == 0 &&
	    upd_health_wait(&url, ver, o.timeout_s, why, sizeof(why)) == 0) {
		upd_prune(&o, ver, o.prev);
		printf("fieldctl update: updated %s -> %s\n", o.running, ver);
		rc = 0;
		goto out_lock;
	}

	/* Roll back: the previous release, restarted, answering. */
	fprintf(stderr, "fieldctl update: %s failed its health check: %s; "
	    "rolling back to %s\n", ver, why, o.running);
	if (upd_point(&o, o.prev, err, sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl update: ROLLBACK FAILED: %s\n", err);
		goto out_lock;
	}
	if (upd_run(o.restart, o.timeout_s, err, sizeof(err)) != 0 ||
	    upd_health_wait(&url, o.running, o.timeout_s, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "fieldctl update: rolled back to %s, but it "
		    "does not answer either: %s\n", o.running, err);
		goto out_lock;
	}
	if (upd_path(failed, sizeof(failed), "%s/%s", o.releases, ver) != 0 ||
	    upd_remove_release(failed, err, sizeof(err)) != 0)
		fprintf(stderr, "fieldctl update: warning: %s\n", err);
	util_sync_dir(o.releases);
	fprintf(stderr, "fieldctl update: rolled back to %s, which answers; "
	    "%s refused\n", o.running, ver);
out_lock:
	close(lfd);
	return rc;
}

int
update_cmd(int argc, char **argv)
{
	if (argc < 2)
		cli_fail("update needs verify or apply");
	if (strcmp(argv[1], "verify") == 0)
		return upd_cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "apply") == 0)
		return upd_cmd_apply(argc - 1, argv + 1);
	cli_fail("unknown command 'update %s'", argv[1]);
}
