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
