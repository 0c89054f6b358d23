#!/usr/bin/env python3
"""Runs a command in a real pseudo-terminal and answers its prompts, as a person
at a terminal would. Input (JSON on stdin): {"argv": [...], "env": {...},
"steps": [{"expect": REGEX, "send": TEXT}, ...], "timeout": SECONDS,
"cols": N, "rows": N}.
Output (JSON): {"exitCode": N, "output": TRANSCRIPT}."""
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time

spec = json.load(sys.stdin)
pid, fd = pty.fork()
if pid == 0:
    # The terminal's size, as a window of that size would set it.
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", spec.get("rows", 40), spec.get("cols", 160), 0, 0))
    os.execvpe(spec["argv"][0], spec["argv"], spec["env"])

deadline = time.time() + spec.get("timeout", 20)
out = b""
seen = 0

def read_some(wait):
    global out
    r, _, _ = select.select([fd], [], [], wait)
    if fd in r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        out += chunk
    return True

ok = True
for step in spec.get("steps", []):
    pattern = re.compile(step["expect"].encode())
    while True:
        m = pattern.search(out, seen)
        if m:
            seen = m.end()
            break
        if time.time() > deadline or not read_some(0.05):
            ok = False
            break
    if not ok:
        break
    os.write(fd, step["send"].encode())

while time.time() < deadline and read_some(0.05):
    pass
try:
    _, status = os.waitpid(pid, os.WNOHANG if not ok else 0)
except ChildProcessError:
    status = 0
if not ok:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    code = -1
else:
    code = os.waitstatus_to_exitcode(status)
print(json.dumps({"exitCode": code, "output": out.decode("utf-8", "replace")}))
