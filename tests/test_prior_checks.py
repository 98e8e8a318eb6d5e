"""The checks notebook 02 uses: is a set of latents off another set's distribution (linear probe,
nearest distances), and does a prior draw varied, sharp images (diversity, high-frequency energy)."""

import pytest
import torch

from lafr import analysis


def _blobs(n, shift, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, 3, 3, generator=g)
    x[:, 0, 0, 0] += shift
    return x


def test_linear_probe_separates_shifted_sets_and_not_identical_ones():
    probe = analysis.fit_linear_probe(_blobs(200, 0.0, 0), _blobs(200, 6.0, 1))
    assert analysis.probe_accuracy(probe, _blobs(100, 0.0, 2), _blobs(100, 6.0, 3)) > 0.95
    same = analysis.fit_linear_probe(_blobs(200, 0.0, 4), _blobs(200, 0.0, 5))
    assert abs(analysis.probe_accuracy(same, _blobs(300, 0.0, 6), _blobs(300, 0.0, 7)) - 0.5) < 0.1


def test_probe_accuracy_is_balanced_over_unequal_sets():
    probe = analysis.fit_linear_probe(_blobs(100, 0.0, 0), _blobs(100, 6.0, 1))
    # a probe that calls everything "a" would score 0.9 plain accuracy on 90 a / 10 b; balanced, 0.5
    always_a = type("P", (), {"predict": lambda self, x: torch.zeros(len(x)).numpy()})()
    assert analysis.probe_accuracy(always_a, _blobs(90, 0.0, 2), _blobs(10, 6.0, 3)) == 0.5
    assert analysis.probe_accuracy(probe, _blobs(90, 0.0, 2), _blobs(10, 6.0, 3)) > 0.95


def test_nearest_distances_are_mean_absolute_differences_to_the_nearest():
    reference = torch.tensor([[0.0, 0.0], [1.0, 1.0], [4.0, 4.0]])
    queries = torch.tensor([[0.0, 0.0], [0.5, 0.5], [1.0, 2.0], [10.0, 10.0]])
    assert analysis.nearest_distances(queries, reference).tolist() == pytest.approx([0.0, 0.5, 0.5, 6.0])


def test_diversity_ignores_tint_and_measures_rms_differences():
    g = torch.Generator().manual_seed(0)
    face = torch.rand(1, 3, 16, 16, generator=g)
    tinted = face + torch.rand(8, 3, 1, 1, generator=g)  # one face, eight tints
    assert analysis.diversity(tinted) == pytest.approx(0.0, abs=1e-5)
    p = torch.rand(3, 16, 16, generator=g)
    p = p - p.mean((-2, -1), keepdim=True)
    two = torch.stack([0.5 + p, 0.5 - p])  # they differ by 2p everywhere
    assert analysis.diversity(two) == pytest.approx(float(2 * p.pow(2).mean().sqrt()), rel=1e-4)
    with pytest.raises(ValueError):
        analysis.diversity(face)


def test_high_frequency_energy_is_zero_for_flat_images_and_drops_with_blur():
    flat = torch.full((2, 3, 16, 16), 0.3)
    assert analysis.high_frequency_energy(flat).tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None]) % 2).float().expand(1, 3, 64, 64)
    # away from the edges a 3x3 box over a checkerboard gives 4/9 or 5/9: every pixel is off by 4/9
    assert float(analysis.high_frequency_energy(checker)) == pytest.approx(16 / 81, rel=0.05)
    noise = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    blurred = torch.nn.functional.avg_pool2d(noise, 3, stride=1, padding=1, count_include_pad=False)
    assert (analysis.high_frequency_energy(blurred) < 0.2 * analysis.high_frequency_energy(noise)).all()


def test_high_frequency_energy_inside_a_mask_counts_only_those_pixels():
    checker = ((torch.arange(32)[:, None] + torch.arange(32)[None]) % 2).float().expand(1, 3, 32, 32)
    img = torch.full((1, 3, 32, 32), 0.5)
    img[..., 8:24, :16] = checker[..., 8:24, :16]  # detail in the left half only
    left = torch.zeros(1, 1, 32, 32, dtype=torch.bool)
    left[..., 10:22, 2:14] = True  # well inside the detailed patch
    assert float(analysis.high_frequency_energy(img, left)) == pytest.approx(16 / 81, rel=1e-4)
    assert float(analysis.high_frequency_energy(img, left.flip(-1))) == pytest.approx(0.0, abs=1e-12)
    assert float(analysis.high_frequency_energy(img, torch.zeros_like(left))) == 0.0  # marks nothing: 0
    blurred = torch.nn.functional.avg_pool2d(img, 3, stride=1, padding=1, count_include_pad=False)
    assert analysis.detail_kept(img, img, left) == pytest.approx(1.0)
    assert analysis.detail_kept(blurred, img, left) < 0.1  # a 3x3 blur removes nearly all of a checkerboard
