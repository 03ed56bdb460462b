"""SSD detectors built from torchvision parts.

* ``mobilenet-v3``: SSDlite (MobileNetV3-Large features + depthwise heads), torchvision's
  ``ssdlite320_mobilenet_v3_large`` with anchors scaled 0.1-0.95 (torchvision: 0.2-0.95) so objects
  down to a tenth of the image get well-matched default boxes. The CPU-fast choice.
* ``vgg-16``: torchvision's SSD300-VGG16 (``ssd300_vgg16``) layout at any ``image_shape``.
* ``resnet-50``: SSD with a ResNet-50 base (conv1..layer3, layer3 at stride 8 as in NVIDIA's
  SSD300-ResNet50) and five extra blocks, torchvision's ``SSDHead``.

``num_classes`` here is the user's (background excluded); the networks have ``num_classes + 1``
outputs, index 0 = background.
"""

from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from functools import partial
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torchvision.models import MobileNet_V3_Large_Weights, ResNet50_Weights, VGG16_Weights, mobilenet_v3_large, resnet50, vgg16
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.ssd import SSD, SSDHead, _vgg_extractor
from torchvision.models.detection.ssdlite import SSDLiteHead, _mobilenet_extractor, _normal_init

log = logging.getLogger("apiary_od")

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


class PretrainedWeightsError(RuntimeError):
    """ImageNet backbone weights are not in torchvision's cache and cannot be downloaded."""


BACKBONE_WEIGHTS = {
    "mobilenet-v3": MobileNet_V3_Large_Weights.IMAGENET1K_V1,
    "resnet-50": ResNet50_Weights.IMAGENET1K_V1,
    "vgg-16": VGG16_Weights.IMAGENET1K_FEATURES,
}


def weights_file(base_network: str) -> tuple[str, str, str]:
    """(file name, cache directory, url) of the ImageNet weights for ``base_network``."""
    w = BACKBONE_WEIGHTS[base_network]
    return os.path.basename(urlparse(w.url).path), os.path.join(torch.hub.get_dir(), "checkpoints"), w.url


def load_backbone_weights(base_network: str) -> dict[str, torch.Tensor]:
    """Through torchvision's own cache (``$TORCH_HOME/hub/checkpoints``), downloading if missing."""
    name, directory, url = weights_file(base_network)
    try:
        return BACKBONE_WEIGHTS[base_network].get_state_dict(progress=False)
    except Exception as e:
        raise PretrainedWeightsError(
            f"use_pretrained_model=1 but the ImageNet weights for base_network '{base_network}' are not "
            f"available ({type(e).__name__}: {e}). Place the file {name} (from {url}) in {directory} "
            "(torchvision's cache; set TORCH_HOME to move it), or set use_pretrained_model=0 to train "
            "from scratch."
        ) from e


def _anchor_generator(n_maps: int, min_ratio: float, max_ratio: float, wide: bool) -> DefaultBoxGenerator:
    ratios = [[2, 3] for _ in range(n_maps)] if wide else [[2]] + [[2, 3]] * (n_maps - 3) + [[2], [2]]
    return DefaultBoxGenerator(ratios, min_ratio=min_ratio, max_ratio=max_ratio)


def _mobilenet_ssdlite(num_classes: int, size: int, pretrained: bool) -> SSD:
    norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
    backbone = mobilenet_v3_large(weights=None, norm_layer=norm_layer, reduced_tail=not pretrained)
    if pretrained:
        backbone.load_state_dict(load_backbone_weights("mobilenet-v3"))
    else:
        _normal_init(backbone)
    backbone = _mobilenet_extractor(backbone, 6, norm_layer)
    anchors = _anchor_generator(6, 0.1, 0.95, wide=True)
    out_channels = det_utils.retrieve_out_channels(backbone, (size, size))
    head = SSDLiteHead(out_channels, anchors.num_anchors_per_location(), num_classes + 1, norm_layer)
    return SSD(
        backbone,
        anchors,
        (size, size),
        num_classes + 1,
        image_mean=[0.5] * 3,
        image_std=[0.5] * 3,
        head=head,
        score_thresh=0.001,
        nms_thresh=0.45,
        detections_per_img=200,
        topk_candidates=300,
    )


def _vgg_ssd(num_classes: int, size: int, pretrained: bool) -> SSD:
    vgg = vgg16(weights=None)
    if pretrained:
        vgg.load_state_dict(load_backbone_weights("vgg-16"), strict=False)
    backbone = _vgg_extractor(vgg, False, 5)
    if size < 300:
        # SSD300's last two extra blocks use unpadded 3x3 convs (3x3 -> 1x1); below 300 px the maps
        # are already 1x1 there, so pad them to keep every map at least 1x1.
        for block in list(backbone.extra)[-2:]:
            for m in block.modules():
                if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
                    m.padding = (1, 1)
    anchors = _anchor_generator(6, 0.1, 0.9, wide=False)
    out_channels = det_utils.retrieve_out_channels(backbone, (size, size))
    head = SSDHead(out_channels, anchors.num_anchors_per_location(), num_classes + 1)
    return SSD(
        backbone,
        anchors,
        (size, size),
        num_classes + 1,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
        head=head,
        score_thresh=0.01,
        nms_thresh=0.45,
        detections_per_img=200,
        topk_candidates=400,
    )


class ResNetSSDBackbone(nn.Module):
    """ResNet-50 conv1..layer3 (layer3 at stride 8) + five extra blocks -> six feature maps."""

    def __init__(self, resnet: nn.Module) -> None:
        super().__init__()
        layer3 = resnet.layer3
        layer3[0].conv1.stride = (1, 1)
        layer3[0].conv2.stride = (1, 1)
        layer3[0].downsample[0].stride = (1, 1)
        self.body = nn.Sequential(
            OrderedDict(
                conv1=resnet.conv1,
                bn1=resnet.bn1,
                relu=resnet.relu,
                maxpool=resnet.maxpool,
                layer1=resnet.layer1,
                layer2=resnet.layer2,
                layer3=layer3,
            )
        )
        spec = [(1024, 256, 512), (512, 256, 512), (512, 128, 256), (256, 128, 256), (256, 128, 256)]
        self.extra = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Conv2d(cin, mid, 1, bias=False),
                    nn.BatchNorm2d(mid),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(mid, cout, 3, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True),
                )
                for cin, mid, cout in spec
            ]
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.body(x)
        out = OrderedDict([("0", x)])
        for i, block in enumerate(self.extra):
            x = block(x)
            out[str(i + 1)] = x
        return out


def _resnet_ssd(num_classes: int, size: int, pretrained: bool) -> SSD:
    resnet = resnet50(weights=None)
    if pretrained:
        resnet.load_state_dict(load_backbone_weights("resnet-50"))
    backbone = ResNetSSDBackbone(resnet)
    anchors = _anchor_generator(6, 0.1, 0.9, wide=False)
    out_channels = det_utils.retrieve_out_channels(backbone, (size, size))
    head = SSDHead(out_channels, anchors.num_anchors_per_location(), num_classes + 1)
    return SSD(
        backbone,
        anchors,
        (size, size),
        num_classes + 1,
        image_mean=IMAGENET_MEAN,
        image_std=IMAGENET_STD,
        head=head,
        score_thresh=0.01,
        nms_thresh=0.45,
        detections_per_img=200,
        topk_candidates=400,
    )


BUILDERS = {"mobilenet-v3": _mobilenet_ssdlite, "vgg-16": _vgg_ssd, "resnet-50": _resnet_ssd}


class SingleImageSafeBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that also trains on a batch of one image.

    PyTorch refuses batch statistics over a single value per channel (a 1x1 feature map of one
    image, as SSD's last extra layers have); SageMaker's tutorial trains with ``mini_batch_size``
    1. For such inputs this layer normalises with its running statistics instead; every other
    input is normalised exactly as ``nn.BatchNorm2d`` does.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.numel() // x.shape[1] <= 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return super().forward(x)


def _single_image_safe(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if type(m) is nn.BatchNorm2d:
            m.__class__ = SingleImageSafeBatchNorm2d
    return model


def build_model(base_network: str, num_classes: int, image_shape: int, pretrained: bool, nms_threshold: float = 0.45) -> SSD:
    model = BUILDERS[base_network](num_classes, image_shape, pretrained)
    model.nms_thresh = nms_threshold
    return _single_image_safe(model)


def freeze_layers(model: SSD, pattern: str) -> list[str]:
    """Freeze base-network parameters whose name (``backbone.<name>``) matches ``pattern``."""
    if not pattern:
        return []
    rx = re.compile(pattern)
    frozen = []
    for name, p in model.backbone.named_parameters():
        if rx.search(name):
            p.requires_grad_(False)
            frozen.append(name)
    if not frozen:
        log.warning(
            "freeze_layer_pattern %r matches no base-network layer; names look like %s",
            pattern,
            ", ".join(n for n, _ in list(model.backbone.named_parameters())[:3]),
        )
    else:
        log.info("froze %d base-network parameters matching %r", len(frozen), pattern)
    return frozen


def bare_torchvision_ssdlite(num_classes: int) -> SSD:
    """torchvision's stock SSDlite320 (for the benchmark's baseline)."""
    return torchvision.models.detection.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes + 1)
