#define _GNU_SOURCE
#include <fcntl.h>
#include <sqlite3.h>
// SQLITE_TRANSIENT is a cast macro that Swift cannot import.
static inline sqlite3_destructor_type aether_sqlite_transient(void) { return SQLITE_TRANSIENT; }
// Starts the writeback of a file's dirty pages without waiting for it (Linux; a no-op elsewhere).
static inline int aether_start_writeback(int fd) {
#ifdef SYNC_FILE_RANGE_WRITE
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd;
    return 0;
#endif
}
