"""Reference figure for `corrigo bench controller`: offscreen frames per second of MuJoCo's Python renderer.

Usage: mujoco_render.py MODEL_XML CAMERA WIDTH HEIGHT FRAMES [QPOS]
QPOS: comma-separated joint positions rendered (the state corrigo's renderer draws; default: the model's qpos0),
so that both renderers rasterize the same picture.
Prints one JSON line: {"fps": ..., "frames": ..., "width": ..., "height": ..., "camera": ...}.
Rendering is headless through EGL (MUJOCO_GL=egl, set here when absent).
"""

import json
import os
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402


def main() -> int:
    if len(sys.argv) not in (6, 7):
        print(__doc__, file=sys.stderr)
        return 2
    path, camera, width, height, frames = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    model = mujoco.MjModel.from_xml_path(path)
    data = mujoco.MjData(model)
    if len(sys.argv) == 7:
        qpos = [float(x) for x in sys.argv[6].split(",")]
        if len(qpos) != model.nq:
            print(f"QPOS has {len(qpos)} entries, the model has nq = {model.nq}", file=sys.stderr)
            return 2
        data.qpos[:] = qpos
    mujoco.mj_forward(model, data)
    renderer = mujoco.Renderer(model, height=height, width=width)
    # Warm-up frame (context and texture upload).
    renderer.update_scene(data, camera=camera)
    renderer.render()
    start = time.perf_counter()
    for _ in range(frames):
        mujoco.mj_kinematics(model, data)
        mujoco.mj_camlight(model, data)
        renderer.update_scene(data, camera=camera)
        renderer.render()
    elapsed = time.perf_counter() - start
    print(json.dumps({"fps": frames / elapsed, "frames": frames, "width": width, "height": height, "camera": camera}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
