import pytest
import torch

from lafr.adapter import LatentAlignmentAdapter, codebook_usage, differentiable_argmin


def _adapter(**kw):
    torch.manual_seed(0)
    return LatentAlignmentAdapter(**{"hidden": 16, "codebook_size": 32, "blocks": 1, **kw})


def test_argmin_picks_the_true_nearest_entry():
    a = _adapter()
    z = torch.randn(2, 4, 5, 6)
    _, idx = a.quantize(z)
    f = a.extractor(z).permute(0, 2, 3, 1).reshape(-1, 16)
    brute = torch.stack([((row - a.codebook) ** 2).sum(1).argmin() for row in f]).view(2, 5, 6)
    assert torch.equal(idx, brute)


def test_straight_through_forward_is_exactly_the_hard_choice():
    a = _adapter(straight_through=True)
    z = torch.randn(2, 4, 5, 6)
    chosen, idx = a.quantize(z)
    assert torch.equal(chosen, a.codebook[idx].permute(0, 3, 1, 2))  # bit for bit, not just close
    d = torch.rand(64, 100, generator=torch.Generator().manual_seed(0)) * 5
    w = differentiable_argmin(d, beta=10.0, straight_through=True)
    assert torch.equal(w, torch.nn.functional.one_hot(d.argmin(-1), 100).float())


def test_soft_mode_is_a_softmax_and_sharpens_with_beta():
    d = torch.tensor([[3.0, 1.0, 2.0]])
    assert torch.allclose(differentiable_argmin(d, 2.0, False), torch.softmax(-2.0 * d, -1))
    assert differentiable_argmin(d, 100.0, False)[0, 1] > 0.999


@pytest.mark.parametrize("straight_through", [True, False])
def test_gradients_reach_codebook_and_feature_extractor(straight_through):
    a = _adapter(straight_through=straight_through, beta=1.0)
    z = torch.randn(2, 4, 5, 6)
    loss = (a(z) - torch.randn(2, 4, 5, 6)).abs().mean()
    loss.backward()
    assert a.codebook.grad is not None and a.codebook.grad.abs().sum() > 0
    for part in (a.extractor, a.mapping):
        grads = [p.grad for p in part.parameters()]
        assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


@pytest.mark.parametrize("h,w", [(1, 1), (7, 3), (16, 16), (9, 20)])
def test_any_latent_size(h, w):
    a = _adapter()
    assert a(torch.randn(3, 4, h, w)).shape == (3, 4, h, w)


def test_save_and_load_round_trip(tmp_path):
    a = _adapter(residual=True, beta=3.0)
    a.save_pretrained(tmp_path / "adapter")
    b = LatentAlignmentAdapter.from_pretrained(tmp_path / "adapter")
    z = torch.randn(2, 4, 8, 8)
    assert b.config.residual and b.config.beta == 3.0
    assert torch.equal(a(z), b(z))


def test_parameter_table_paper_size():
    a = LatentAlignmentAdapter(hidden=256, codebook_size=1024, blocks=2)
    t = a.parameter_table()
    assert t["codebook"] == 1024 * 256
    assert t["total"] == sum(p.numel() for p in a.parameters())  # no part left out of the table
    assert t["total"] == 5_138_180  # the paper's A.2.2 says 5.2M; notebook 03 explains the difference


def test_codebook_usage():
    u = codebook_usage(torch.tensor([0, 0, 1, 1, 2, 2, 3, 3]), 8)
    assert u["dead"] == 4 and u["used"] == 4 and u["perplexity"] == pytest.approx(4.0)
    assert codebook_usage(torch.zeros(10, dtype=torch.long), 8)["perplexity"] == pytest.approx(1.0)
