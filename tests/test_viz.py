import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from lafr import viz  # noqa: E402


def test_titles_never_overlap_the_row_above():
    images = [torch.rand(3, 64, 64)] * 10  # notebook 03's real-photo figure overlapped in this layout
    fig = viz.image_grid(images, ["decoded aligned latent"] * 10, ncols=5, size=1.6, suptitle="a figure")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    top_row_image = fig.axes[0].images[0].get_window_extent(renderer)
    second_row_title = fig.axes[5].title.get_window_extent(renderer)
    assert second_row_title.y1 <= top_row_image.y0  # display coordinates: y grows upwards
