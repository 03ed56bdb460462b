import pytest
import torch

from apiary_od.models import PretrainedWeightsError, build_model, freeze_layers, weights_file


@pytest.mark.parametrize("base_network", ["mobilenet-v3", "resnet-50", "vgg-16"])
def test_every_base_network_builds_and_takes_a_step_on_a_tiny_input(base_network):
    torch.manual_seed(0)
    model = build_model(base_network, 2, 64, pretrained=False)
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    images = [torch.rand(3, 64, 64), torch.rand(3, 64, 64)]
    targets = [
        {"boxes": torch.tensor([[4.0, 6.0, 40.0, 30.0]]), "labels": torch.tensor([2])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)},
    ]  # no boxes is valid
    losses = model(images, targets)
    loss = losses["classification"] + losses["bbox_regression"]
    assert torch.isfinite(loss)
    opt.zero_grad()
    loss.backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        out = model([torch.rand(3, 64, 64)])
    assert out[0]["boxes"].shape[-1] == 4


def test_pretrained_weights_that_cannot_be_had_name_the_file_and_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    import torch.hub

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: (_ for _ in ()).throw(OSError("network unreachable")))
    name, directory, _url = weights_file("mobilenet-v3")
    assert name == "mobilenet_v3_large-8738ca79.pth" and directory == str(tmp_path / "hub" / "checkpoints")
    with pytest.raises(PretrainedWeightsError) as e:
        build_model("mobilenet-v3", 1, 64, pretrained=True)
    msg = str(e.value)
    assert f"Place the file {name}" in msg and directory in msg and "use_pretrained_model=0" in msg


def test_freeze_layer_pattern_freezes_matching_base_network_layers():
    model = build_model("mobilenet-v3", 1, 64, pretrained=False)
    frozen = freeze_layers(model, r"^features\.0\.0\.")
    assert frozen and all(not p.requires_grad for n, p in model.backbone.named_parameters() if n in frozen)
    assert any(p.requires_grad for p in model.backbone.parameters())


@pytest.mark.parametrize("base_network", ["mobilenet-v3", "resnet-50", "vgg-16"])
def test_every_base_network_trains_on_a_batch_of_one_image(base_network):
    # The tutorial's request uses mini_batch_size "1"; SSD's last feature maps are 1x1, where
    # plain batch norm refuses one value per channel.
    torch.manual_seed(0)
    model = build_model(base_network, 1, 64, pretrained=False)
    model.train()
    losses = model([torch.rand(3, 64, 64)], [{"boxes": torch.tensor([[4.0, 6.0, 40.0, 30.0]]), "labels": torch.tensor([1])}])
    loss = losses["classification"] + losses["bbox_regression"]
    assert torch.isfinite(loss)
    loss.backward()
