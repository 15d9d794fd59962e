#include "terminal.h"

#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

int ct_make_raw(int fd, void *saved, size_t saved_len) {
    struct termios t;
    if (saved_len < sizeof t || tcgetattr(fd, &t) != 0) return -1;
    memcpy(saved, &t, sizeof t);
    cfmakeraw(&t);
    return tcsetattr(fd, TCSANOW, &t);
}

int ct_restore(int fd, const void *saved, size_t saved_len) {
    struct termios t;
    if (saved_len < sizeof t) return -1;
    memcpy(&t, saved, sizeof t);
    return tcsetattr(fd, TCSANOW, &t);
}

int ct_set_window_size(int fd, unsigned short columns, unsigned short rows) {
    struct winsize ws = { .ws_row = rows, .ws_col = columns };
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int ct_window_size(int fd, unsigned short *columns, unsigned short *rows) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *columns = ws.ws_col;
    *rows = ws.ws_row;
    return 0;
}
