/* clock.c: see clock.h. */
#include "common/clock.h"

#include <string.h>
#include <time.h>

#include "common/util.h"

static struct {
	int source;		/* RTC or NTP vouches */
	int collector;		/* 1 agreed, -1 disagreed, 0 not asked */
	int jumped;		/* jumped back since the last agreement */
	int64_t high_ms;	/* latest trusted stamp */
	int64_t delta_ms;	/* wall - boot time at the last look */
	int have_delta;
} clock_st = { .source = 1 };

/* Milliseconds since boot, counting suspend: it never jumps. */
static int64_t
clock_boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Notices a jump back of the wall clock against boot time. */
static int64_t
clock_look(void)
{
	int64_t now = util_now_ms(), delta = now - clock_boot_ms();

	if (clock_st.have_delta && delta < clock_st.delta_ms - CLOCK_JUMP_MS)
		clock_st.jumped = 1;
	clock_st.delta_ms = delta;
	clock_st.have_delta = 1;
	if (clock_st.high_ms && now < clock_st.high_ms - CLOCK_JUMP_MS)
		clock_st.jumped = 1;
	return now;
}

const char *
clock_why(void)
{
	int64_t now = clock_look();

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

int
clock_now(int64_t *ms)
{
	int trusted = clock_why()[0] == '\0';

	*ms = util_now_ms();
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
	clock_look();
	if (offset_ms <= CLOCK_AGREE_MS && offset_ms >= -CLOCK_AGREE_MS) {
		clock_st.collector = 1;
		clock_st.jumped = 0;
		/* The collector vouches for now: an earlier stamp ahead of
		   it was the wrong one. */
		clock_st.high_ms = util_now_ms();
	} else
		clock_st.collector = -1;
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
