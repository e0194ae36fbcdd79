"""helpers.tracing: the output-size formula, the shape tracer and the receptive field."""
import random

import pytest
import torch
import torchvision
from torch import nn

from helpers import models, tracing
from helpers.tracing import ShapeTraceError, conv_output_size, receptive_field, trace_shapes


# ---------------------------------------------------------------------------------------------
# The output-size formula: a property test against PyTorch's own layers
# ---------------------------------------------------------------------------------------------
def random_settings(seed: int, count: int, pool: bool):
    """Random (n, k, s, p, d) that PyTorch accepts: the kernel fits, and pooling pads at most k // 2."""
    rng = random.Random(seed)
    settings = []
    while len(settings) < count:
        n, k, s, d = rng.randint(1, 40), rng.randint(1, 7), rng.randint(1, 4), rng.randint(1, 3)
        p = rng.randint(0, k // 2) if pool else rng.randint(0, 4)
        if n + 2 * p >= d * (k - 1) + 1:
            settings.append((n, k, s, p, d))
    return settings


def test_formula_matches_conv2d_over_random_settings():
    for n, k, s, p, d in random_settings(seed=0, count=300, pool=False):
        conv = nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)
        with torch.no_grad():
            out = conv(torch.zeros(1, 1, n, n + 3))
        setting = dict(n=n, k=k, s=s, p=p, d=d)
        assert out.shape[2] == conv_output_size(n, k, s, p, d), setting
        assert out.shape[3] == conv_output_size(n + 3, k, s, p, d), setting


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_formula_matches_maxpool2d_over_random_settings(ceil_mode):
    for n, k, s, p, d in random_settings(seed=1, count=300, pool=True):
        pool = nn.MaxPool2d(k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
        out = pool(torch.zeros(1, 1, n, n))
        assert out.shape[2] == conv_output_size(n, k, s, p, d, ceil_mode=ceil_mode), dict(n=n, k=k, s=s, p=p, d=d)


def test_formula_with_dilation_one_is_the_textbook_formula():
    for n, k, s, p in [(224, 7, 2, 3), (56, 3, 2, 1), (180, 3, 2, 1), (45, 1, 2, 0), (6, 3, 1, 1)]:
        assert conv_output_size(n, k, s, p) == (n + 2 * p - k) // s + 1


@pytest.mark.parametrize("kwargs", [dict(n=0, kernel_size=3), dict(n=5, kernel_size=0), dict(n=5, kernel_size=3, stride=0),
                                    dict(n=5, kernel_size=3, padding=-1), dict(n=5, kernel_size=3, dilation=0),
                                    dict(n=2, kernel_size=5), dict(n=5.0, kernel_size=3)])
def test_formula_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        conv_output_size(**kwargs)


# ---------------------------------------------------------------------------------------------
# The tracer on nested models
# ---------------------------------------------------------------------------------------------
def small_net() -> nn.Sequential:
    net = nn.Sequential()
    net.add_module("stem", nn.Conv2d(3, 8, 3, padding=1))
    net.add_module("layer", nn.Sequential(models.BasicBlock(8, 8), models.BasicBlock(8, 16, stride=2)))
    net.add_module("pool", nn.AdaptiveAvgPool2d(1))
    net.add_module("flatten", nn.Flatten())
    net.add_module("fc", nn.Linear(16, 5))
    return net


def test_rows_in_execution_order_with_depth_and_parent_first():
    trace = trace_shapes(small_net(), (2, 3, 8, 8))
    names = [r.name for r in trace.rows]
    assert names[:4] == ["", "stem", "layer", "layer.0"]
    assert names.index("layer.1") < names.index("layer.1.conv1") < names.index("layer.1.downsample.0")
    assert trace["layer.1.conv1"].depth == 3 and trace["layer"].depth == 1 and trace[""].depth == 0
    assert trace.output_shape == (2, 5)
    assert trace["layer.1"].input_shapes == ((2, 8, 8, 8),)
    assert trace["layer.1"].output_shape == (2, 16, 4, 4)
    assert trace["stem"].kernel == (3, 3) and trace["stem"].stride == (1, 1) and trace["stem"].padding == (1, 1)
    assert trace["fc"].params == 16 * 5 + 5
    assert trace[""].params == sum(p.numel() for p in small_net().parameters())


def test_residual_blocks_show_their_shortcut():
    trace = trace_shapes(small_net(), (2, 3, 8, 8))
    identity, projection = trace["layer.0"], trace["layer.1"]
    assert identity.shortcut == "identity" and identity.shortcut_shape == (2, 8, 8, 8)
    assert projection.shortcut == "via downsample" and projection.shortcut_shape == (2, 16, 4, 4)
    assert projection.shortcut_shape == projection.output_shape
    assert trace["layer.1.downsample.0"].in_shortcut and trace["layer.1.downsample.1"].in_shortcut
    assert not trace["layer.1.conv1"].in_shortcut
    assert trace["stem"].shortcut is None and trace["layer"].shortcut is None


def test_d2l_block_shortcut_is_conv3_and_plain_block_has_none():
    trace = trace_shapes(models.ResidualBlock(6, use_1x1conv=True, strides=2), (4, 3, 6, 6))
    assert trace[""].shortcut == "via conv3" and trace[""].shortcut_shape == (4, 6, 3, 3)
    assert trace["conv3"].in_shortcut and trace["conv3"].kernel == (1, 1)
    plain = trace_shapes(models.PlainBlock(8, 8), (1, 8, 4, 4))
    assert plain[""].shortcut is None


def test_hooks_removed_and_modes_restored():
    net = small_net().train()
    net.layer.eval()
    stats = net.layer[0].bn1.running_mean.clone()
    trace_shapes(net, (2, 3, 8, 8))
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())
    assert net.training and not net.layer.training and net.stem.training
    assert torch.equal(net.layer[0].bn1.running_mean, stats)  # eval mode: statistics untouched


def test_shape_input_leaves_global_random_state_alone():
    net = small_net()
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    trace_shapes(net, (2, 3, 8, 8))
    assert torch.equal(torch.rand(3), expected)


def test_max_depth_and_filter():
    trace = trace_shapes(small_net(), (2, 3, 8, 8), max_depth=1)
    assert [r.name for r in trace.rows] == ["", "stem", "layer", "pool", "flatten", "fc"]
    full = trace_shapes(small_net(), (2, 3, 8, 8))
    assert [r.name for r in full.filter(types=["BasicBlock"])] == ["layer.0", "layer.1"]
    with pytest.raises(ValueError, match="max_depth"):
        trace_shapes(small_net(), (2, 3, 8, 8), max_depth=-1)


def test_text_and_html_tables_are_deterministic():
    a, b = trace_shapes(small_net(), (2, 3, 8, 8)), trace_shapes(small_net(), (2, 3, 8, 8))
    assert repr(a) == repr(b) == str(a)
    assert a._repr_html_() == b._repr_html_()
    text, page = repr(a), a._repr_html_()
    assert text.splitlines()[0].split() == list(tracing.COLUMNS)
    assert "(2, 16, 4, 4) via downsample" in text and "k3 s1 p1" in text
    assert page.startswith("<table>") and page.count("<tr") == len(a.rows) + 1
    assert "0x" not in text + page and " at " not in text + page


# ---------------------------------------------------------------------------------------------
# Lazy modules, several inputs, failures
# ---------------------------------------------------------------------------------------------
def test_lazy_model_materialises_and_counts_parameters():
    net = models.d2l_resnet18()
    trace = trace_shapes(net, (1, 1, 96, 96), max_depth=1)
    # The stage-by-stage shapes d2l's layer_summary prints for ResNet-18 on a 96x96 image.
    assert [r.output_shape for r in trace.rows[1:]] == [(1, 64, 24, 24), (1, 64, 24, 24), (1, 128, 12, 12),
                                                        (1, 256, 6, 6), (1, 512, 3, 3), (1, 10)]
    assert trace[""].params == sum(p.numel() for p in net.parameters()) == 11_178_378
    assert trace["0"].type == "Sequential"
    assert trace_shapes(net, (1, 1, 96, 96))["0.0"].type == "Conv2d"  # no longer LazyConv2d


class TwoInputs(nn.Module):
    """An image branch and a vector branch, concatenated."""

    def __init__(self):
        super().__init__()
        self.image = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.Flatten())
        self.meta = nn.Linear(3, 5)
        self.head = nn.LazyLinear(2)

    def forward(self, image, meta, scale: float = 1.0):
        return self.head(torch.cat([self.image(image), self.meta(meta)], dim=1)) * scale


def test_several_inputs_as_shapes_or_tensors():
    trace = trace_shapes(TwoInputs(), [(2, 1, 9, 9), (2, 3)])
    assert trace[""].input_shapes == ((2, 1, 9, 9), (2, 3))
    assert trace["image"].output_shape == (2, 64) and trace["meta"].output_shape == (2, 5)
    assert trace["head"].input_shapes == ((2, 69),) and trace.output_shape == (2, 2)
    again = trace_shapes(TwoInputs(), (torch.zeros(2, 1, 9, 9), torch.zeros(2, 3)))
    assert again.output_shape == (2, 2)


@pytest.mark.parametrize("bad", ["image", None, (2, 0, 3), (2, 3.5), [], [(2, 3), "x"]])
def test_bad_input_is_a_value_error(bad):
    with pytest.raises(ValueError, match="x_or_shape"):
        trace_shapes(small_net(), bad)


def test_model_must_be_a_module():
    with pytest.raises(ValueError, match="model"):
        trace_shapes(lambda x: x, (1, 3))


def broken_net() -> nn.Sequential:
    """A stride-2 block whose projection shortcut was removed: the sum cannot work."""
    broken = models.BasicBlock(8, 16, stride=2)
    broken.downsample = None
    net = small_net()
    net.layer[1] = broken
    return net


def test_failure_names_the_module_and_its_input_then_raises():
    net = broken_net()
    with pytest.raises(ShapeTraceError) as info:
        trace_shapes(net, (2, 3, 8, 8))
    err = info.value
    assert isinstance(err, RuntimeError) and isinstance(err.__cause__, RuntimeError)
    assert err.module_name == "layer.1" and err.module_type == "BasicBlock"
    assert err.input_shapes == ((2, 8, 8, 8),)
    message = str(err)
    assert message.startswith("error in `layer.1` (BasicBlock) given input (2, 8, 8, 8): ")
    assert str(err.__cause__) in message
    assert "main path gives (2, 16, 4, 4)" in message and "identity: (2, 8, 8, 8)" in message
    assert err.trace["layer.1"].failed and err.trace["layer"].failed and not err.trace["layer.0"].failed
    assert err.trace["layer.1.bn2"].output_shape == (2, 16, 4, 4)
    assert "FAILED" in repr(err.trace)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())
    fixed = broken_net()
    fixed.layer[1] = models.BasicBlock(8, 16, stride=2)
    assert trace_shapes(fixed, (2, 3, 8, 8))["layer.1"].output_shape == (2, 16, 4, 4)


def test_failure_in_a_leaf_names_the_leaf():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(10, 2))
    with pytest.raises(ShapeTraceError, match=r"error in `2` \(Linear\) given input \(1, 144\)") as info:
        trace_shapes(net, (1, 3, 8, 8))
    assert info.value.module_name == "2"


def test_failure_in_the_model_itself():
    class Reshaper(nn.Module):
        def forward(self, x):
            return x.view(-1, 7)

    with pytest.raises(ShapeTraceError, match=r"error in the model \(Reshaper\) given input \(2, 5\)"):
        trace_shapes(Reshaper(), (2, 5))


# ---------------------------------------------------------------------------------------------
# torchvision's ResNets, the builders, the receptive field
# ---------------------------------------------------------------------------------------------
def test_torchvision_resnet18():
    trace = trace_shapes(torchvision.models.resnet18(), (1, 3, 224, 224))
    assert trace.output_shape == (1, 1000) and trace[""].params == 11_689_512
    assert [trace[f"layer{i}"].output_shape for i in range(1, 5)] == [
        (1, 64, 56, 56), (1, 128, 28, 28), (1, 256, 14, 14), (1, 512, 7, 7)]
    assert trace["layer2.0"].shortcut == "via downsample" and trace["layer2.0"].shortcut_shape == (1, 128, 28, 28)
    assert trace["layer2.1"].shortcut == "identity"
    assert len([r for r in trace.rows if r.name == "layer1.0.relu"]) == 2  # one module, called twice
    assert receptive_field(trace)[-1].receptive_field == 435  # the well-known value for ResNet-18


def test_torchvision_resnet50_bottlenecks():
    trace = trace_shapes(torchvision.models.resnet50(), (1, 3, 64, 64))
    assert trace.output_shape == (1, 1000) and trace[""].params == 25_557_032
    block = trace["layer1.0"]
    assert block.type == "Bottleneck" and block.output_shape == (1, 256, 16, 16)
    assert block.shortcut == "via downsample" and block.shortcut_shape == (1, 256, 16, 16)
    assert not trace["layer1.0.conv3"].in_shortcut  # a bottleneck's conv3 is on the main path
    assert trace["layer4.2"].shortcut == "identity" and trace["layer4.2"].output_shape == (1, 2048, 2, 2)


def test_five_stage_resnet_shapes():
    trace = trace_shapes(models.five_stage_resnet(), (1, 3, 180, 180))
    assert [trace[f"blocks.{i}"].output_shape[-1] for i in range(5)] == [90, 45, 23, 12, 6]
    assert trace["blocks"].output_shape == (1, 512, 6, 6)
    assert trace["flatten"].output_shape == (1, 512) and trace.output_shape == (1, 1)
    with pytest.raises(ValueError, match="channels"):
        models.five_stage_resnet(channels=())


def test_cifar_resnet18_shapes_and_size():
    trace = trace_shapes(models.cifar_resnet18(), (4, 3, 32, 32))
    assert [trace[f"layer{i}"].output_shape for i in range(1, 5)] == [
        (4, 64, 32, 32), (4, 128, 16, 16), (4, 256, 8, 8), (4, 512, 4, 4)]
    assert trace.output_shape == (4, 10) and trace[""].params == 11_173_962
    with pytest.raises(ValueError, match="num_classes"):
        models.cifar_resnet18(num_classes=0)


def test_receptive_field_of_a_chain_and_skips_shortcuts():
    chain = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3, stride=2), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, dilation=2))
    steps = receptive_field(trace_shapes(chain, (1, 1, 32, 32)))
    assert [s.receptive_field for s in steps] == [3, 5, 7, 7 + 2 * 2 * 4]
    assert [s.jump for s in steps] == [1, 2, 4, 4]
    block = receptive_field(trace_shapes(models.BasicBlock(4, 8, stride=2), (1, 4, 16, 16)))
    assert [s.name for s in block] == ["conv1", "conv2"]  # not downsample.0
    assert block[-1].receptive_field == 3 + 2 * 2
    with pytest.raises(ValueError, match="trace"):
        receptive_field([])


def test_five_line_hooks_agree_with_the_tracer():
    """The notebook's first tracer (five lines of hooks) and trace_shapes see the same leaves."""
    block, x = models.BasicBlock(4, 8, stride=2), torch.randn(2, 4, 8, 8)
    seen = []
    handles = [m.register_forward_hook(lambda m, i, o: seen.append((type(m).__name__, tuple(o.shape))))
               for m in block.modules() if not list(m.children())]
    try:
        block(x)
    finally:
        for h in handles:
            h.remove()
    leaves = [(r.type, r.output_shape) for r in trace_shapes(block, x).rows if r.type not in ("BasicBlock", "Sequential")]
    assert seen == leaves
