#!/usr/bin/env python3
"""Runs a command in a real pseudo-terminal of a given size and bridges it:
what the command writes to the terminal comes out on stdout as it is written,
and what arrives on stdin is typed into the terminal (so "\\x03" is Ctrl-C,
turned into SIGINT by the terminal itself). Exits with the command's exit
code (128 + N for a signal). Usage: pty_bridge.py COLS ROWS -- ARGV..."""
import fcntl, os, pty, select, struct, sys, termios

cols, rows = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(argv[0], argv)

stdin_open = True
while True:
    watch = [fd] + ([0] if stdin_open else [])
    ready, _, _ = select.select(watch, [], [], 0.1)
    if fd in ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    if stdin_open and 0 in ready:
        data = os.read(0, 1024)
        if not data:
            stdin_open = False
        else:
            os.write(fd, data)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
