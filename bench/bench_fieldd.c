/*
 * bench_fieldd FIELDD: the daemon as a whole.
 *
 *   1. Durable HTTP submits per second from 8 concurrent keep-alive
 *      clients against one client's, in the same run (group commit: 8
 *      phones should share fsyncs); and against the store's own single
 *      durable submits in-process.  Then the same two with an SD card's
 *      fsync latency (SLOWSYNC_US, injected by preloading slowsync.so, a
 *      test tool found beside FIELDD, into fieldd only).
 *   2. fieldd's resident memory (peak, VmHWM) serving requests over a
 *      store of 1,000,000 records.
 *   3. With LARGE.json and its RECORD.json (bench_forms writes them):
 *      fieldd's peak resident memory with that 550-field form loaded
 *      beside the shipped ones, serving its records, against the same
 *      fieldd without it.  Budget: under 8 MiB.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "daemon/users.h"

#define CLIENTS 8
#define SECONDS 5.0

static int port;
static char token[USERS_TOKEN_LEN + 1];
static char *body;

/* An SD card's fsync: a few milliseconds (ours, a fraction of one). */
#define SLOWSYNC_US 3000

static const char *slowsync;	/* path of slowsync.so, when there */

static pid_t
spawn_fieldd_env(const char *bin, const char *ddir, long fsync_us)
{
	int fds[2];
	pid_t pid;
	char buf[4096];
	size_t got = 0;

	if (pipe(fds) != 0)
		return -1;
	port = 0;
	if ((pid = fork()) == 0) {
		if (fsync_us > 0 && slowsync) {
			char us[32];

			snprintf(us, sizeof(us), "%ld", fsync_us);
			setenv("LD_PRELOAD", slowsync, 1);
			setenv("FIELD_FSYNC_DELAY_US", us, 1);
		}
		dup2(fds[1], 2);
		close(fds[0]);
		execl(bin, bin, "-d", ddir, "--listen", "127.0.0.1:0",
		    (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(fds[0], buf + got, sizeof(buf) - 1 - got);
		char *p;
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if ((p = strstr(buf, "http://127.0.0.1:")) != NULL &&
		    strchr(p, '\n')) {
			port = atoi(p + 17);
			break;
		}
	}
	/* Keep draining its log so it never blocks on a full pipe. */
	if (fork() == 0) {
		while (read(fds[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	close(fds[0]);
	return port ? pid : -1;
}

static pid_t
spawn_fieldd(const char *bin, const char *ddir)
{
	return spawn_fieldd_env(bin, ddir, 0);
}

static int
connect_local(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One request on fd, returns the status code (or -1).  The response's
   body is read and dropped. */
static int
request(int fd, const char *method, const char *path, const char *b)
{
	/* per thread: the clients run at once */
	static _Thread_local char req[65536], resp[8192];
	size_t blen = b ? strlen(b) : 0, got = 0;
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: b\r\n"
	    "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", method, path, token, blen,
	    b ? b : "");

	if (n >= (int)sizeof(req) || write(fd, req, (size_t)n) != n)
		return -1;
	/* Read headers, then exactly Content-Length bytes. */
	for (;;) {
		ssize_t r = read(fd, resp + got, sizeof(resp) - 1 - got);
		char *end, *cl;
		if (r <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = '\0';
		if ((end = strstr(resp, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(resp, "Content-Length:");
		size_t want = (size_t)(end + 4 - resp) + (cl ? strtoul(cl + 15,
		    NULL, 10) : 0);
		int status = atoi(resp + 9);
		while (got < want) {
			char drop[8192];
			size_t ask = want - got < sizeof(drop) ? want - got :
			    sizeof(drop);

			r = read(fd, drop, ask);
			if (r <= 0)
				return -1;
			got += (size_t)r;
		}
		return status;
	}
}

struct client {
	pthread_t t;
	long ok, bad;
};

static void *client_run(void *arg);
static double client_secs = SECONDS;

/* n keep-alive clients submitting for SECONDS: 201s per second. */
static double
clients_rate(int n, long *bad)
{
	struct client cl[CLIENTS] = { 0 };
	long total = 0;

	for (int i = 0; i < n; i++)
		pthread_create(&cl[i].t, NULL, client_run, &cl[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(cl[i].t, NULL);
		total += cl[i].ok;
		*bad += cl[i].bad;
	}
	return total / client_secs;
}

#define ROUNDS 6

/*
 * One client against CLIENTS, in short rounds alternating ABBA so the
 * machine's drift (other programs' disk traffic moves fsync times a lot)
 * hits both alike: the mean rates, and the median of per-round ratios.
 */
static double
clients_compare(double *one, double *eight, long *bad)
{
	double ratios[ROUNDS], a, b;

	*one = *eight = 0;
	client_secs = SECONDS / ROUNDS * 2;
	for (int r = 0; r < ROUNDS; r++) {
		if (r % 2 == 0) {
			a = clients_rate(1, bad);
			b = clients_rate(CLIENTS, bad);
		} else {
			b = clients_rate(CLIENTS, bad);
			a = clients_rate(1, bad);
		}
		*one += a / ROUNDS;
		*eight += b / ROUNDS;
		ratios[r] = a > 0 ? b / a : 0;
	}
	for (int i = 1; i < ROUNDS; i++)	/* insertion sort */
		for (int j = i; j > 0 && ratios[j - 1] > ratios[j]; j--) {
			double t = ratios[j];
			ratios[j] = ratios[j - 1];
			ratios[j - 1] = t;
		}
	return (ratios[ROUNDS / 2 - 1] + ratios[ROUNDS / 2]) / 2;
}

static void *
client_run(void *arg)
{
	struct client *c = arg;
	int fd = connect_local();
	double end = bench_now() + client_secs;

	while (fd >= 0 && bench_now() < end) {
		int st = request(fd, "POST", "/api/records/dtm_household", body);
		if (st == 201)
			c->ok++;
		else {
			c->bad++;
			if (getenv("BENCH_DEBUG"))
				fprintf(stderr, "status %d\n", st);
		}
		if (st < 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static long
rss_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = atol(line + strlen(field) + 1);
	fclose(f);
	return v;
}

static void
stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/*
 * fieldd's peak memory on a fresh device serving records, with the large
 * form stored (with = 1) or not: the same requests on the shipped forms
 * either way, and the large form's own when it is there.
 */
static long
large_peak(const char *bin, const char *def, size_t deflen, const char *rec,
    int with)
{
	struct device d;
	struct form *f;
	char dir[64], ddir[128], err[512], path[160];
	long hwm;
	pid_t pid;
	int fd;

	if (bench_device(dir, &d) != 0 ||
	    users_add(d.st, "bench", token, err, sizeof(err)) != 0)
		return -1;
	if (with) {
		if (form_parse(def, deflen, &f, err, sizeof(err)) != 0 ||
		    store_form_add(d.st, form_id(f), form_version(f), def) != 0)
			return -1;
		snprintf(path, sizeof(path), "/api/records/%s", form_id(f));
		form_free(f);
	}
	device_close(&d);
	snprintf(ddir, sizeof(ddir), "%s/device", dir);
	if ((pid = spawn_fieldd(bin, ddir)) < 0 || (fd = connect_local()) < 0)
		return -1;
	for (int i = 0; i < 200; i++)
		request(fd, "POST", "/api/records/dtm_household", body);
	for (int i = 0; i < 20; i++) {
		request(fd, "GET", "/api/forms", NULL);
		request(fd, "GET", "/api/status", NULL);
	}
	if (with) {
		int ok = 0;

		request(fd, "GET", "/api/forms/bench_large", NULL);
		for (int i = 0; i < 200; i++)
			ok += request(fd, "POST", path, rec) == 201;
		if (ok == 0)
			fprintf(stderr, "bench: the large form's records were "
			    "refused\n");
	}
	close(fd);
	hwm = rss_kib(pid, "VmHWM:");
	stop(pid);
	bench_rmdir(dir);
	return hwm;
}

int
main(int argc, char **argv)
{
	struct submit_result *r = malloc(sizeof(*r));
	struct device d;
	char dir[64], ddir[128], err[256];
	json_t *rec = bench_household(1);
	long bad = 0;
	pid_t pid;
	double t0, single, io;

	if (argc != 2 && argc != 4) {
		fprintf(stderr, "usage: bench_fieldd PATH/TO/fieldd [LARGE.json "
		    "RECORD.json]\n");
		return 2;
	}
	io = bench_io_pressure();
	body = json_dumps(rec, JSON_COMPACT);
	if (bench_device(dir, &d) != 0 ||
	    users_add(d.st, "bench", token, err, sizeof(err)) != 0)
		return 1;
	/* The store's own durable submit rate on this machine, now. */
	t0 = bench_now();
	for (int i = 0; i < 300; i++)
		submit_record(&d.sub, "dtm_household", NULL, rec, r);
	single = 300 / (bench_now() - t0);
	device_close(&d);

	snprintf(ddir, sizeof(ddir), "%s/device", dir);
	{
		/* slowsync.so is built beside fieldd (make bench) */
		static char so[4096];
		const char *slash = strrchr(argv[1], '/');

		snprintf(so, sizeof(so), "%.*s/slowsync.so", slash ?
		    (int)(slash - argv[1]) : 1, slash ? argv[1] : ".");
		if (access(so, R_OK) == 0)
			slowsync = so;
	}
	for (int sd = 0; sd < 2; sd++) {
		long us = sd ? SLOWSYNC_US : 0;
		double one, eight, ratio;

		if (sd && slowsync == NULL) {
			printf("http submit with an SD card's fsync: not "
			    "measured (no slowsync.so beside fieldd)\n");
			break;
		}
		if ((pid = spawn_fieldd_env(argv[1], ddir, us)) < 0) {
			fprintf(stderr, "bench: fieldd did not start\n");
			return 1;
		}
		ratio = clients_compare(&one, &eight, &bad);
		stop(pid);
		if (sd)
			printf("http submit, fsync slowed by %ld us as on an "
			    "SD card: %.0f/s with %d keep-alive clients, %.2fx "
			    "one client's %.0f/s (median of %d rounds; budget "
			    "5x; %ld refused; I/O pressure at the start %.1f%%)\n", us,
			    eight, CLIENTS, ratio, one, ROUNDS, bad, io);
		else
			printf("http submit: %.0f/s with %d keep-alive clients, "
			    "%.2fx one client's %.0f/s (median of %d rounds; "
			    "budget 3x; %ld refused; I/O pressure at the start "
			    "%.1f%%); %.2fx the store's single durable submits "
			    "(%.0f/s)\n", eight, CLIENTS, ratio, one, ROUNDS,
			    bad, io, eight / single, single);
	}

	/* A million records, then fieldd's memory while it serves. */
	enum { MILLION = 1000000, BATCH = 50000 };
	char *env = getenv("BENCH_RECORDS");
	long want = env ? atol(env) : MILLION;
	json_t **many = malloc(BATCH * sizeof(*many));
	for (int i = 0; i < BATCH; i++)
		many[i] = bench_household(i);
	if (device_open(&d, ddir, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	struct store_stats s;
	store_stats(d.st, &s);
	t0 = bench_now();
	for (long have = (long)s.records; have < want; have += BATCH) {
		if (submit_many(&d.sub, "dtm_household", NULL, many, BATCH,
		    NULL, NULL, r) != SUBMIT_OK) {
			fprintf(stderr, "bench: %s\n", r->msg);
			return 1;
		}
	}
	store_stats(d.st, &s);
	device_close(&d);
	double tfill = bench_now() - t0;
	if ((pid = spawn_fieldd(argv[1], ddir)) < 0)
		return 1;
	int fd = connect_local();
	for (int i = 0; i < 2000; i++)
		request(fd, "POST", "/api/records/dtm_household", body);
	for (int i = 0; i < 20; i++) {
		request(fd, "GET", "/api/status", NULL);
		request(fd, "GET", "/api/counts", NULL);
		request(fd, "GET", "/api/forms/dtm_household", NULL);
	}
	close(fd);
	long hwm = rss_kib(pid, "VmHWM:"), rss = rss_kib(pid, "VmRSS:");
	stop(pid);
	printf("fieldd memory: peak resident %.2f MiB, now %.2f MiB, serving "
	    "a store of %llu records (budget 8 MiB; store filled at %.0f "
	    "records/s)\n", hwm / 1024.0, rss / 1024.0,
	    (unsigned long long)s.records, (s.records) / tfill);

	if (argc == 4) {
		size_t dlen, rlen;
		char *def = util_read_file(argv[2], FORM_MAX_DEF_BYTES, &dlen);
		char *lrec = util_read_file(argv[3], 1 << 20, &rlen);
		long without = def && lrec ? large_peak(argv[1], def, dlen, lrec,
		    0) : -1;
		long with = without > 0 ? large_peak(argv[1], def, dlen, lrec,
		    1) : -1;

		if (with < 0) {
			fprintf(stderr, "bench: the large form's figure failed\n");
			return 1;
		}
		printf("fieldd memory with the large form (%zu KiB of "
		    "definition) loaded beside the shipped ones, serving its "
		    "records: peak resident %.2f MiB, %.2fx the same fieldd "
		    "without it (%.2f MiB; budget 8 MiB)\n", dlen / 1024,
		    with / 1024.0, (double)with / without, without / 1024.0);
		free(def);
		free(lrec);
	}
	for (int i = 0; i < BATCH; i++)
		json_decref(many[i]);
	free(many);
	free(body);
	free(r);
	json_decref(rec);
	bench_rmdir(dir);
	return 0;
}
