/*
 * faultproxy.c: a TCP proxy that injects faults, for integration tests.
 *
 * It listens on 127.0.0.1:LISTEN_PORT and forwards every accepted
 * connection to 127.0.0.1:TARGET_PORT, both ways, breaking the link on
 * purpose: cuts (after a number of bytes or a time), stalls, latency,
 * a rate limit, truncated and corrupted chunks, refused connections.
 * Every random choice comes from --seed, so a failing run can be
 * repeated.  See tests/tools/README.md for the flags.
 *
 * The connection pair.  One struct fp_conn holds both TCP handles
 * (client: the one we accepted; upstream: the one we open to the
 * target), two pipes (pipe[0] "up", client to upstream; pipe[1] "down",
 * upstream to client), a timer per pipe, a stall timer and a cut timer.
 * Its states:
 *
 *	CONNECTING  accepted, upstream connect pending, nothing is read
 *	    | connect ok: start reading both sides, arm the cut timer
 *	    | connect failed: CLOSING (client gets a RST)
 *	    v
 *	OPEN        reading, queueing, forwarding; an EOF on a pipe's
 *	    |       source is passed on as a shutdown of its destination
 *	    |       once that pipe's queue is empty (half close works)
 *	    | both pipes shut down: CLOSING, gracefully
 *	    | injected cut or truncation, read or write error: CLOSING
 *	    |   with uv_tcp_close_reset, so the peers see a RST (a handle
 *	    |   that already has a shutdown pending closes plainly)
 *	    v
 *	CLOSING     queues dropped, all six handles closed; pending write,
 *	            shutdown and connect requests call back with
 *	            UV_ECANCELED before their handle's close callback, and
 *	            the last close callback frees the conn.
 *
 * The queues.  A read lands in a struct fp_chunk (alloc_cb hands out its
 * data[]), is shrunk to its length, and its fate is drawn at once: maybe
 * a bit flipped, maybe truncated (then the conn is cut when its prefix
 * has left), maybe a stall before it leaves.  It gets a ready time (now
 * + --delay-ms; going up, not before the conn's open_at, the end of the
 * TCP handshake a real link would have charged: accept + 2 x delay) and
 * joins its pipe's FIFO, so order is always kept.
 * pipe_pump forwards from the head while it may: not before the head's
 * ready time (the pipe timer waits), not while the conn is stalled (the
 * stall timer pumps both pipes when it ends), not faster than the token
 * bucket allows (the pipe timer again), and never past the conn's cut
 * offset.  A whole chunk becomes its own write request; a part of one
 * (rate or cut) is copied into a new chunk for the write.
 *
 * Memory is bounded: pipe->queued counts the bytes a pipe holds, queued
 * or in write requests not yet called back.  At --queue-max reading
 * from the source stops; it restarts when queued falls to half of that.
 * A slow or stalled receiver thus meets TCP flow control, not our heap.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#define FP_READ_SIZE	65536		/* bytes per read, at most */
#define FP_QUEUE_MAX	(1024 * 1024)	/* default per-pipe bound */
#define FP_BACKLOG	128
#define FP_NEVER	UINT64_MAX
#define FP_CONN_HANDLES	6		/* 2 tcp, 2 pipe timers, stall, cut */

#define FP_CONTAINER(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct fp_opts {
	unsigned	 listen_port;
	unsigned	 target_port;
	int		 have_listen, have_target;
	uint64_t	 seed;
	double		 cut_mean;	/* bytes, 0 = never */
	uint64_t	 cut_at;	/* bytes, every conn; 0 = never */
	uint64_t	 silent_at;	/* bytes, first conn; 0 = never */
	double		 cut_every_ms;	/* 0 = never */
	double		 stall_prob;
	uint64_t	 stall_ms;
	uint64_t	 delay_ms;
	int		 no_connect_rtt;	/* old behaviour: connects free */
	double		 rate;		/* bytes per second, 0 = unlimited */
	double		 truncate_prob;
	double		 corrupt_prob;
	double		 refuse_prob;
	uint64_t	 max_conns;	/* 0 = no limit */
	size_t		 queue_max;
	int		 log;
};

struct fp_stats {
	uint64_t	 connections;	/* accepted, refused ones included */
	uint64_t	 fast_opens;	/* whose first bytes came in the SYN */
	uint64_t	 refused;
	uint64_t	 connect_errors;
	uint64_t	 bytes_up;	/* forwarded client -> target */
	uint64_t	 bytes_down;	/* forwarded target -> client */
	uint64_t	 cuts;
	uint64_t	 stalls;
	uint64_t	 truncations;
	uint64_t	 corruptions;
	size_t		 peak_queue;	/* largest pipe->queued seen */
};

struct fp_rng {
	uint64_t	 s;
};

struct fp_chunk {
	uv_write_t	 req;		/* when it is a write request */
	struct fp_chunk	*next;
	struct fp_pipe	*pipe;
	uint64_t	 ready;		/* loop time (ms) it may leave */
	uint64_t	 soff;		/* stream offset of data[0] */
	size_t		 len;		/* bytes to forward */
	size_t		 off;		/* of which already forwarded */
	unsigned	 stall : 1;	/* stall the conn before it leaves */
	unsigned	 cut_after : 1;	/* truncated: cut when it has left */
	char		 data[];
};

struct fp_pipe {
	struct fp_conn	*conn;
	const char	*name;		/* "up" or "down" */
	uv_tcp_t	*src, *dst;
	uint64_t	*stat;		/* stats.bytes_up or _down */
	struct fp_chunk	*head, **tailp;
	size_t		 queued;	/* bytes queued or being written */
	unsigned	 writing;	/* write requests outstanding */
	uint64_t	 rd_off;	/* bytes read from src */
	uint64_t	 fwd_off;	/* bytes handed to dst */
	double		 tokens;
	uint64_t	 refill_at;	/* loop time of the last refill */
	uv_timer_t	 timer;		/* delay and rate waits */
	uv_shutdown_t	 sreq;
	unsigned	 paused : 1;	/* reading stopped: queue full */
	unsigned	 eof : 1;	/* src sent FIN */
	unsigned	 shutting : 1;	/* shutdown of dst requested */
	unsigned	 shut : 1;	/* and done */
};

enum fp_state {
	FP_CONNECTING,
	FP_OPEN,
	FP_CLOSING
};

struct fp_conn {
	struct fp_conn	*prev, *next;
	uint64_t	 id;
	enum fp_state	 state;
	int		 handles;	/* open handles; 0: free the conn */
	uv_tcp_t	 client, upstream;
	uv_connect_t	 creq;
	uv_timer_t	 stall_timer, cut_timer;
	struct fp_pipe	 pipe[2];
	struct fp_rng	 rng;		/* per-chunk draws */
	uint64_t	 cut_at;	/* forwarded bytes at which to cut */
	uint64_t	 silent_at;	/* forwarded bytes after which nothing
					   more goes either way, and no reset
					   tells either peer (FP_NEVER: no) */
	uint64_t	 cut_ms;	/* time after which to cut */
	uint64_t	 fwd;		/* bytes forwarded, both ways */
	uint64_t	 stall_until;	/* loop time */
	uint64_t	 open_at;	/* loop time the client's TCP handshake
					   would have ended: nothing goes up
					   before it */
};

static uv_loop_t	 loop;
static uv_tcp_t		 listener;
static uv_signal_t	 sig_usr1, sig_term, sig_int;
static struct fp_opts	 opts;
static struct fp_stats	 stats;
static struct fp_rng	 accept_rng;	/* refusals */
static struct fp_conn	*conns;
static uint64_t		 active;	/* conns not CLOSING */
static uint64_t		 next_id = 1;
static int		 stopping;

static void	pipe_pump(struct fp_pipe *);
static void	conn_close(struct fp_conn *, int);
static void	on_pipe_timer(uv_timer_t *);
static void	on_stall_timer(uv_timer_t *);
static void	on_alloc(uv_handle_t *, size_t, uv_buf_t *);
static void	on_read(uv_stream_t *, ssize_t, const uv_buf_t *);

/*
 * splitmix64: small, fast, and good enough to draw faults.  Every conn
 * gets its own streams, derived from the seed and its id, so its cut
 * offset does not depend on what other conns did.
 */
static uint64_t
rng_next(struct fp_rng *r)
{
	uint64_t z;

	z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct fp_rng *r, uint64_t seed, uint64_t id, uint64_t stream)
{
	r->s = seed;
	r->s = rng_next(r) ^ (id * 0xd1342543de82ef95ULL);
	r->s = rng_next(r) ^ (stream * 0xaf251af3b0f025b5ULL);
	(void)rng_next(r);
}

/* Uniform in [0, 1). */
static double
rng_unit(struct fp_rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n); n > 0. */
static uint64_t
rng_below(struct fp_rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

static int
rng_chance(struct fp_rng *r, double p)
{
	if (p <= 0)
		return 0;
	return rng_unit(r) < p;
}

/* Exponentially distributed with the given mean, floored; mean > 0. */
static uint64_t
rng_expo(struct fp_rng *r, double mean)
{
	double v;

	v = -mean * log1p(-rng_unit(r));
	if (!(v < 9e18))
		return FP_NEVER - 1;
	return (uint64_t)v;
}

static void __attribute__((format(printf, 2, 3)))
fp_log(const struct fp_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (!opts.log)
		return;
	fprintf(stderr, "faultproxy: conn=%" PRIu64 " ", c->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
stats_print(void)
{
	printf("faultproxy stats: connections=%" PRIu64 " fast_opens=%" PRIu64
	    " refused=%" PRIu64
	    " connect_errors=%" PRIu64 " active=%" PRIu64
	    " bytes_up=%" PRIu64 " bytes_down=%" PRIu64 " cuts=%" PRIu64
	    " stalls=%" PRIu64 " truncations=%" PRIu64
	    " corruptions=%" PRIu64 " peak_queue=%zu\n",
	    stats.connections, stats.fast_opens, stats.refused, stats.connect_errors, active,
	    stats.bytes_up, stats.bytes_down, stats.cuts, stats.stalls,
	    stats.truncations, stats.corruptions, stats.peak_queue);
	fflush(stdout);
}

/*
 * Closing.  on_conn_handle_close is the close callback of all six
 * handles of a conn; the last one frees it.
 */
static void
on_conn_handle_close(uv_handle_t *h)
{
	struct fp_conn *c = h->data;

	if (--c->handles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

static void
pipe_drop(struct fp_pipe *p)
{
	struct fp_chunk *ch;

	while ((ch = p->head) != NULL) {
		p->head = ch->next;
		p->queued -= ch->len - ch->off;
		free(ch);
	}
	p->tailp = &p->head;
}

static void
tcp_close(uv_tcp_t *h, int reset)
{
	if (uv_is_closing((uv_handle_t *)h))
		return;
	/* close_reset refuses a handle with a pending shutdown. */
	if (reset && uv_tcp_close_reset(h, on_conn_handle_close) == 0)
		return;
	uv_close((uv_handle_t *)h, on_conn_handle_close);
}

/* Closes both sides, with a RST when reset is set.  Idempotent. */
static void
conn_close(struct fp_conn *c, int reset)
{
	if (c->state == FP_CLOSING)
		return;
	c->state = FP_CLOSING;
	active--;
	pipe_drop(&c->pipe[0]);
	pipe_drop(&c->pipe[1]);
	uv_close((uv_handle_t *)&c->pipe[0].timer, on_conn_handle_close);
	uv_close((uv_handle_t *)&c->pipe[1].timer, on_conn_handle_close);
	uv_close((uv_handle_t *)&c->stall_timer, on_conn_handle_close);
	uv_close((uv_handle_t *)&c->cut_timer, on_conn_handle_close);
	tcp_close(&c->client, reset);
	tcp_close(&c->upstream, reset);
}

/* An injected cut: counted, logged, and both peers get a RST. */
static void
conn_cut(struct fp_conn *c, const char *reason)
{
	stats.cuts++;
	fp_log(c, "fault=cut reason=%s offset=%" PRIu64 " up=%" PRIu64
	    " down=%" PRIu64, reason, c->fwd, c->pipe[0].fwd_off,
	    c->pipe[1].fwd_off);
	conn_close(c, 1);
}

/*
 * Forwarding.
 */
static void
pipe_resume(struct fp_pipe *p)
{
	if (!p->paused || p->queued > opts.queue_max / 2)
		return;
	p->paused = 0;
	if (!p->eof && uv_read_start((uv_stream_t *)p->src, on_alloc,
	    on_read) != 0)
		conn_close(p->conn, 1);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct fp_pipe *p = req->data;
	struct fp_conn *c = p->conn;

	if (c->state != FP_OPEN)
		return;
	if (status < 0) {
		conn_close(c, 1);
		return;
	}
	p->shut = 1;
	if (c->pipe[0].shut && c->pipe[1].shut)
		conn_close(c, 0);
}

/* Passes an EOF on once everything before it has been handed over. */
static void
pipe_maybe_shutdown(struct fp_pipe *p)
{
	if (!p->eof || p->shutting || p->head != NULL || p->writing > 0)
		return;
	p->shutting = 1;
	p->sreq.data = p;
	if (uv_shutdown(&p->sreq, (uv_stream_t *)p->dst, on_shutdown) != 0)
		conn_close(p->conn, 1);
}

static void
on_write(uv_write_t *req, int status)
{
	struct fp_chunk *w = FP_CONTAINER(req, struct fp_chunk, req);
	struct fp_pipe *p;
	struct fp_conn *c;

	p = w->pipe;
	c = p->conn;
	p->writing--;
	p->queued -= w->len;
	free(w);
	if (c->state != FP_OPEN)
		return;
	if (status < 0) {
		conn_close(c, 1);
		return;
	}
	pipe_resume(p);
	if (c->state == FP_OPEN)
		pipe_maybe_shutdown(p);
}

/*
 * Hands n bytes from the head chunk to dst.  A whole chunk is its own
 * write request; a part is copied out.  Returns -1 if the conn closed.
 */
static int
pipe_write(struct fp_pipe *p, struct fp_chunk *ch, size_t n)
{
	struct fp_conn *c = p->conn;
	struct fp_chunk *w;
	uv_buf_t buf;

	if (ch->off == 0 && n == ch->len) {
		p->head = ch->next;
		if (p->head == NULL)
			p->tailp = &p->head;
		w = ch;
	} else {
		if ((w = malloc(sizeof(*w) + n)) == NULL) {
			fprintf(stderr, "faultproxy: out of memory\n");
			conn_close(c, 1);
			return -1;
		}
		memcpy(w->data, ch->data + ch->off, n);
		w->len = n;
		w->off = 0;
		w->pipe = p;
		ch->off += n;
	}
	w->next = NULL;
	buf = uv_buf_init(w->data, (unsigned)n);
	if (uv_write(&w->req, (uv_stream_t *)p->dst, &buf, 1, on_write) != 0) {
		/* w is unlinked (whole) or a copy (slice): ours to free. */
		p->queued -= n;
		free(w);
		conn_close(c, 1);
		return -1;
	}
	p->writing++;
	c->fwd += n;
	p->fwd_off += n;
	*p->stat += n;
	return 0;
}

/*
 * How many of n bytes the token bucket lets go now (0: the pipe timer
 * is armed for when enough have come in).  The bucket holds a tenth of
 * a second's worth, at least one byte, so bursts stay small.
 */
static size_t
pipe_tokens(struct fp_pipe *p, size_t n, uint64_t now)
{
	double burst, want;
	uint64_t wait;

	burst = opts.rate / 10;
	if (burst < 1)
		burst = 1;
	p->tokens += (double)(now - p->refill_at) * opts.rate / 1000;
	p->refill_at = now;
	if (p->tokens > burst)
		p->tokens = burst;
	if (p->tokens >= 1) {
		if ((double)n > p->tokens)
			n = (size_t)p->tokens;
		p->tokens -= (double)n;
		return n;
	}
	want = (double)n < burst ? (double)n : burst;
	wait = (uint64_t)ceil((want - p->tokens) * 1000 / opts.rate);
	uv_timer_start(&p->timer, on_pipe_timer, wait ? wait : 1, 0);
	return 0;
}

static void
conn_stall(struct fp_conn *c, struct fp_pipe *p, struct fp_chunk *ch,
    uint64_t now)
{
	stats.stalls++;
	fp_log(c, "fault=stall dir=%s offset=%" PRIu64 " ms=%" PRIu64,
	    p->name, ch->soff + ch->off, opts.stall_ms);
	c->stall_until = now + opts.stall_ms;
	uv_timer_start(&c->stall_timer, on_stall_timer, opts.stall_ms, 0);
}

/* Forwards from the head of p while delay, stall, rate and cut allow. */
static void
pipe_pump(struct fp_pipe *p)
{
	struct fp_conn *c;
	struct fp_chunk *ch;
	uint64_t now;
	size_t n;
	int cut, trunc;

	c = p->conn;
	while (c->state == FP_OPEN && (ch = p->head) != NULL) {
		now = uv_now(&loop);
		if (c->stall_until > now)
			return;
		if (ch->ready > now) {
			uv_timer_start(&p->timer, on_pipe_timer,
			    ch->ready - now, 0);
			return;
		}
		if (ch->stall) {
			ch->stall = 0;
			conn_stall(c, p, ch, now);
			return;
		}
		n = ch->len - ch->off;
		/* A link gone silent: what is queued stays, nobody hears. */
		if (c->silent_at != FP_NEVER && c->fwd + n > c->silent_at) {
			if (c->fwd >= c->silent_at)
				return;
			n = (size_t)(c->silent_at - c->fwd);
		}
		cut = 0;
		if (c->cut_at != FP_NEVER && c->fwd + n >= c->cut_at) {
			n = (size_t)(c->cut_at - c->fwd);
			cut = 1;
		}
		if (n > 0 && opts.rate > 0) {
			size_t m = pipe_tokens(p, n, now);

			if (m == 0)
				return;
			if (m < n)
				cut = 0;
			n = m;
		}
		trunc = ch->cut_after && ch->off + n == ch->len;
		if (n > 0 && pipe_write(p, ch, n) != 0)
			return;
		/* ch may be a write request now: do not touch it below. */
		if (cut) {
			conn_cut(c, "bytes");
			return;
		}
		if (p->head == ch && ch->off == ch->len) {
			/* Sent in slices, or truncated to nothing. */
			p->head = ch->next;
			if (p->head == NULL)
				p->tailp = &p->head;
			free(ch);
		}
		if (trunc) {
			/* The truncated prefix has left; the rest is lost. */
			conn_close(c, 1);
			return;
		}
	}
	if (c->state == FP_OPEN)
		pipe_maybe_shutdown(p);
}

static void
on_pipe_timer(uv_timer_t *t)
{
	pipe_pump(FP_CONTAINER(t, struct fp_pipe, timer));
}

static void
on_stall_timer(uv_timer_t *t)
{
	struct fp_conn *c = t->data;

	c->stall_until = 0;
	pipe_pump(&c->pipe[0]);
	if (c->state == FP_OPEN)
		pipe_pump(&c->pipe[1]);
}

static void
on_cut_timer(uv_timer_t *t)
{
	struct fp_conn *c = t->data;

	if (c->state == FP_OPEN)
		conn_cut(c, "time");
}

/*
 * Reading.  Each read gets a fresh chunk; on_read draws its faults,
 * queues it and pumps.
 */
static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fp_chunk *ch;

	if ((ch = malloc(sizeof(*ch) + FP_READ_SIZE)) == NULL) {
		*buf = uv_buf_init(NULL, 0);	/* on_read gets UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init(ch->data, FP_READ_SIZE);
}

/* Draws a chunk's faults: truncation, then a bit flip, then a stall. */
static void
chunk_faults(struct fp_conn *c, struct fp_pipe *p, struct fp_chunk *ch)
{
	uint64_t bit;

	if (rng_chance(&c->rng, opts.truncate_prob)) {
		ch->len = (size_t)rng_below(&c->rng, ch->len);
		ch->cut_after = 1;
		stats.truncations++;
		fp_log(c, "fault=truncate dir=%s offset=%" PRIu64
		    " keep=%zu", p->name, ch->soff, ch->len);
	}
	if (ch->len > 0 && rng_chance(&c->rng, opts.corrupt_prob)) {
		bit = rng_below(&c->rng, (uint64_t)ch->len * 8);
		ch->data[bit / 8] ^= (char)(1u << (bit % 8));
		stats.corruptions++;
		fp_log(c, "fault=corrupt dir=%s offset=%" PRIu64 " bit=%u",
		    p->name, ch->soff + bit / 8, (unsigned)(bit % 8));
	}
	if (opts.stall_ms > 0 && rng_chance(&c->rng, opts.stall_prob))
		ch->stall = 1;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct fp_conn *c = s->data;
	struct fp_pipe *p;
	struct fp_chunk *ch = NULL, *sh;

	p = s == (uv_stream_t *)&c->client ? &c->pipe[0] : &c->pipe[1];
	if (buf->base != NULL)
		ch = FP_CONTAINER(buf->base, struct fp_chunk, data);
	if (nread <= 0 || c->state != FP_OPEN) {
		free(ch);
		if (nread == 0 || c->state != FP_OPEN)
			return;
		if (nread == UV_EOF) {
			p->eof = 1;
			uv_read_stop(s);
			pipe_maybe_shutdown(p);
			return;
		}
		/* A reset or error: pass it on as a reset. */
		conn_close(c, 1);
		return;
	}
	if ((sh = realloc(ch, sizeof(*ch) + (size_t)nread)) != NULL)
		ch = sh;
	ch->next = NULL;
	ch->pipe = p;
	/* A real link's connect takes a round trip (SYN, SYN-ACK) before
	   the client's first byte may leave; here the client's connect
	   ends at once, so its first bytes wait out that round trip. */
	ch->ready = uv_now(&loop);
	if (p == &c->pipe[0] && ch->ready < c->open_at)
		ch->ready = c->open_at;
	ch->ready += opts.delay_ms;
	ch->soff = p->rd_off;
	ch->len = (size_t)nread;
	ch->off = 0;
	ch->stall = 0;
	ch->cut_after = 0;
	p->rd_off += (uint64_t)nread;
	chunk_faults(c, p, ch);
	*p->tailp = ch;
	p->tailp = &ch->next;
	p->queued += ch->len;
	if (p->queued > stats.peak_queue)
		stats.peak_queue = p->queued;
	if (ch->cut_after || p->queued >= opts.queue_max) {
		/* Full, or nothing after a truncation will be sent. */
		uv_read_stop(s);
		p->paused = !ch->cut_after;
	}
	pipe_pump(p);
}

/*
 * Connecting and accepting.
 */
static void
on_connect(uv_connect_t *req, int status)
{
	struct fp_conn *c = req->data;

	if (c->state != FP_CONNECTING)
		return;			/* closed meanwhile (UV_ECANCELED) */
	if (status < 0) {
		stats.connect_errors++;
		fp_log(c, "connect to target failed: %s", uv_strerror(status));
		conn_close(c, 1);
		return;
	}
	c->state = FP_OPEN;
	uv_tcp_nodelay(&c->upstream, 1);
	if (uv_read_start((uv_stream_t *)&c->client, on_alloc, on_read) != 0 ||
	    uv_read_start((uv_stream_t *)&c->upstream, on_alloc,
	    on_read) != 0) {
		conn_close(c, 1);
		return;
	}
	if (c->cut_ms != FP_NEVER)
		uv_timer_start(&c->cut_timer, on_cut_timer, c->cut_ms, 0);
}

static void
pipe_init(struct fp_conn *c, struct fp_pipe *p, int up)
{
	p->conn = c;
	p->name = up ? "up" : "down";
	p->src = up ? &c->client : &c->upstream;
	p->dst = up ? &c->upstream : &c->client;
	p->stat = up ? &stats.bytes_up : &stats.bytes_down;
	p->tailp = &p->head;
	p->tokens = opts.rate / 10 < 1 ? 1 : opts.rate / 10;
	p->refill_at = uv_now(&loop);
	uv_timer_init(&loop, &p->timer);
	p->timer.data = c;
}

static void
on_refused_close(uv_handle_t *h)
{
	free(h);
}

/* Accepts and at once closes with a RST. */
static void
refuse(uint64_t id, const char *reason)
{
	uv_tcp_t *t;

	stats.refused++;
	if (opts.log)
		fprintf(stderr, "faultproxy: conn=%" PRIu64
		    " fault=refuse reason=%s\n", id, reason);
	if ((t = malloc(sizeof(*t))) == NULL) {
		fprintf(stderr, "faultproxy: out of memory\n");
		return;
	}
	uv_tcp_init(&loop, t);
	if (uv_accept((uv_stream_t *)&listener, (uv_stream_t *)t) != 0 ||
	    uv_tcp_close_reset(t, on_refused_close) != 0)
		uv_close((uv_handle_t *)t, on_refused_close);
}

/* 1 when the kernel accepted data in the client's SYN (Fast Open). */
static int
syn_had_data(uv_tcp_t *t)
{
#if defined(TCP_INFO) && defined(TCPI_OPT_SYN_DATA)
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)t, &fd) != 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return (ti.tcpi_options & TCPI_OPT_SYN_DATA) != 0;
#else
	(void)t;
	return 0;
#endif
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct sockaddr_in sa;
	struct fp_conn *c;
	struct fp_rng cut_rng;
	uint64_t id;
	int rc;

	if (status < 0) {
		fprintf(stderr, "faultproxy: accept: %s\n",
		    uv_strerror(status));
		return;
	}
	id = next_id++;
	stats.connections++;
	/* Drawn for every conn, so refusals stay reproducible. */
	if (rng_chance(&accept_rng, opts.refuse_prob)) {
		refuse(id, "prob");
		return;
	}
	if (opts.max_conns > 0 && active >= opts.max_conns) {
		refuse(id, "max-conns");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fprintf(stderr, "faultproxy: out of memory\n");
		refuse(id, "memory");
		return;
	}
	c->id = id;
	c->state = FP_CONNECTING;
	c->open_at = uv_now(&loop) + (opts.no_connect_rtt ? 0 :
	    2 * opts.delay_ms);
	c->handles = FP_CONN_HANDLES;
	rng_seed(&c->rng, opts.seed, id, 1);
	rng_seed(&cut_rng, opts.seed, id, 2);
	c->cut_at = opts.cut_mean > 0 ? rng_expo(&cut_rng, opts.cut_mean) :
	    FP_NEVER;
	if (opts.cut_at > 0 && opts.cut_at < c->cut_at)
		c->cut_at = opts.cut_at;
	/* The first connection only, so a peer that gives up on it gets
	   through on the next. */
	c->silent_at = opts.silent_at > 0 && id == 1 ? opts.silent_at :
	    FP_NEVER;
	c->cut_ms = opts.cut_every_ms > 0 ?
	    rng_expo(&cut_rng, opts.cut_every_ms) : FP_NEVER;
	uv_tcp_init(&loop, &c->client);
	uv_tcp_init(&loop, &c->upstream);
	uv_timer_init(&loop, &c->stall_timer);
	uv_timer_init(&loop, &c->cut_timer);
	c->client.data = c->upstream.data = c;
	c->stall_timer.data = c->cut_timer.data = c;
	c->creq.data = c;
	pipe_init(c, &c->pipe[0], 1);
	pipe_init(c, &c->pipe[1], 0);
	if ((c->next = conns) != NULL)
		conns->prev = c;
	conns = c;
	active++;
	if ((rc = uv_accept(server, (uv_stream_t *)&c->client)) != 0) {
		fprintf(stderr, "faultproxy: accept: %s\n", uv_strerror(rc));
		conn_close(c, 0);
		return;
	}
	uv_tcp_nodelay(&c->client, 1);
	/* TCP Fast Open: the client's first bytes came in its SYN, so its
	   connect cost no round trip before them. */
	if (syn_had_data(&c->client)) {
		stats.fast_opens++;
		c->open_at = 0;
		fp_log(c, "fast-open");
	}
	uv_ip4_addr("127.0.0.1", (int)opts.target_port, &sa);
	if ((rc = uv_tcp_connect(&c->creq, &c->upstream,
	    (const struct sockaddr *)&sa, on_connect)) != 0) {
		stats.connect_errors++;
		fp_log(c, "connect to target failed: %s", uv_strerror(rc));
		conn_close(c, 1);
	}
}

/*
 * Signals: SIGUSR1 prints the counters; SIGTERM and SIGINT close
 * everything, and main prints them once more when the loop is empty.
 */
static void
on_signal_close(uv_handle_t *h)
{
}

static void
on_listener_close(uv_handle_t *h)
{
}

static void
stop(void)
{
	struct fp_conn *c;

	if (stopping)
		return;
	stopping = 1;
	uv_close((uv_handle_t *)&listener, on_listener_close);
	uv_close((uv_handle_t *)&sig_usr1, on_signal_close);
	uv_close((uv_handle_t *)&sig_term, on_signal_close);
	uv_close((uv_handle_t *)&sig_int, on_signal_close);
	for (c = conns; c != NULL; c = c->next)
		conn_close(c, 0);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	if (signum == SIGUSR1)
		stats_print();
	else
		stop();
}

/*
 * Options.
 */
static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: faultproxy [options] LISTEN_PORT TARGET_PORT\n"
	    "  --listen PORT, --target PORT   instead of the operands "
	    "(LISTEN_PORT 0: any)\n"
	    "  --seed N              seed of every random choice\n"
	    "  --cut-mean BYTES      cut after ~BYTES forwarded (both ways; "
	    "0: never)\n"
	    "  --cut-every-ms MS     cut after ~MS (0: never)\n"
	    "  --silent-at BYTES     the first connection forwards nothing "
	    "more after BYTES\n"
	    "                        (both ways) and is never closed: a link "
	    "gone silent\n"
	    "  --cut-at BYTES        cut every connection after exactly BYTES "
	    "(both ways)\n"
	    "  --stall-prob P --stall-ms MS   stall both ways for MS, per "
	    "chunk\n"
	    "  --delay-ms MS         one-way latency per chunk; a new "
	    "connection's first\n"
	    "                        bytes up also wait one round trip "
	    "(its TCP handshake)\n"
	    "  --no-connect-rtt      connections cost no round trip\n"
	    "  --rate BYTES_PER_S    per direction (0: unlimited)\n"
	    "  --truncate-prob P     forward a prefix of a chunk, then cut\n"
	    "  --corrupt-prob P      flip one bit of a chunk\n"
	    "  --refuse-prob P       close an accepted connection at once\n"
	    "  --max-conns N         refuse beyond N concurrent "
	    "connections\n"
	    "  --queue-max BYTES     per-direction queue bound (default "
	    "1048576)\n"
	    "  --log                 one line on stderr per fault\n");
	exit(code);
}

static double
opt_num(const char *name, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "faultproxy: %s: \"%s\" is not a number from "
		    "%g to %g\n", name, s, lo, hi);
		exit(2);
	}
	return v;
}

static uint64_t
opt_uint(const char *name, const char *s, uint64_t hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v > hi) {
		fprintf(stderr, "faultproxy: %s: \"%s\" is not a whole number "
		    "from 0 to %" PRIu64 "\n", name, s, hi);
		exit(2);
	}
	return v;
}

enum {
	OPT_LISTEN = 256, OPT_TARGET, OPT_SEED, OPT_CUT_MEAN, OPT_CUT_MS,
	OPT_STALL_PROB, OPT_STALL_MS, OPT_DELAY, OPT_RATE, OPT_TRUNCATE,
	OPT_CORRUPT, OPT_REFUSE, OPT_MAX_CONNS, OPT_QUEUE_MAX, OPT_LOG,
	OPT_NO_CONNECT_RTT, OPT_CUT_AT, OPT_SILENT_AT, OPT_HELP
};

static const struct option longopts[] = {
	{ "listen",		required_argument,	NULL, OPT_LISTEN },
	{ "target",		required_argument,	NULL, OPT_TARGET },
	{ "seed",		required_argument,	NULL, OPT_SEED },
	{ "cut-mean",		required_argument,	NULL, OPT_CUT_MEAN },
	{ "cut-every-ms",	required_argument,	NULL, OPT_CUT_MS },
	{ "cut-at",		required_argument,	NULL, OPT_CUT_AT },
	{ "silent-at",		required_argument,	NULL, OPT_SILENT_AT },
	{ "stall-prob",		required_argument,	NULL, OPT_STALL_PROB },
	{ "stall-ms",		required_argument,	NULL, OPT_STALL_MS },
	{ "delay-ms",		required_argument,	NULL, OPT_DELAY },
	{ "no-connect-rtt",	no_argument,		NULL, OPT_NO_CONNECT_RTT },
	{ "rate",		required_argument,	NULL, OPT_RATE },
	{ "truncate-prob",	required_argument,	NULL, OPT_TRUNCATE },
	{ "corrupt-prob",	required_argument,	NULL, OPT_CORRUPT },
	{ "refuse-prob",	required_argument,	NULL, OPT_REFUSE },
	{ "max-conns",		required_argument,	NULL, OPT_MAX_CONNS },
	{ "queue-max",		required_argument,	NULL, OPT_QUEUE_MAX },
	{ "log",		no_argument,		NULL, OPT_LOG },
	{ "help",		no_argument,		NULL, OPT_HELP },
	{ NULL,			0,			NULL, 0 }
};

static void
parse_opts(int argc, char **argv)
{
	const uint64_t day_ms = 86400000;
	int ch, seeded = 0;

	opts.queue_max = FP_QUEUE_MAX;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_LISTEN:
			opts.listen_port = opt_uint("--listen", optarg, 65535);
			opts.have_listen = 1;
			break;
		case OPT_TARGET:
			opts.target_port = opt_uint("--target", optarg, 65535);
			opts.have_target = 1;
			break;
		case OPT_SEED:
			opts.seed = opt_uint("--seed", optarg, UINT64_MAX);
			seeded = 1;
			break;
		case OPT_CUT_MEAN:
			opts.cut_mean = opt_num("--cut-mean", optarg, 0, 1e15);
			break;
		case OPT_CUT_AT:
			opts.cut_at = opt_uint("--cut-at", optarg,
			    (uint64_t)1 << 50);
			break;
		case OPT_SILENT_AT:
			opts.silent_at = opt_uint("--silent-at", optarg,
			    (uint64_t)1 << 50);
			break;
		case OPT_CUT_MS:
			opts.cut_every_ms = opt_num("--cut-every-ms", optarg,
			    0, (double)day_ms);
			break;
		case OPT_STALL_PROB:
			opts.stall_prob = opt_num("--stall-prob", optarg, 0, 1);
			break;
		case OPT_STALL_MS:
			opts.stall_ms = opt_uint("--stall-ms", optarg, day_ms);
			break;
		case OPT_DELAY:
			opts.delay_ms = opt_uint("--delay-ms", optarg, day_ms);
			break;
		case OPT_RATE:
			opts.rate = opt_num("--rate", optarg, 0, 1e12);
			break;
		case OPT_TRUNCATE:
			opts.truncate_prob = opt_num("--truncate-prob", optarg,
			    0, 1);
			break;
		case OPT_CORRUPT:
			opts.corrupt_prob = opt_num("--corrupt-prob", optarg,
			    0, 1);
			break;
		case OPT_REFUSE:
			opts.refuse_prob = opt_num("--refuse-prob", optarg,
			    0, 1);
			break;
		case OPT_MAX_CONNS:
			opts.max_conns = opt_uint("--max-conns", optarg,
			    UINT32_MAX);
			break;
		case OPT_QUEUE_MAX:
			opts.queue_max = opt_uint("--queue-max", optarg,
			    (uint64_t)1 << 32);
			if (opts.queue_max < 2)
				opts.queue_max = 2;
			break;
		case OPT_LOG:
			opts.log = 1;
			break;
		case OPT_NO_CONNECT_RTT:
			opts.no_connect_rtt = 1;
			break;
		case OPT_HELP:
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 1 && !opts.have_listen) {
		opts.listen_port = opt_uint("LISTEN_PORT", argv[0], 65535);
		opts.have_listen = 1;
		argc--;
		argv++;
	}
	if (argc >= 1 && !opts.have_target) {
		opts.target_port = opt_uint("TARGET_PORT", argv[0], 65535);
		opts.have_target = 1;
		argc--;
	}
	if (argc != 0 || !opts.have_listen || !opts.have_target ||
	    opts.target_port == 0)
		usage(2);
	if (!seeded)
		opts.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

/* Accepts TCP Fast Open, as a real server may (best effort: the kernel's
   net.ipv4.tcp_fastopen needs bit 2). */
static void
listener_fast_open(void)
{
#ifdef TCP_FASTOPEN
	uv_os_fd_t fd;
	int qlen = FP_BACKLOG;

	if (uv_fileno((uv_handle_t *)&listener, &fd) == 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen,
		    sizeof(qlen));
#endif
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct sockaddr_storage ss;
	int rc, len;

	parse_opts(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	rng_seed(&accept_rng, opts.seed, 0, 0);
	if ((rc = uv_loop_init(&loop)) != 0) {
		fprintf(stderr, "faultproxy: uv_loop_init: %s\n",
		    uv_strerror(rc));
		return 1;
	}
	uv_tcp_init(&loop, &listener);
	uv_ip4_addr("127.0.0.1", (int)opts.listen_port, &sa);
	if ((rc = uv_tcp_bind(&listener, (const struct sockaddr *)&sa,
	    0)) == 0)
		listener_fast_open();
	if (rc != 0 || (rc = uv_listen((uv_stream_t *)&listener, FP_BACKLOG,
	    on_connection)) != 0) {
		fprintf(stderr, "faultproxy: listen on 127.0.0.1:%u: %s\n",
		    opts.listen_port, uv_strerror(rc));
		uv_close((uv_handle_t *)&listener, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		return 1;
	}
	len = sizeof(ss);
	if ((rc = uv_tcp_getsockname(&listener, (struct sockaddr *)&ss,
	    &len)) != 0) {
		fprintf(stderr, "faultproxy: getsockname: %s\n",
		    uv_strerror(rc));
		return 1;
	}
	uv_signal_init(&loop, &sig_usr1);
	uv_signal_init(&loop, &sig_term);
	uv_signal_init(&loop, &sig_int);
	uv_signal_start(&sig_usr1, on_signal, SIGUSR1);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	printf("faultproxy listening on 127.0.0.1:%u\n",
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	if (opts.log)
		fprintf(stderr, "faultproxy: seed=%" PRIu64 "\n", opts.seed);

	uv_run(&loop, UV_RUN_DEFAULT);

	stats_print();
	if ((rc = uv_loop_close(&loop)) != 0) {
		fprintf(stderr, "faultproxy: uv_loop_close: %s\n",
		    uv_strerror(rc));
		return 1;
	}
	uv_library_shutdown();
	return 0;
}
