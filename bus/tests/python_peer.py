"""A Python zenoh client that decodes every corrigo topic using only docs/messages.md.

Usage: python_peer.py ENDPOINT CELL. Prints one JSON line per message type seen, then exits (20 s at most).
"""
import json
import sys
import threading
import time

import cbor2
import zenoh

endpoint, cell = sys.argv[1], sys.argv[2]
seen = {}
lock = threading.Lock()


def summarize(env):
    assert env["schema"] == 1, env["schema"]
    t, m = env["type"], env["msg"]
    h = m["header"]
    base = {"type": t, "seq": h["seq"], "stamp_ns": h["stamp_ns"]}
    if t == "ArmState":
        base.update(mode=m["mode"], q=m["q"], position=m["ee_pose"]["position"],
                    error_clips=m["limits"]["error_clips"], gripper_width=m["gripper"]["width"])
    elif t == "PoseTarget":
        base.update(position=m["pose"]["position"], gripper=m["gripper"])
    elif t == "OperatorCommand":
        base.update(command=m["command"])
    elif t == "Frame":
        data = m["data"]
        assert isinstance(data, bytes) and len(data) == m["width"] * m["height"] * 3
        base.update(camera=m["camera"], width=m["width"], height=m["height"], encoding=m["encoding"],
                    byte_sum=sum(data))
    elif t == "Event":
        base.update(node=m["node"], level=m["level"], text=m["text"])
    return base


def on_sample(sample):
    env = cbor2.loads(bytes(sample.payload.to_bytes()))
    s = summarize(env)
    s["key"] = str(sample.key_expr)
    with lock:
        if s["type"] not in seen:
            seen[s["type"]] = s
            print(json.dumps(s), flush=True)


conf = zenoh.Config()
conf.insert_json5("mode", '"peer"')
conf.insert_json5("connect/endpoints", json.dumps([endpoint]))
conf.insert_json5("scouting/multicast/enabled", "false")
with zenoh.open(conf) as session:
    sub = session.declare_subscriber(f"corrigo/{cell}/**", on_sample)
    deadline = time.time() + 20
    while time.time() < deadline:
        with lock:
            if len(seen) == 5:
                break
        time.sleep(0.05)
