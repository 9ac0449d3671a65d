#!/usr/bin/env python3
"""A pilot job: one warm runner on a cluster node answering chunks of a batch from a spool folder.

Standard library only (Python 3.6+), so it runs with whatever python3 a compute node has.
Usage: dlhub_pilot.py BATCH_DIR, where BATCH_DIR (on a file system the desktop also sees) holds
  job.json    {"command": [...], "env": {...}, "stop": [...]?, "timeLimitSeconds": N?, "idleExitSeconds": N}
  todo/       chunk files, each one request frame of the runner protocol
  pilots/     where each pilot leaves its own job id (pilots/TAG), for sacct once it has ended
The pilot starts `command` (the runner, in Apptainer, Docker or the host's Python, speaking frames on
stdin/stdout), then claims chunks one at a time by renaming todo/C to claimed/C@TAG (a rename is
atomic: two pilots never get the same chunk), sends the frame, and writes the answer frame to
results/C through a temporary name and a rename (the desktop never sees half an answer). It exits
when nothing is left to claim, when its time is nearly up, or when told to stop (SIGTERM from scancel
or the time limit), stopping its runner first. A chunk it was holding when it died stays in claimed/:
the desktop sees the job gone and puts the chunk back.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time

_U32 = struct.Struct(">I")
runner = None
stop_command = None


def tag():
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array_job:
        return "%s_%s" % (array_job, os.environ.get("SLURM_ARRAY_TASK_ID", "0"))
    return os.environ.get("SLURM_JOB_ID") or "local-%d" % os.getpid()


def record_pilot(batch, me):
    """Leave this pilot's own job id in pilots/TAG: sacct knows an ended array element by that id only."""
    job = os.environ.get("SLURM_JOB_ID")
    folder = os.path.join(batch, "pilots")
    if not job or not os.path.isdir(folder):
        return
    tmp = os.path.join(folder, ".%s.tmp" % me)
    with open(tmp, "w") as f:
        f.write(job)
    os.rename(tmp, os.path.join(folder, me))


def stop_runner():
    global runner
    if stop_command:
        subprocess.call(stop_command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if runner is not None and runner.poll() is None:
        runner.kill()
        runner.wait()


def on_term(signum, frame):
    stop_runner()
    sys.exit(128 + signum)


def read_exact(stream, n):
    data = b""
    while len(data) < n:
        part = stream.read(n - len(data))
        if not part:
            raise EOFError("the runner closed its output")
        data += part
    return data


def claim(batch, me):
    todo = os.path.join(batch, "todo")
    try:
        names = sorted(os.listdir(todo))
    except FileNotFoundError:
        return None
    for name in names:
        if name.startswith("."):
            continue
        target = os.path.join(batch, "claimed", "%s@%s" % (name, me))
        try:
            os.rename(os.path.join(todo, name), target)
        except FileNotFoundError:
            continue  # another pilot took it first
        return name, target
    return None


def main(argv):
    global runner, stop_command
    batch = argv[1]
    with open(os.path.join(batch, "job.json")) as f:
        job = json.load(f)
    me = tag()
    record_pilot(batch, me)
    started = time.time()
    limit = job.get("timeLimitSeconds")
    # Stop claiming while there is still time to answer a chunk and stop cleanly.
    deadline = started + limit - max(5.0, limit * 0.1) if limit else None
    idle_exit = float(job.get("idleExitSeconds", 5))
    # "{tag}" in the command names this pilot's own container (so its stop command removes only that one).
    stop_command = [a.replace("{tag}", me) for a in job["stop"]] if job.get("stop") else None
    command = [a.replace("{tag}", me) for a in job["command"]]
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    env = dict(os.environ)
    env.update(job.get("env") or {})
    runner = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=job.get("cwd") or None)
    answered = 0
    idle_since = None
    try:
        while True:
            if deadline is not None and time.time() > deadline:
                sys.stderr.write("pilot %s: time is nearly up after %d chunk(s); stopping\n" % (me, answered))
                return 0
            got = claim(batch, me)
            if got is None:
                if os.path.exists(os.path.join(batch, "done")):
                    return 0
                idle_since = idle_since or time.time()
                if time.time() - idle_since > idle_exit:
                    return 0
                time.sleep(0.1)
                continue
            idle_since = None
            name, held = got
            with open(held, "rb") as f:
                frame = f.read()
            runner.stdin.write(frame)
            runner.stdin.flush()
            (size,) = _U32.unpack(read_exact(runner.stdout, 4))
            answer = _U32.pack(size) + read_exact(runner.stdout, size)
            tmp = os.path.join(batch, "results", ".%s.%s.tmp" % (name, me))
            with open(tmp, "wb") as f:
                f.write(answer)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, os.path.join(batch, "results", name))
            os.unlink(held)
            answered += 1
    except EOFError as e:
        sys.stderr.write("pilot %s: %s (exit code %s)\n" % (me, e, runner.poll()))
        return 3
    finally:
        stop_runner()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
