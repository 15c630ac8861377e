"""An independent reader of a LeRobotDataset v3 folder: pyarrow for the tables, PyAV (its own FFmpeg) for the
videos. Checks the folder against the format's rules and prints one line `ok <episodes> <frames>`; any violation
is an AssertionError naming the file and what is wrong (exit code 1).

Usage: lerobot_reader.py DATASET_ROOT
"""
import glob
import json
import os
import sys

import av
import pyarrow.parquet as pq


def main(root):
    info_path = os.path.join(root, "meta", "info.json")
    info = json.load(open(info_path))
    assert info["codebase_version"] == "v3.0", f"{info_path}: codebase_version {info['codebase_version']}"
    fps = info["fps"]
    assert isinstance(fps, int) and fps > 0, f"{info_path}: fps {fps!r}"
    feats = info["features"]
    videos = [k for k, f in feats.items() if f["dtype"] == "video"]
    for key in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert key in feats, f"{info_path}: default feature {key} missing"
    for k in videos:
        f = feats[k]
        assert f["names"][2] in ("channels", "channel"), f"{info_path}: {k} names {f['names']}"
        assert f["info"]["video.fps"] == fps, f"{info_path}: {k} video.fps"

    # Data: the column set is the non-video features; index == row position over the sorted files.
    data_files = sorted(glob.glob(os.path.join(root, "data", "*", "*.parquet")))
    assert data_files, f"{root}: no data files"
    table = pq.read_table(data_files)
    want = {k for k, f in feats.items() if f["dtype"] != "video"}
    assert set(table.column_names) == want, f"{data_files[0]}: columns {sorted(table.column_names)} != {sorted(want)}"
    for k in want:
        shape = feats[k]["shape"]
        t = table.schema.field(k).type
        if shape == [1]:
            assert not str(t).startswith(("list", "fixed_size_list")), f"{data_files[0]}: {k} is {t}, a scalar expected"
        else:
            assert t.list_size == shape[0], f"{data_files[0]}: {k} is {t}, {shape} expected"
    n = table.num_rows
    assert n == info["total_frames"], f"{data_files[0]}: {n} rows, info says {info['total_frames']}"
    index = table.column("index").to_pylist()
    assert index == list(range(n)), f"{data_files[0]}: index is not the row position"
    frame_index = table.column("frame_index").to_pylist()
    episode_index = table.column("episode_index").to_pylist()
    ts = table.column("timestamp").to_pylist()
    for r in range(n):
        assert abs(ts[r] - frame_index[r] / fps) < 1e-4, f"{data_files[0]}: row {r} timestamp {ts[r]} != frame_index / fps"

    # Tasks: pandas' layout, the task string as the index.
    tasks_path = os.path.join(root, "meta", "tasks.parquet")
    tasks = pq.read_table(tasks_path)
    pandas_meta = json.loads(tasks.schema.metadata[b"pandas"])
    assert pandas_meta["index_columns"] == ["task"], f"{tasks_path}: pandas index {pandas_meta['index_columns']}"
    assert tasks.column("task_index").to_pylist() == list(range(tasks.num_rows)), f"{tasks_path}: task_index"
    assert tasks.num_rows == info["total_tasks"], f"{tasks_path}: {tasks.num_rows} tasks"

    # Episodes: contiguous ranges, lengths, video spans.
    ep_files = sorted(glob.glob(os.path.join(root, "meta", "episodes", "*", "*.parquet")))
    eps = pq.read_table(ep_files).to_pylist()
    assert len(eps) == info["total_episodes"], f"{ep_files[0]}: {len(eps)} episodes"
    frames_in_file = {}
    expected_start = 0
    for e, ep in enumerate(eps):
        where = f"{ep_files[0]}: episode {e}"
        assert ep["episode_index"] == e, f"{where}: episode_index {ep['episode_index']}"
        lo, hi = ep["dataset_from_index"], ep["dataset_to_index"]
        assert lo == expected_start and hi - lo == ep["length"], f"{where}: rows {lo}..{hi}, length {ep['length']}"
        expected_start = hi
        assert episode_index[lo:hi] == [e] * ep["length"], f"{where}: episode_index column differs"
        assert frame_index[lo:hi] == list(range(ep["length"])), f"{where}: frame_index is not 0..length"
        for k in videos:
            key = (k, ep[f"videos/{k}/chunk_index"], ep[f"videos/{k}/file_index"])
            start = frames_in_file.get(key, 0)
            assert abs(ep[f"videos/{k}/from_timestamp"] - start / fps) < 1e-4, f"{where}: {k} from_timestamp"
            assert abs(ep[f"videos/{k}/to_timestamp"] - (start + ep["length"]) / fps) < 1e-4, f"{where}: {k} to_timestamp"
            frames_in_file[key] = start + ep["length"]
    assert expected_start == n, f"{ep_files[0]}: episodes cover {expected_start} of {n} rows"

    # Videos: frame counts and presentation times i / fps.
    for (k, chunk, file), count in frames_in_file.items():
        path = os.path.join(root, info["video_path"].format(video_key=k, chunk_index=chunk, file_index=file))
        with av.open(path) as container:
            stream = container.streams.video[0]
            h, w, _ = feats[k]["shape"]
            assert (stream.codec_context.height, stream.codec_context.width) == (h, w), f"{path}: frame size"
            times = [float(fr.pts * fr.time_base) for fr in container.decode(stream)]
        assert len(times) == count, f"{path}: {len(times)} frames, the episodes need {count}"
        for i, t in enumerate(times):
            assert abs(t - i / fps) < 1e-4, f"{path}: frame {i} at {t} s, expected {i / fps} s"
    print(f"ok {len(eps)} {n}")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except AssertionError as e:
        print(f"dataset rule broken: {e}", file=sys.stderr)
        sys.exit(1)
