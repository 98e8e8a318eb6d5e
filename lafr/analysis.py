"""Are faces a compact class?  Image features, t-SNE, intra-class distance and silhouette.

Paper Sec. 2.1 and A.3.7: ResNet-50 embeddings of CelebA faces form a compact cluster
(mean intra-class distance 13.28, silhouette 0.18) while ImageNet images scatter (24.13).  The paper
does not say how it measures intra-class distance; we use the mean Euclidean distance between all
pairs of the class's feature vectors, and the silhouette over the two classes.  Raw distances depend
on the feature extractor's scale, so we also report the scale-free ratio face / natural (the paper's
is 13.28 / 24.13 = 0.55).  The paper does not say which ResNet-50 weights; ImageNet's is our reading.

Taught in notebook 01.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.manifold import TSNE
from sklearn.metrics import pairwise_distances, silhouette_score

PAPER_FACES_VS_NATURAL = {"intra_faces": 13.28, "intra_natural": 24.13, "silhouette": 0.18}

_IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class ResNetFeatures(torch.nn.Module):
    """torchvision's ResNet-50 up to its global average pool: one 2048-d vector per image.

    ``weights="IMAGENET1K_V2"`` (paper profile) downloads ImageNet weights (the paper says only "ResNet-50
    embeddings"; ImageNet weights are our reading);
    ``weights=None`` (tiny profile, offline) builds the same network with random weights drawn from
    ``seed``.  A random network is not trained on faces or on anything else, so it cannot favour
    faces; its features still respond to an image's colour, contrast and texture statistics, but
    after the global average pool they barely see layout (notebook 01 shuffles a face's tiles and
    finds it about as compact).  Taught in notebook 01.
    """

    def __init__(self, weights: str | None = "IMAGENET1K_V2", size: int = 224, seed: int = 0):
        super().__init__()
        from torchvision.models import resnet50

        if weights is None:
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                net = resnet50(weights=None)
        else:
            try:
                net = resnet50(weights=weights)
            except Exception as e:  # noqa: BLE001 - offline, or an unknown weights name
                raise RuntimeError(
                    f"could not load torchvision ResNet-50 weights {weights!r} ({e}). They download to "
                    "the torch hub cache (TORCH_HOME) on first use; offline, copy the .pth file there, "
                    "or use the tiny profile (feature_weights=None)."
                ) from e
        net.fc = torch.nn.Identity()
        self.net = net.eval()
        self.size = size

    @torch.no_grad()
    def forward(self, images: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
        """N x 3 x H x W images in [0, 1] -> N x 2048 features."""
        out = []
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size].float()
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
            out.append(self.net((x - _IMAGENET_MEAN) / _IMAGENET_STD))
        return torch.cat(out)


def intra_class_distance(features: np.ndarray) -> float:
    """Mean Euclidean distance between all pairs of feature vectors of one class."""
    d = pairwise_distances(np.asarray(features, dtype=np.float64))
    n = len(d)
    if n < 2:
        raise ValueError("need at least two samples for an intra-class distance")
    return float(d.sum() / (n * (n - 1)))


def compactness(features: np.ndarray, labels: np.ndarray, face_label=1) -> dict:
    """Intra-class distances of faces and of natural images, their ratio, and the silhouette score
    of the face/natural split (sklearn, Euclidean).  Taught in notebook 01."""
    features, labels = np.asarray(features), np.asarray(labels)
    faces, natural = features[labels == face_label], features[labels != face_label]
    intra_f, intra_n = intra_class_distance(faces), intra_class_distance(natural)
    sil_all = silhouette_score(features, labels)
    from sklearn.metrics import silhouette_samples

    per_sample = silhouette_samples(features, labels)
    return {
        "intra_faces": intra_f,
        "intra_natural": intra_n,
        "ratio": intra_f / intra_n,
        "silhouette": float(sil_all),
        "silhouette_faces": float(per_sample[labels == face_label].mean()),
        "n_faces": int(len(faces)),
        "n_natural": int(len(natural)),
    }


def ratio_interval(
    faces: np.ndarray, natural: np.ndarray, draws: int = 200, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap interval of the ratio intra(faces) / intra(natural): redraw each class's images with
    replacement ``draws`` times, recompute the ratio, and keep the middle ``level`` of the values.

    It says how much the ratio depends on which images happened to be drawn (not on the network's
    seed); the percentile interval is approximate (about 90% coverage for 60 samples a class, not 95%).
    Two ratios whose intervals do not overlap differ by more than that.  Taught in notebook 01.
    """
    rng = np.random.default_rng(seed)
    da = pairwise_distances(np.asarray(faces, dtype=np.float64))
    db = pairwise_distances(np.asarray(natural, dtype=np.float64))
    if len(da) < 2 or len(db) < 2:
        raise ValueError("need at least two samples per class")

    def mean_pair(d):  # one bootstrap draw's mean distance over all pairs of positions
        i = rng.integers(0, len(d), len(d))
        return d[np.ix_(i, i)].sum() / (len(d) * (len(d) - 1))

    ratios = np.array([mean_pair(da) / mean_pair(db) for _ in range(draws)])
    tail = 100 * (1 - level) / 2
    return float(np.percentile(ratios, tail)), float(np.percentile(ratios, 100 - tail))


def tsne_2d(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE embedding (sklearn) of the features, seeded.  Taught in notebook 01."""
    features = np.asarray(features, dtype=np.float64)
    perplexity = min(perplexity, (len(features) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)


class FaceSpace:
    """ "Eigenfaces": the top-``k`` principal components of a set of faces (pixels).

    ``score(images)`` is the share of each image's variation (around the mean face) that the face
    space explains: near 1 for faces like the reference set, near 0 for noise.  Used to check that
    a diffusion prior draws faces rather than colourful blobs.  Taught in notebook 02.
    """

    def __init__(self, faces: torch.Tensor, k: int = 32):
        x = faces.float().flatten(1)
        self.mean = x.mean(0)
        _, _, vt = torch.linalg.svd(x - self.mean, full_matrices=False)
        self.components = vt[:k]

    def score(self, images: torch.Tensor) -> torch.Tensor:
        d = images.float().flatten(1) - self.mean
        residual = d - (d @ self.components.T) @ self.components
        return 1 - residual.pow(2).sum(1) / d.pow(2).sum(1).clamp_min(1e-12)


# ---- Are LQ latents off the HQ distribution?  Does a prior draw sharp, varied faces?  Notebook 02.


def fit_linear_probe(a, b, seed: int = 0):
    """A linear probe: scikit-learn logistic regression on standardised, flattened features, trained
    to tell set ``a`` (label 0) from set ``b`` (label 1).  Returns the fitted pipeline; its
    ``decision_function`` is the signed position along the probe's direction.  Taught in notebook 02."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([_flat(a), _flat(b)])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, random_state=seed)).fit(x, y)


def probe_accuracy(probe, a, b) -> float:
    """Balanced accuracy of a probe from ``fit_linear_probe`` on held-out sets ``a`` (label 0) and
    ``b`` (label 1): the mean of the two per-set accuracies, so 0.5 is chance whatever the set sizes.
    Taught in notebook 02."""
    return float(((probe.predict(_flat(a)) == 0).mean() + (probe.predict(_flat(b)) == 1).mean()) / 2)


def nearest_distances(queries, reference) -> torch.Tensor:
    """For each query, the mean absolute difference per element to its nearest reference
    (L1 over the flattened tensors divided by their size, the unit of the latent L1 gap).  Taught in
    notebook 02."""
    q, r = torch.as_tensor(_flat(queries)), torch.as_tensor(_flat(reference))
    return torch.cdist(q, r, p=1).min(1).values / q.shape[1]


def diversity(images: torch.Tensor) -> float:
    """How much a set of images differ from each other: the mean RMS difference over all pairs, after
    removing each image's mean colour (so a set of one face in random tints scores 0).  Taught in
    notebook 02."""
    x = images.float()
    x = (x - x.mean((-2, -1), keepdim=True)).flatten(1)
    n = len(x)
    if n < 2:
        raise ValueError("need at least two images for a diversity")
    d = torch.cdist(x, x) / x.shape[1] ** 0.5
    return float(d.sum() / (n * (n - 1)))


def high_frequency_energy(images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Sharpness per image: the mean squared difference between an image and its 3x3 box blur (edge
    pixels repeated), i.e. the energy a slight blur removes.  Images N x C x H x W in [0, 1]; with
    ``mask`` (N x 1 x H x W, 0/1) only over the pixels it marks (0 where it marks none).
    Taught in notebook 02 (whole images) and 05 (hair and eyes)."""
    x = images.float()
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    err = (x - blurred).pow(2)
    if mask is None:
        return err.flatten(1).mean(1)
    m = mask.float().expand_as(err)
    return (err * m).flatten(1).sum(1) / m.flatten(1).sum(1).clamp_min(1)


def detail_kept(images: torch.Tensor, truth: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """How much of the ground truth's fine detail a set of restored images holds: their mean
    high-frequency energy over the truth's (inside ``mask``).  1: as much detail as the truth (not
    necessarily the same detail); 0.3: most of it smoothed away; above 1: added texture or noise.
    Taught in notebook 05."""
    return float(high_frequency_energy(images, mask).mean() / high_frequency_energy(truth, mask).mean())


def _flat(x) -> np.ndarray:
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return x.reshape(len(x), -1).astype(np.float64)
