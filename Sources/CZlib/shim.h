#include <zlib.h>
// inflateInit2 is a macro; Swift needs a function.
static inline int aether_inflate_init_gzip(z_stream *s) { return inflateInit2(s, 15 + 32); }
static inline int aether_deflate_init(z_stream *s, int level) { return deflateInit(s, level); }
