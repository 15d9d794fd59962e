// Debian's zlib1g-dev: SPDY's header blocks are zlib streams primed with a preset dictionary.
#include <zlib.h>
