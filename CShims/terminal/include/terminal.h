// Terminals for the foreground `skiff run/exec -t`, skiffctl's interactive streams and skiffd's
// resizes: raw mode while a remote terminal is attached, and the window size (TIOCGWINSZ,
// TIOCSWINSZ), which Swift cannot ask for itself (ioctl is variadic).
#pragma once
#include <stddef.h>

/// Puts `fd` in raw mode; the previous settings go to `saved` (at least 64 bytes). -1: not a terminal.
int ct_make_raw(int fd, void *saved, size_t saved_len);
int ct_restore(int fd, const void *saved, size_t saved_len);
/// The window size of `fd`: 0 and the columns and rows, or -1.
int ct_window_size(int fd, unsigned short *columns, unsigned short *rows);
/// Sets the window size of `fd` (a pty master or slave): 0, or -1.
int ct_set_window_size(int fd, unsigned short columns, unsigned short rows);
