import hashlib
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from lafr import degrade
from lafr.synthetic import synthetic_face


@pytest.fixture(scope="module")
def face():
    return synthetic_face(0, 3, 64)[0]


def test_same_seed_same_bytes(face):
    a, pa = degrade.degrade(face, "tiny", seed=11)
    b, pb = degrade.degrade(face, "tiny", seed=11)
    assert torch.equal(a, b) and pa == pb
    c, _ = degrade.degrade(face, "tiny", seed=12)
    assert not torch.equal(a, c)


def test_same_seed_same_bytes_in_a_new_process(face):
    code = (
        "import hashlib, torch; from lafr import degrade; from lafr.synthetic import synthetic_face;"
        "x = synthetic_face(0, 3, 64)[0]; y, _ = degrade.degrade(x, 'gfpgan', seed=5);"
        "print(hashlib.sha256(y.numpy().tobytes()).hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    y, _ = degrade.degrade(face, "gfpgan", seed=5)
    assert out == hashlib.sha256(y.numpy().tobytes()).hexdigest()


@pytest.mark.parametrize("name", sorted(degrade.PRESETS))
def test_drawn_parameters_stay_in_range(name):
    p = degrade.PRESETS[name]
    seen_aniso = set()
    for seed in range(300):
        d = degrade.sample_params(name, seed)
        assert p.sigma[0] <= d["sigma_x"] <= p.sigma[1] and p.sigma[0] <= d["sigma_y"] <= p.sigma[1]
        assert p.scale[0] <= d["scale"] <= p.scale[1]
        assert p.noise[0] <= d["noise"] <= p.noise[1]
        assert p.jpeg[0] <= d["jpeg_quality"] <= p.jpeg[1]
        assert d["kernel_size"] == p.kernel_size
        if not d["anisotropic"]:
            assert d["sigma_x"] == d["sigma_y"] and d["theta"] == 0.0
        seen_aniso.add(d["anisotropic"])
    assert seen_aniso == {True, False}


def test_gfpgan_preset_numbers():
    p = degrade.PRESETS["gfpgan"]
    assert (p.kernel_size, p.sigma, p.scale, p.noise, p.jpeg) == (41, (0.1, 10.0), (0.8, 8.0), (0.0, 20.0), (60, 100))


def test_strength_zero_is_mildest_end():
    d = degrade.sample_params("gfpgan", 4, strength=0.0)
    assert (d["sigma_x"], d["scale"], d["noise"], d["jpeg_quality"]) == (0.1, 0.8, 0.0, 100)
    with pytest.raises(ValueError, match="strength"):
        degrade.sample_params("gfpgan", 4, strength=1.5)


def test_damage_grows_with_strength(face):
    def mse(s):
        return sum(float(((degrade.degrade(face, "tiny", seed=k, strength=s)[0] - face) ** 2).mean()) for k in range(8))

    assert mse(0.1) < mse(0.5) < mse(1.0)


def test_batch_equals_single_images_and_keeps_shape():
    x = torch.stack([synthetic_face(1, i, 48)[0] for i in range(3)])[..., :40]  # non-square
    lq, params = degrade.degrade(x, "tiny", seed=[7, 8, 9])
    assert lq.shape == x.shape and len(params) == 3
    for i in range(3):
        single, p = degrade.degrade(x[i], "tiny", seed=7 + i)
        assert torch.equal(lq[i], single) and p == params[i]
    lq2, _ = degrade.degrade(x, "tiny", seed=7)  # int seed: 7, 8, 9
    assert torch.equal(lq, lq2)
    with pytest.raises(ValueError, match="2 seeds for 3 images"):
        degrade.degrade(x, "tiny", seed=[1, 2])


def test_fft_blur_equals_direct_convolution():
    x = torch.rand(3, 37, 50)
    k = degrade.blur_kernel(11, 2.0, 0.7, 0.4)
    direct = F.conv2d(F.pad(x[None], (5, 5, 5, 5), mode="reflect"), k[None, None].expand(3, 1, -1, -1), groups=3)[0]
    assert torch.allclose(degrade.blur(x, k), direct, atol=1e-5)
    assert torch.allclose(k.sum(), torch.tensor(1.0))


def test_small_image_with_large_kernel():
    x = torch.rand(3, 16, 16)
    lq, _ = degrade.degrade(x, "codeformer", seed=0)
    assert lq.shape == x.shape and 0 <= lq.min() and lq.max() <= 1


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown degradation preset 'heavy'"):
        degrade.degrade(torch.rand(3, 32, 32), "heavy")


def test_bicubic_upsampling_is_the_same_lq_photo_enlarged_differently():
    face = synthetic_face(0, 3, 64)[0]
    bilinear, p1 = degrade.degrade(face, "tiny", seed=5)
    bicubic, p2 = degrade.degrade(face, "tiny", seed=5, upsample="bicubic")
    assert p1 == p2 and bicubic.shape == bilinear.shape and 0 <= bicubic.min() and bicubic.max() <= 1
    assert 0 < (bicubic - bilinear).abs().mean() < 0.05  # the same photo, enlarged another way


def test_lanczos_upsampling_is_the_same_lq_photo_enlarged_another_way():
    """Notebook 06's Lanczos baseline: the same draw as bilinear/bicubic, only the last resize differs."""
    from lafr.synthetic import synthetic_face

    face = synthetic_face(0, 3)[0]
    lq = {m: degrade.degrade(face, "tiny", seed=5, upsample=m)[0] for m in ("bilinear", "bicubic", "lanczos")}
    assert lq["lanczos"].shape == face.shape
    assert 0 < (lq["lanczos"] - lq["bicubic"]).abs().mean() < 0.02  # a different kernel, the same small image
    flat = degrade.degrade(torch.full((3, 64, 64), 0.5), "tiny", seed=5, upsample="lanczos")[0]
    assert (flat - flat.mean()).abs().max() < 0.02
    # the small image made as `apply` makes it, enlarged by PIL's Lanczos: exactly the output
    import numpy as np
    from PIL import Image

    p = degrade.sample_params("tiny", 5)
    x = degrade.blur(face, degrade.blur_kernel(p["kernel_size"], p["sigma_x"], p["sigma_y"], p["theta"]))
    x = F.interpolate(x[None], size=(round(64 / p["scale"]),) * 2, mode="bilinear", align_corners=False)[0]
    x = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(p["noise_seed"])) * (p["noise"] / 255.0)
    small = (degrade.jpeg(x.clamp(0, 1), p["jpeg_quality"]) * 255).round().byte().permute(1, 2, 0).numpy()
    big = np.array(Image.fromarray(small).resize((64, 64), Image.Resampling.LANCZOS))
    assert torch.allclose(lq["lanczos"], torch.from_numpy(big).permute(2, 0, 1).float() / 255, atol=1e-6)
