/*
 * nofsync.c: the power-cut check's control (tests/vm/vmtest.py): an
 * LD_PRELOAD shim that makes every way of asking for durability a no-op
 * that reports success.  fieldd then answers 201 for a record that is
 * only in the guest's page cache, which a power cut loses: the same
 * check that passes on the real fieldd must catch that.  Test-only: no
 * package ships it, nothing in the tree links it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

int fsync(int fd) { (void)fd; return 0; }
int fdatasync(int fd) { (void)fd; return 0; }
int syncfs(int fd) { (void)fd; return 0; }
void sync(void) { }
int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
	(void)fd; (void)off; (void)n; (void)flags;
	return 0;
}
