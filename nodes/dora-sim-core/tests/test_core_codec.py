"""Contract codecs: round trips and rejection of malformed messages (property-based)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dora_sim import codec
from dora_sim import contract as c

arm = st.floats(-c.ARM_DEG_BOUND, c.ARM_DEG_BOUND, width=32)
grip = st.floats(*c.GRIPPER_RANGE, width=32)
joint_vectors = st.tuples(arm, arm, arm, arm, arm, grip).map(lambda t: np.array(t, np.float32))


@given(joint_vectors)
def test_joints_round_trip_exactly(values):
    decoded = codec.decode_joints(codec.encode_joints(values))
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, values)


@given(joint_vectors, st.integers(0, 5), st.sampled_from([np.nan, np.inf, -np.inf]))
def test_joints_reject_non_finite(values, index, bad):
    values[index] = bad
    with pytest.raises(codec.ContractError, match="non-finite"):
        codec.decode_joints(pa.array(values, type=pa.float32()))


@given(st.integers(0, 12).filter(lambda n: n != c.NUM_JOINTS))
def test_joints_reject_wrong_length(n):
    with pytest.raises(codec.ContractError, match="shape"):
        codec.decode_joints(pa.array(np.zeros(n, np.float32)))


@pytest.mark.parametrize(
    "array",
    [
        pa.array(np.zeros(6, np.float64)),
        pa.array(np.zeros(6, np.int32)),
        pa.array(["0"] * 6),
        pa.array([0.0, 0.0, None, 0.0, 0.0, 0.0], type=pa.float32()),
    ],
    ids=["float64", "int32", "strings", "null"],
)
def test_joints_reject_wrong_types(array):
    with pytest.raises(codec.ContractError):
        codec.decode_joints(array)


def test_joints_reject_non_arrow_payloads():
    with pytest.raises(codec.ContractError, match="pyarrow"):
        codec.decode_joints(b"\x00" * 24)


@given(joint_vectors, st.integers(0, 4), st.floats(180.01, 1e6))
def test_joints_reject_arm_beyond_half_turn(values, index, magnitude):
    values[index] = np.float32(magnitude)
    with pytest.raises(codec.ContractError, match="radians or raw servo ticks"):
        codec.decode_joints(pa.array(values, type=pa.float32()))


@given(joint_vectors, st.one_of(st.floats(-1e6, -0.01), st.floats(100.01, 1e6)))
def test_joints_reject_gripper_outside_0_100(values, gripper):
    values[5] = np.float32(gripper)
    if 0.0 <= values[5] <= 100.0:  # float32 rounding landed back inside
        return
    with pytest.raises(codec.ContractError, match="gripper"):
        codec.decode_joints(pa.array(values, type=pa.float32()))


@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(1, 40), st.integers(1, 40), st.just(3))),
)
def test_images_round_trip_zero_copy(image):
    array, metadata = codec.encode_image(image)
    decoded = codec.decode_image(array, metadata)
    np.testing.assert_array_equal(decoded, image)
    assert np.shares_memory(decoded, np.frombuffer(array.buffers()[1], np.uint8))


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        ({"height": 4, "width": 5}, "do not make"),
        ({"width": 4}, "height"),
        ({"height": 4, "width": 4, "encoding": "bgr8"}, "encoding"),
    ],
)
def test_images_reject_inconsistent_metadata(metadata, match):
    array, _ = codec.encode_image(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(codec.ContractError, match=match):
        codec.decode_image(array, metadata)


def test_encode_image_rejects_non_rgb8():
    with pytest.raises(codec.ContractError):
        codec.encode_image(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(codec.ContractError):
        codec.encode_image(np.zeros((4, 4), np.uint8))


@pytest.mark.parametrize("command", sorted(c.CONTROL_COMMANDS))
def test_control_round_trip(command):
    assert codec.decode_control(codec.encode_control(command)) == command


@pytest.mark.parametrize(
    "value", [pa.array(["jump"]), pa.array(["stop", "stop"]), pa.array([1]), "stop"]
)
def test_control_rejects_unknown_or_malformed(value):
    with pytest.raises(codec.ContractError):
        codec.decode_control(value)


@given(st.tuples(*[st.floats(-2, 2, width=32)] * 3, *[st.floats(-720, 720, width=32)] * 2, grip))
def test_ee_delta_round_trip(values):
    arr = np.array(values, np.float32)
    np.testing.assert_array_equal(codec.decode_ee_delta(codec.encode_ee_delta(arr)), arr)


def test_ee_delta_rejects_runaway_speed():
    with pytest.raises(codec.ContractError, match="linear speed"):
        codec.decode_ee_delta(pa.array(np.array([5, 0, 0, 0, 0, 0], np.float32)))


def test_scene_round_trip():
    objects = {"cube": np.ones(7, np.float32), "bin": np.full(7, 2, np.float32)}
    scene = codec.decode_scene(*codec.encode_scene(objects))
    assert list(scene) == ["cube", "bin"]
    np.testing.assert_array_equal(scene["bin"], objects["bin"])


def test_scene_rejects_name_count_mismatch():
    array, _ = codec.encode_scene({"cube": np.zeros(7)})
    with pytest.raises(codec.ContractError):
        codec.decode_scene(array, {c.MD_SCENE_NAMES: "cube,bin"})


def test_frame_stamp_round_trip_and_missing_keys():
    stamp = codec.FrameStamp(10, 2, 3, 0.1, c.PHASE_EPISODE)
    assert codec.FrameStamp.from_metadata(stamp.to_metadata()) == stamp
    with pytest.raises(codec.ContractError):
        codec.FrameStamp.from_metadata({c.MD_FRAME: 1})


def test_status_json_round_trip():
    status = codec.SimStatus(1, 0, "episode", 30.0, 29.5, 21.0, 2, 0.01, 1, 3, 0)
    assert codec.SimStatus.from_json(status.to_json()) == status
    with pytest.raises(codec.ContractError):
        codec.SimStatus.from_json("{}")


def test_feature_names_match_a_real_so101_follower():
    assert c.MOTOR_FEATURE_NAMES == (
        "shoulder_pan.pos",
        "shoulder_lift.pos",
        "elbow_flex.pos",
        "wrist_flex.pos",
        "wrist_roll.pos",
        "gripper.pos",
    )


def test_codecs_import_nothing_heavy():
    """pyarrow's numpy converters import pandas (seconds); torch/lerobot must stay out too."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from dora_sim import codec\n"
        "codec.warm_up()\n"
        "codec.decode_scene(*codec.encode_scene({'a': np.zeros(7)}))\n"
        "codec.decode_ee_delta(codec.encode_ee_delta(np.zeros(6, np.float32)))\n"
        "print(sorted(m for m in ('pandas', 'torch', 'lerobot') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- JPEG images (IMAGE_ENCODING=jpeg: for images that cross machines) ------------------------
def scene_like_image(height: int = 120, width: int = 160) -> np.ndarray:
    """What a camera renders, roughly: shaded gradients and flat objects with sharp edges (JPEG's
    case; random noise is not an image anyone sends)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.stack(
        [90 + 80 * x / width, 70 + 60 * y / height, 50 + 40 * (x + y) / (height + width)], -1
    )
    image[height // 3 : height // 2, width // 4 : width // 3] = (220, 30, 30)  # a red cube
    image[: height // 2, width // 2 : width // 2 + 12] = (230, 200, 20)  # a yellow arm
    return image.round().astype(np.uint8)


def psnr(decoded: np.ndarray, raw: np.ndarray) -> float:
    mse = np.mean((decoded.astype(np.float64) - raw.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def test_jpeg_images_round_trip_with_the_same_metadata_keys():
    image = scene_like_image()
    array, metadata = codec.encode_image(image, c.IMAGE_ENCODING_JPEG, quality=90)
    assert metadata == {"height": 120, "width": 160, "encoding": "jpeg"}
    assert array.type == pa.uint8() and len(array) < image.nbytes / 5
    decoded = codec.decode_image(array, metadata)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert psnr(decoded, image) > 35.0


def test_jpeg_quality_trades_bytes_for_fidelity():
    image = scene_like_image()
    low, low_md = codec.encode_image(image, "jpeg", quality=30)
    high, high_md = codec.encode_image(image, "jpeg", quality=95)
    assert len(low) < len(high)
    assert psnr(codec.decode_image(low, low_md), image) < psnr(
        codec.decode_image(high, high_md), image
    )


def test_jpeg_images_survive_arrow_ipc():
    """What crosses machines is Arrow IPC bytes; the JPEG array comes out decodable."""
    array, metadata = codec.encode_image(scene_like_image(), "jpeg")
    batch = pa.record_batch([array], names=["data"])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    received = pa.ipc.open_stream(sink.getvalue()).read_next_batch().column(0)
    assert codec.decode_image(received, metadata).shape == (120, 160, 3)


def _jpeg_bytes() -> np.ndarray:
    array, _ = codec.encode_image(scene_like_image(), "jpeg")
    return np.frombuffer(array.buffers()[1], np.uint8, len(array)).copy()


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        (lambda b: b[: len(b) // 2], "corrupt JPEG"),  # truncated in the entropy-coded data
        (lambda b: b[:20], "corrupt JPEG|not a JPEG"),  # only the start of the header
        (lambda b: np.zeros(500, np.uint8), "not a JPEG"),
        (lambda b: np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8), "not a JPEG"),
        (lambda b: np.zeros(0, np.uint8), "not a JPEG"),
        (lambda b: _png_bytes(), "not a JPEG"),  # a real image, but not the declared encoding
    ],
    ids=["truncated", "header-only", "zeros", "noise", "empty", "png"],
)
def test_corrupt_jpeg_is_a_contract_error(corrupt, match):
    data = corrupt(_jpeg_bytes())
    metadata = {"height": 120, "width": 160, "encoding": "jpeg"}
    with pytest.raises(codec.ContractError, match=match):
        codec.decode_image(codec.to_arrow(np.asarray(data, np.uint8)), metadata)


def _png_bytes() -> np.ndarray:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(scene_like_image()).save(out, format="PNG")
    return np.frombuffer(out.getvalue(), np.uint8)


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        (
            {"height": 100, "width": 160, "encoding": "jpeg"},
            "JPEG is 120x160, metadata says 100x160",
        ),
        ({"height": 120, "width": 161, "encoding": "jpeg"}, "metadata says 120x161"),
        ({"height": 0, "width": 160, "encoding": "jpeg"}, "not an image"),
        ({"width": 160, "encoding": "jpeg"}, "height"),
        ({"height": 120, "width": 160, "encoding": "png"}, "encoding 'png'"),
    ],
)
def test_jpeg_with_inconsistent_metadata_is_a_contract_error(metadata, match):
    array, _ = codec.encode_image(scene_like_image(), "jpeg")
    with pytest.raises(codec.ContractError, match=match):
        codec.decode_image(array, metadata)


def test_jpeg_array_read_as_rgb8_is_a_contract_error():
    """Metadata that lost its encoding: the JPEG bytes are not taken for pixels."""
    array, _ = codec.encode_image(scene_like_image(), "jpeg")
    with pytest.raises(codec.ContractError, match="do not make"):
        codec.decode_image(array, {"height": 120, "width": 160})


def test_rgb8_is_still_the_default_and_zero_copy():
    image = scene_like_image()
    for array, metadata in (codec.encode_image(image), codec.encode_image(image, "rgb8")):
        assert metadata[c.MD_ENCODING] == c.IMAGE_ENCODING == "rgb8"
        assert len(array) == image.nbytes
        decoded = codec.decode_image(array, metadata)
        np.testing.assert_array_equal(decoded, image)
        assert np.shares_memory(decoded, np.frombuffer(array.buffers()[1], np.uint8))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"encoding": "png"}, "unknown encoding 'png'"),
        ({"encoding": "jpeg", "quality": 0}, "outside 1-100"),
        ({"encoding": "jpeg", "quality": 101}, "outside 1-100"),
        ({"encoding": "jpeg", "quality": 90.0}, "integer"),
    ],
)
def test_encode_image_rejects_unknown_encodings_and_qualities(kwargs, match):
    with pytest.raises(codec.ContractError, match=match):
        codec.encode_image(scene_like_image(), **kwargs)


def test_sim_image_settings_come_from_the_environment(monkeypatch):
    from dora_sim.config import ConfigError
    from dora_sim.sim_node import ImageSettings

    monkeypatch.delenv("IMAGE_ENCODING", raising=False)
    monkeypatch.delenv("JPEG_QUALITY", raising=False)
    assert ImageSettings.from_env() == ImageSettings("rgb8", c.DEFAULT_JPEG_QUALITY)
    monkeypatch.setenv("IMAGE_ENCODING", "jpeg")
    monkeypatch.setenv("JPEG_QUALITY", "75")
    assert ImageSettings.from_env() == ImageSettings("jpeg", 75)
    for name, value, match in [
        ("IMAGE_ENCODING", "png", "IMAGE_ENCODING='png': expected one of rgb8, jpeg"),
        ("JPEG_QUALITY", "0", "JPEG_QUALITY=0: must be at least 1"),
        ("JPEG_QUALITY", "high", "JPEG_QUALITY='high': expected an integer"),
    ]:
        with monkeypatch.context() as env:
            env.setenv(name, value)
            with pytest.raises(ConfigError, match=match):
                ImageSettings.from_env()
    with pytest.raises(ConfigError, match="1-100"):
        ImageSettings("jpeg", 101)
