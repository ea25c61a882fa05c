/* clock.c: see clock.h. */
#include "common/clock.h"

#include <string.h>
#include <time.h>

#include "common/util.h"

struct clock_state {
	int source;		/* RTC or NTP vouches */
	int collector;		/* 1 agreed, -1 disagreed, 0 not asked */
	int jumped;		/* jumped back since the last agreement */
	int64_t high_ms;	/* latest trusted stamp */
	int64_t delta_ms;	/* wall - boot time at the last look */
	int have_delta;
};

static struct clock_state clock_st = { .source = 1 };

/* Milliseconds since boot, counting suspend: it never jumps. */
static int64_t
clock_real_boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t (*clock_wall)(void) = util_now_ms;
static int64_t (*clock_boot)(void) = clock_real_boot_ms;

void
clock_test_hooks(int64_t (*wall)(void), int64_t (*boot)(void))
{
	static const struct clock_state fresh = { .source = 1 };

	clock_wall = wall ? wall : util_now_ms;
	clock_boot = boot ? boot : clock_real_boot_ms;
	clock_st = fresh;
}

/* The wall clock now, noticing a jump back against boot time or behind
   the latest trusted stamp. */
static int64_t
clock_look(void)
{
	int64_t now = clock_wall(), delta = now - clock_boot();

	if (clock_st.have_delta && delta < clock_st.delta_ms - CLOCK_JUMP_MS)
		clock_st.jumped = 1;
	clock_st.delta_ms = delta;
	clock_st.have_delta = 1;
	if (clock_st.high_ms && now < clock_st.high_ms - CLOCK_JUMP_MS)
		clock_st.jumped = 1;
	return now;
}

/* Why not trusted at now, "" when trusted. */
static const char *
clock_verdict(int64_t now)
{
	if (now < CLOCK_BUILD_MS)
		return "the clock is before this software was built";
	if (clock_st.collector < 0)
		return "the clock disagrees with the collector's";
	if (clock_st.jumped)
		return "the clock jumped back";
	if (!clock_st.source && clock_st.collector == 0)
		return "no real-time clock or network time";
	return "";
}

const char *
clock_why(void)
{
	return clock_verdict(clock_look());
}

int
clock_now(int64_t *ms)
{
	int trusted;

	*ms = clock_look();
	trusted = clock_verdict(*ms)[0] == '\0';
	if (trusted && *ms > clock_st.high_ms)
		clock_st.high_ms = *ms;
	return trusted;
}

void
clock_set_source(int ok)
{
	clock_st.source = ok;
}

void
clock_set_high(int64_t ms)
{
	if (ms > clock_st.high_ms)
		clock_st.high_ms = ms;
}

void
clock_collector(int64_t offset_ms)
{
	int64_t now = clock_look();

	if (offset_ms <= CLOCK_AGREE_MS && offset_ms >= -CLOCK_AGREE_MS) {
		clock_st.collector = 1;
		clock_st.jumped = 0;
		/* The collector vouches for now: a stamp ahead of it was
		   the wrong one. */
		clock_st.high_ms = now;
	} else
		clock_st.collector = -1;
}

int64_t
clock_delta_ms(void)
{
	clock_look();
	return clock_st.delta_ms;
}

void
clock_today(char out[11])
{
	int64_t ms;

	if (clock_now(&ms))
		util_date(ms, out);
	else
		memcpy(out, "9999-12-31", 11);
}
