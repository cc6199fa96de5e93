"""Recording benchmark: the real record dataflow, then LeRobot's default writer on the same frames.

    uv run python scripts/bench.py record --json        (or: python scripts/bench_record.py)

1. ``dataflows/dataflow-record-expert.yaml`` (MuJoCo sim + scripted expert + recorder) records
   ``--episodes`` fixed-length episodes at the default settings, with a sink node listening to
   the sim's clock and both status outputs; RSS and CPU of the whole process tree are sampled.
   The dataset is then loaded with LeRobot, and every episode's video frames are counted against
   its parquet rows.
2. One recorded episode is decoded back and written again, in real time, twice: by the recorder's
   writer (streaming encoder + crash-safe commit) and by ``LeRobotDataset`` as ``lerobot-record``
   sets it up (PNG frames, ``save_episode`` encodes), and the pauses are compared.

``episode_pause_s_max`` is what the operator sees between episodes: the wall time from one episode's
end to the next one's start in the simulator (the recorder saves in its own thread, so the sim
never waits for it). ``save_s_max`` is that writer-thread work per episode (save + commit +
reopen), which only delays when an episode is safe on disk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from dora_sim.transport import with_overlay

REPO = Path(__file__).resolve().parents[1]
RECORD_YAML = REPO / "dataflows" / "dataflow-record-expert.yaml"
REPO_ID = "bench/record"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--episode-time", type=float, default=10.0, help="seconds per episode")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--vcodec", default="h264")
    parser.add_argument("--skip-compare", action="store_true", help="only the live dataflow")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)  # graph node
    return parser


# --- the live dataflow ---------------------------------------------------------------------------
def sink() -> None:
    """Graph node: sim clock arrivals, episode events, both status streams -> $BENCH_OUT."""
    from dora import Node

    from dora_sim import codec

    out: dict[str, Any] = {"ticks": [], "episodes": [], "sim_status": None, "recorder": []}
    out["first_frame_wall"] = None
    for event in Node():
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            continue
        now, input_id = time.time(), event["id"]
        if input_id == "tick":
            out["ticks"].append(now)
            if event["metadata"].get("phase") == "episode" and out["first_frame_wall"] is None:
                out["first_frame_wall"] = now  # the first frame a dataset receives
        elif input_id == "episode":
            kind = codec.decode_text(event["value"], "episode")
            out["episodes"].append({"kind": kind, "wall": now, **event["metadata"]})
        elif input_id == "sim_status":
            out["sim_status"] = json.loads(codec.decode_text(event["value"], "status"))
        elif input_id == "recorder_status":
            out["recorder"].append(json.loads(codec.decode_text(event["value"], "status")))
    Path(os.environ["BENCH_OUT"]).write_text(json.dumps(out, default=str))


def graph(out: Path) -> dict:
    import yaml

    flow = yaml.safe_load(RECORD_YAML.read_text())
    flow["nodes"].append(
        {
            "id": "bench-sink",
            "path": sys.executable,
            "args": f"{Path(__file__).resolve()} --sink",
            "inputs": {
                "tick": {"source": "sim/observation.state", "queue_size": 1000},
                "episode": {"source": "sim/episode", "queue_size": 100},
                "sim_status": {"source": "sim/status", "queue_size": 100},
                "recorder_status": {"source": "recorder/status", "queue_size": 100},
            },
            "env": {"BENCH_OUT": str(out)},
        }
    )
    return flow


def run_dataflow(
    args: argparse.Namespace, tmp: Path, sample_every_s: float | None = None
) -> dict[str, Any]:
    """Run the record graph; RSS and CPU of the process tree are sampled meanwhile (peaks, and
    with ``sample_every_s`` a series of per-node RSS, in MB, every that many seconds)."""
    import psutil
    import yaml

    out, descriptor = tmp / "sink.json", tmp / "bench-record.yaml"
    descriptor.write_text(yaml.safe_dump(graph(out)))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "NUM_EPISODES": str(args.episodes),
        "EPISODE_TIME_S": str(args.episode_time),
        "END_ON_SUCCESS": "0",
        "FPS": str(args.fps),
        "CAMERAS": args.cameras,
        "IMAGE_HEIGHT": str(args.height),
        "IMAGE_WIDTH": str(args.width),
        "VCODEC": args.vcodec,
        "DATASET_ROOT": str(tmp / "ds"),
        "REPO_ID": REPO_ID,
        "HF_HUB_OFFLINE": "1",
        "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl"),
        "EGL_PLATFORM": os.environ.get("EGL_PLATFORM", "surfaceless"),
    }
    env.pop("RESUME_RECORDING", None)
    with_overlay(env)  # dora-sim's zenoh settings, as `dora-sim run` and the tests use
    log = (tmp / "dora.log").open("w")
    started = time.time()
    dora = shutil.which("dora", path=env["PATH"]) or "dora"
    proc = subprocess.Popen(
        [dora, "run", str(descriptor)], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    root, peak_rss, peaks, cpu = psutil.Process(proc.pid), 0.0, {}, {}
    series: list[dict[str, Any]] = []
    while proc.poll() is None:
        rss = 0.0
        for p in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                name = process_name(p)
                if name == "bench-sink":  # the measuring node is not part of the record graph
                    continue
                mb = p.memory_info().rss / 2**20
                rss += mb
                peaks[name] = max(peaks.get(name, 0.0), mb)
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
        peak_rss = max(peak_rss, rss)
        elapsed = time.time() - started
        if sample_every_s and elapsed >= len(series) * sample_every_s:
            series.append({"t_s": round(elapsed, 1), **node_rss_mb(root)})
        time.sleep(0.25)
    wall = time.time() - started
    first_frame = None
    if out.exists():
        first = json.loads(out.read_text()).get("first_frame_wall")
        first_frame = None if first is None else first - started
    if proc.returncode != 0:
        raise RuntimeError(
            f"dora run exited {proc.returncode}:\n{(tmp / 'dora.log').read_text()[-3000:]}"
        )
    result = json.loads(out.read_text())
    result.update(
        wall_s=wall,
        rss_mb=peak_rss,
        rss_peaks=peaks,
        cpu_percent=100 * sum(cpu.values()) / wall,
        start_to_first_frame_s=first_frame,
        rss_series=series,
    )
    return result


def node_rss_mb(root: Any) -> dict[str, float]:
    """RSS in MB of each node of the graph (the bench sink excluded), now."""
    import psutil

    rss: dict[str, float] = {}
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            name = process_name(p)
            if name != "bench-sink":
                rss[name] = round(rss.get(name, 0.0) + p.memory_info().rss / 2**20, 1)
    return rss


def process_name(process: Any) -> str:
    """dora-sim-mujoco, dora-sim-recorder, … the bench sink, or dora itself."""
    for arg in process.cmdline():
        base = Path(arg).name
        if base.startswith("dora-sim-"):
            return base
        if base == Path(__file__).name:
            return "bench-sink"
    return "dora"


def episode_pauses(episodes: list[dict[str, Any]]) -> list[float]:
    """Wall seconds from each episode's end to the next one's start, seen by the sink."""
    pauses, last_end = [], None
    for event in episodes:
        if event["kind"] == "end":
            last_end = event["wall"]
        elif last_end is not None:
            pauses.append(event["wall"] - last_end)
    return pauses


def count_video_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def check_dataset(root: Path) -> tuple[Any, bool]:
    """Load with LeRobot; True when each video file holds exactly its episodes' parquet rows."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(REPO_ID, root=root, video_backend="pyav")
    rows: dict[Path, int] = {}
    for index in range(dataset.meta.total_episodes):
        length = int(dataset.meta.episodes[index]["length"])
        for key in dataset.meta.video_keys:
            path = root / dataset.meta.get_video_file_path(index, key)
            rows[path] = rows.get(path, 0) + length
    match = all(count_video_frames(path) == expected for path, expected in rows.items())
    return dataset, match


def file_counts(root: Path, video_keys: list[str]) -> dict[str, Any]:
    """How many files the dataset spreads over: LeRobot v3 packs many episodes per file."""
    per_camera = {key: len(list((root / "videos" / key).glob("*/*.mp4"))) for key in video_keys}
    return {
        "video_files_per_camera": max(per_camera.values(), default=0),
        "data_files": len(list((root / "data").glob("*/*.parquet"))),
        "episode_metadata_files": len(list((root / "meta" / "episodes").glob("*/*.parquet"))),
    }


# --- side by side on the same frames --------------------------------------------------------------
def episode_frames(dataset: Any, index: int) -> list[dict[str, np.ndarray]]:
    episode = dataset.meta.episodes[index]
    frames = []
    for i in range(int(episode["dataset_from_index"]), int(episode["dataset_to_index"])):
        item = dataset[i]
        frame = {
            "action": item["action"].numpy(),
            "observation.state": item["observation.state"].numpy(),
        }
        for key in dataset.meta.video_keys:
            frame[key] = (item[key].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        frames.append(frame)
    return frames


def paced(frames: list[dict[str, np.ndarray]], fps: int, add) -> None:
    """Hand frames over at the recording rate, as a live loop would."""
    start = time.perf_counter()
    for i, frame in enumerate(frames):
        time.sleep(max(0.0, start + i / fps - time.perf_counter()))
        add(frame)


def ours(
    frames: list[dict[str, np.ndarray]], dataset: Any, tmp: Path, vcodec: str, realtime: bool
) -> dict[str, float]:
    """The recorder's writer: streaming encoding, save, atomic commit, reopen."""
    from dora_sim import contract as c
    from dora_sim_recorder.config import EXPORT_ALL, RecorderConfig
    from dora_sim_recorder.layout import StreamLayout
    from dora_sim_recorder.sequencer import AddFrame, EndEpisode, StartEpisode
    from dora_sim_recorder.store import DatasetStore
    from dora_sim_recorder.writer import DatasetWriter

    root = tmp / ("ours-rt" if realtime else "ours-fast")
    config = RecorderConfig(
        repo_id=REPO_ID,
        root=root,
        num_episodes=0,
        vcodec=vcodec,
        export_mode=EXPORT_ALL,
        push_to_hub=False,
        private=False,
        resume=False,
        state_inputs=(c.STATE,),
        extra_inputs=(),
        robot_type=c.ROBOT_TYPE,
        encoder_threads=None,
    )
    layout = StreamLayout(True, (c.STATE,), (), tuple(dataset.meta.video_keys))
    writer = DatasetWriter(config, DatasetStore(root, config.work_dir))
    writer.store.acquire()
    writer.prepare()
    writer.attach(layout)
    writer.handle(StartEpisode(0, "bench", dataset.fps, 0))
    count = iter(range(len(frames)))
    started = time.perf_counter()
    add = lambda frame: writer.handle(AddFrame(0, next(count), frame))  # noqa: E731
    if realtime:
        paced(frames, dataset.fps, add)
    else:
        for frame in frames:
            add(frame)
    fed = time.perf_counter()
    writer.handle(EndEpisode(0, True, "time_limit", True, len(frames), False, (), ""))
    done = time.perf_counter()
    writer.close()
    return {"pause_s": done - fed, "total_s": done - started}


def lerobot_default(
    frames: list[dict[str, np.ndarray]], dataset: Any, tmp: Path, vcodec: str
) -> dict[str, float]:
    """LeRobotDataset as lerobot-record creates it by default: async PNG writer (4 threads per
    camera), no streaming encoding; save_episode() encodes the episode's videos."""
    from lerobot.configs import RGBEncoderConfig
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    cameras = len(dataset.meta.video_keys)
    default = LeRobotDataset.create(
        REPO_ID,
        dataset.fps,
        {k: v for k, v in dataset.meta.features.items() if k in frames[0]},
        root=tmp / "default",
        robot_type=dataset.meta.robot_type,
        use_videos=True,
        image_writer_threads=4 * cameras,
        rgb_encoder=RGBEncoderConfig(vcodec=vcodec),
    )
    paced(frames, dataset.fps, lambda frame: default.add_frame({**frame, "task": "bench"}))
    fed = time.perf_counter()
    default.save_episode()
    default.finalize()
    return {"pause_s": time.perf_counter() - fed}


def compare(dataset: Any, tmp: Path, vcodec: str) -> dict[str, float]:
    frames = episode_frames(dataset, 0)
    duration = len(frames) / dataset.fps
    fast = ours(frames, dataset, tmp, vcodec, realtime=False)
    realtime = ours(frames, dataset, tmp, vcodec, realtime=True)
    default = lerobot_default(frames, dataset, tmp, vcodec)
    return {
        "compare_frames": len(frames),
        "encoder_realtime_factor": round(duration / fast["total_s"], 2),
        "ours_save_s": round(realtime["pause_s"], 3),
        "lerobot_default_save_s": round(default["pause_s"], 3),
        "save_ratio_default_over_ours": round(default["pause_s"] / realtime["pause_s"], 1),
    }


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-record-") as name:
        tmp = Path(name)
        live = run_dataflow(args, tmp)
        dataset, videos_match = check_dataset(tmp / "ds")
        ticks = live["ticks"]
        steady = ticks[len(ticks) // 10 :]
        achieved = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0
        ends = [e for e in live["episodes"] if e["kind"] == "end"]
        produced = sum(int(e["num_frames"]) for e in ends)
        final = live["recorder"][-1] if live["recorder"] else {}
        pauses = episode_pauses(live["episodes"])
        result = {
            "target_hz": args.fps,
            "achieved_hz": round(achieved, 2),
            "frames_produced": produced,
            "frames_recorded": len(dataset),
            "frames_lost": produced - len(dataset),
            "frames_duplicated": final.get("frames_duplicated"),
            "video_frames_match_rows": videos_match,
            "episodes": dataset.meta.total_episodes,
            **file_counts(tmp / "ds", dataset.meta.video_keys),
            "episode_pause_s_max": round(max(pauses), 3) if pauses else None,
            "start_to_first_frame_s": round(live["start_to_first_frame_s"], 2),
            "save_s_max": final.get("pause_s_max"),
            "writer_backlog_frames_max": max(
                (s["backlog_frames"] for s in live["recorder"]), default=None
            ),
            "rss_mb_total": round(live["rss_mb"], 1),
            "rss_mb_peak_by_process": {k: round(v, 1) for k, v in live["rss_peaks"].items()},
            "cpu_percent": round(live["cpu_percent"], 1),
            "wall_s": round(live["wall_s"], 1),
            "sim_late_ticks": (live["sim_status"] or {}).get("late_ticks"),
            "cameras": args.cameras.split(","),
            "resolution": [args.height, args.width],
            "vcodec": args.vcodec,
            "cpu_count": os.cpu_count(),
        }
        if not args.skip_compare:
            result.update(compare(dataset, tmp, args.vcodec))
        return result


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.sink:
        sink()
        return
    print(json.dumps(run(args), indent=None if args.json else 2))


if __name__ == "__main__":
    main()
