"""The paper profile's judges, as prior work computes Deg and LMD (VQFR's metric scripts): ArcFace
ResNet-18 on the whole face in grayscale at 128 px, FAN's 98 landmarks on the whole face at 256 px.
Their weight files come from the network registry (data/datasets.json); here they are stand-ins with
random weights in the released files' layouts, placed in lafr's cache or served on 127.0.0.1."""

import numpy as np
import pytest
import torch

from lafr import config, data, datasets, judges, metrics
from lafr.synthetic import synthetic_face


def _place(name: str, state: dict) -> None:
    target = datasets.cache_dir() / "networks" / datasets.NETWORKS[name].file.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, target)


@pytest.fixture
def stand_ins():
    """Random-weight files laid out as released: GFPGAN's arcface_resnet18.pth (DataParallel's
    'module.' prefix, as VQFR's resnet18_110.pth has it), facexlib's FAN file (under 'state_dict')."""
    from facexlib.alignment.awing_arch import FAN

    torch.manual_seed(0)
    _place("arcface_resnet18", {f"module.{k}": v for k, v in judges.ArcFaceResNet18().state_dict().items()})
    _place("fan_wflw", {"state_dict": FAN(num_modules=4, num_landmarks=98, device="cpu").state_dict()})


def test_the_registry_names_the_prior_works_files():
    nets = datasets.NETWORKS
    assert nets["arcface_resnet18"].file.url.endswith("/GFPGAN/releases/download/v0.1.0/arcface_resnet18.pth")
    assert nets["fan_wflw"].file.url.endswith("/facexlib/releases/download/v0.1.0/alignment_WFLW_4HG.pth")
    assert all(n.source and n.license and n.file.url.startswith("https://") for n in nets.values())


def test_the_paper_profile_judges_with_the_prior_works_networks(stand_ins):
    cfg = config.PAPER
    suite = metrics.Suite(["deg", "lmd"], identity_net=cfg.identity_metric_net, landmark_net=cfg.landmark_metric_net)
    assert "ResNet-18" in suite.metrics["deg"].network and "FAN" in suite.metrics["lmd"].network
    assert suite.faces is None  # neither finds a face with dlib: both read the whole aligned face
    metrics.check_judges(cfg, suite)
    faces = [synthetic_face(0, i, 128)[0] for i in range(3)]
    ref = suite.reference(faces)
    assert ref.embeddings.shape == (3, 512) and ref.landmarks[0].shape == (98, 2)
    assert all(((lm >= 0) & (lm <= 128)).all() for lm in ref.landmarks)  # pixels of the 128 px image
    same = suite.evaluate(faces, ref)
    assert same.summary["deg"] == pytest.approx(0.0, abs=1e-3) and same.summary["lmd"] == 0.0
    assert "3 of 3 faces are within 1 degree" in " ".join(same.notes)
    other = suite.evaluate(faces[1:] + faces[:1], ref)  # each face judged against another person's
    assert other.summary["deg"] > 1.0 and other.summary["lmd"] > 0.0
    assert not any("within 1 degree" in n for n in other.notes)


def test_missing_or_foreign_weights_say_so(stand_ins):
    (datasets.cache_dir() / "networks" / "alignment_WFLW_4HG.pth").unlink()
    suite = metrics.Suite(["deg", "lmd"], identity_net="arcface_r18", landmark_net="fan")
    assert "alignment_WFLW_4HG.pth" in suite.unavailable["lmd"] and "downloads are off" in suite.unavailable["lmd"]
    _place("arcface_resnet18", judges.ArcFaceIdentity().net.state_dict())  # IR-SE50's weights under the wrong name
    with pytest.raises(judges.Unavailable, match="arcface_resnet18: the weight file does not fit"):
        judges.load_arcface_r18()
    with pytest.raises(ValueError, match="unknown landmark network 'fna'"):
        metrics.Suite(["lmd"], landmark_net="fna")


def test_the_grey_input_is_vqfrs(tmp_path):
    """vqfr_gray against VQFR's own steps on the saved PNG: cv2.imread(path, 0), cv2.resize to 128,
    (v - 127.5) / 127.5.  An unweighted mean of R, G and B, or torch's antialiased resize, differ."""
    import cv2

    img = data.packaged_face_photos(512)["astronaut"]
    path = data.save_image(img, tmp_path / "face.png")
    theirs = (cv2.resize(cv2.imread(str(path), 0), (128, 128), interpolation=cv2.INTER_LINEAR) - 127.5) / 127.5
    ours = judges.vqfr_gray(data.load_image(path))
    assert ours.shape == (1, 128, 128)
    assert np.abs(ours[0].numpy() - theirs).max() <= 1.01 / 127.5  # at most one grey level apart


def test_heatmap_points_follow_the_published_rule():
    """Interior peaks: the peak, a quarter cell towards the larger neighbour, plus half a cell."""
    h = np.zeros((1, 2, 64, 64))
    h[0, 0, 10, 20], h[0, 0, 10, 21], h[0, 0, 11, 20] = 1.0, 0.5, 0.2  # right neighbour larger, lower larger
    h[0, 1, 30, 40], h[0, 1, 30, 39], h[0, 1, 29, 40] = 1.0, 0.5, 0.2  # left larger, upper larger
    pts = judges.heatmap_points(h)[0]
    assert pts.tolist() == [[20.75, 10.75], [40.25, 30.25]]
    h[0, 0, 63, 63] = 2.0  # a peak in the corner: no neighbour outside the map is read
    assert judges.heatmap_points(h)[0, 0].tolist() == [63.5, 63.5]


def test_a_network_file_is_fetched_once_and_a_refusal_named(server, monkeypatch):
    body = b"weights" * 1000
    server.files["/arcface_resnet18.pth"] = body
    remote = datasets.NETWORKS["arcface_resnet18"].file
    moved = datasets.NetworkSpec(**{**datasets.NETWORKS["arcface_resnet18"].__dict__, "file": datasets.Remote(
        **{**remote.__dict__, "url": server.url + "/arcface_resnet18.pth"})})  # fmt: skip
    monkeypatch.setitem(datasets.NETWORKS, "arcface_resnet18", moved)
    for var in ("LAFR_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    path = datasets.network_file("arcface_resnet18")
    assert path.read_bytes() == body and datasets.network_file("arcface_resnet18") == path
    assert len(server.requests) == 1
    path.unlink()
    server.refuse = 404
    with pytest.raises(datasets.DatasetError, match=f"answered 404.*or put {server.url}/arcface_resnet18.pth at"):
        datasets.network_file("arcface_resnet18")


def test_measured_faces_are_all_for_whole_face_judges_and_dlibs_finds_for_dlibs(stand_ins):
    blank = torch.full((3, 64, 64), 0.5)  # no face for dlib to find
    faces = [synthetic_face(0, 0, 64)[0], blank]
    whole = metrics.Suite(["deg", "lmd"], identity_net="arcface_r18", landmark_net="fan")
    assert whole.measured(whole.reference(faces)) == [0, 1]
    dlib = metrics.Suite(["deg", "lmd"])
    ref = dlib.reference(faces)
    assert dlib.measured(ref) == [0]
    assert "Deg, LMD left empty" in " ".join(dlib.evaluate(faces, ref).notes)


def test_downloads_go_offline_only_when_the_hub_in_use_cannot_be_reached(server):
    """``quiet_downloads`` asks the Hub that ``HF_ENDPOINT`` names (a mirror, a local copy), not
    huggingface.co: a reachable mirror keeps timm's and the Hub client's downloads on, a closed one
    turns them off quickly.  Fresh processes, since huggingface_hub reads the variable at import."""
    import os
    import socket
    import subprocess
    import sys

    code = (
        "import huggingface_hub.constants as hub; from lafr.judges import quiet_downloads\n"
        "with quiet_downloads(): print('offline' if hub.HF_HUB_OFFLINE else 'online')"
    )
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    said = {}
    for name, endpoint in (("mirror", server.url), ("closed", closed)):
        env = {**os.environ, "HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0"}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        said[name] = out.stdout.strip()
    assert said == {"mirror": "online", "closed": "offline"}
