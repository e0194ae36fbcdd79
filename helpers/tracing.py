"""Shape tracing: what every module of a network receives and returns, without editing ``forward``.

:func:`trace_shapes` runs one forward pass with a hook on every module (hooks are always removed
afterwards, also when the pass fails) and returns a :class:`ShapeTrace`: a table that shows as HTML in
Jupyter and as text elsewhere, with its :class:`TraceRow` s in ``.rows`` for code to inspect. Residual
blocks show the shape their shortcut adds next to their output. When the pass fails, a
:class:`ShapeTraceError` names the innermost module that failed and the shapes that went in.

:func:`conv_output_size` is the output-size formula and :func:`receptive_field` the receptive field
of every convolution and pooling layer along the main path.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from .checks import check_int

Shape = tuple[int, ...]

COLUMNS = ("module", "type", "input", "output", "shortcut", "params", "kernel")


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output side of a convolution or pooling layer: floor((n + 2p - d(k - 1) - 1) / s) + 1.

    With dilation 1 this is the familiar floor((n + 2p - k) / s) + 1. ``ceil_mode`` rounds up
    instead (as ``MaxPool2d(ceil_mode=True)`` does; a window may not start inside the right padding).
    """
    for name, value, minimum in (("n", n, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                                 ("padding", padding, 0), ("dilation", dilation, 1)):
        check_int(name, value, minimum)
    span = n + 2 * padding - dilation * (kernel_size - 1) - 1
    if span < 0:
        raise ValueError(f"the kernel (kernel_size={kernel_size}, dilation={dilation}) does not fit in "
                         f"n={n} with padding={padding}")
    out = -(-span // stride) + 1 if ceil_mode else span // stride + 1
    if ceil_mode and (out - 1) * stride >= n + padding:
        out -= 1
    return out


@dataclass
class TraceRow:
    """One call of one module: what went in, what came out, and the module's settings."""

    name: str                          # qualified name as in ``model.named_modules()``; "" is the model
    type: str                          # class name (a lazy module shows the class it became)
    depth: int                         # 0 for the model, 1 for its children, ...
    input_shapes: tuple[Shape, ...]    # one shape per tensor argument, in order
    output_shape: Any = None           # a shape, or a tuple of shapes for several outputs
    params: int = 0                    # parameters of the module and everything inside it
    kernel: Shape | None = None        # convolution and pooling layers only
    stride: Shape | None = None
    padding: Any = None
    dilation: Shape | None = None
    shortcut: str | None = None        # residual blocks: "identity" or the attribute that computes it
    shortcut_shape: Shape | None = None  # residual blocks: the shape the shortcut adds to the main path
    in_shortcut: bool = False          # True inside a block's shortcut (e.g. its 1x1 projection)
    failed: bool = False               # True if the forward pass raised while this module was running

    @property
    def label(self) -> str:
        """The name as the table shows it: the model itself is ``(model)``."""
        return self.name or "(model)"


class ShapeTraceError(RuntimeError):
    """A forward pass failed inside ``module_name``; the original exception is the ``__cause__``."""

    def __init__(self, message: str, module_name: str, module_type: str, input_shapes: tuple[Shape, ...],
                 trace: "ShapeTrace"):
        super().__init__(message)
        self.module_name, self.module_type, self.input_shapes = module_name, module_type, input_shapes
        self.trace = trace  # the rows recorded before the failure


def _fmt_shapes(shapes: Any) -> str:
    if shapes is None:
        return ""
    if len(shapes) and all(isinstance(s, tuple) for s in shapes):
        return ", ".join(str(s) for s in shapes)
    return str(shapes)


def _fmt_kernel(row: TraceRow) -> str:
    if row.kernel is None:
        return ""

    def one(values) -> str:
        values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
        return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))

    parts = [f"k{one(row.kernel)}", f"s{one(row.stride)}"]
    if row.padding not in (None, 0) and set(row.padding if isinstance(row.padding, tuple) else (row.padding,)) != {0}:
        parts.append(f"p{one(row.padding)}" if not isinstance(row.padding, str) else f"p={row.padding}")
    if row.dilation is not None and set(row.dilation) != {1}:
        parts.append(f"d{one(row.dilation)}")
    return " ".join(parts)


def _cells(row: TraceRow) -> tuple[str, ...]:
    shortcut = "" if row.shortcut is None else f"{row.shortcut_shape} {row.shortcut}"
    output = "FAILED" if row.failed else _fmt_shapes(row.output_shape)
    return ("  " * row.depth + row.label, row.type, _fmt_shapes(row.input_shapes), output,
            shortcut, f"{row.params:,}", _fmt_kernel(row))


class ShapeTrace:
    """The rows of one traced forward pass; shows as a table (HTML in Jupyter, text elsewhere)."""

    def __init__(self, rows: Sequence[TraceRow]):
        self.rows = list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key: int | str) -> TraceRow:
        """``trace[i]`` is the i-th row; ``trace["layer1.0"]`` the first call of that module."""
        if isinstance(key, str):
            for row in self.rows:
                if row.name == key:
                    return row
            raise KeyError(f"no module named {key!r} in this trace")
        return self.rows[key]

    @property
    def output_shape(self) -> Any:
        """The model's output shape (the first row is the model itself)."""
        return self.rows[0].output_shape if self.rows else None

    def filter(self, max_depth: int | None = None, types: Sequence[str] | None = None) -> "ShapeTrace":
        """Keep the rows at most ``max_depth`` deep and, if given, only those of the named ``types``."""
        check_int("max_depth", max_depth, minimum=0, allow_none=True)
        return ShapeTrace([r for r in self.rows if (max_depth is None or r.depth <= max_depth)
                           and (types is None or r.type in types)])

    def table(self) -> str:
        """The rows as a fixed-width text table."""
        body = [COLUMNS] + [_cells(r) for r in self.rows]
        widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
        right = {COLUMNS.index("params")}
        lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths)))
                 .rstrip() for line in body]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{c}</th>" for c in COLUMNS)
        body = []
        for row in self.rows:
            cells = _cells(row)
            name = (f"<td style='text-align:left; padding-left:{0.5 + 1.5 * row.depth:.1f}em'>"
                    f"<code>{html.escape(row.label)}</code></td>")
            rest = "".join(f"<td style='text-align:{'right' if i == 5 else 'left'}'>{html.escape(c)}</td>"
                           for i, c in enumerate(cells[1:], start=1))
            style = " style='font-weight:bold'" if row.shortcut is not None else ""
            body.append(f"<tr{style}>{name}{rest}</tr>")
        return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def shortcut_of(module: nn.Module) -> tuple[bool, str | None, nn.Module | None]:
    """Is ``module`` a residual block, and which attribute holds its shortcut (None: the identity)?

    Recognises ``downsample`` (torchvision's and helpers' blocks), ``shortcut`` (a common tutorial
    name) and d2l's ``conv3`` (its 1x1 shortcut; a block with ``bn3`` uses conv3 on the main path).
    A block whose ``residual`` attribute is False (helpers' ``PlainBlock``) has no shortcut.
    """
    if getattr(module, "residual", True) is False:
        return False, None, None
    for attr in ("downsample", "shortcut"):
        if attr in module._modules or (hasattr(module, attr) and getattr(module, attr) is None):
            return True, attr, getattr(module, attr)
    if ("conv3" in module._modules or getattr(module, "conv3", 0) is None) and not hasattr(module, "bn3"):
        return True, "conv3", getattr(module, "conv3")
    return False, None, None


def _shapes(obj: Any) -> tuple[Shape, ...]:
    """Shapes of every tensor in a (nested) argument, output or container, in order."""
    if isinstance(obj, torch.Tensor):
        return (tuple(obj.shape),)
    if isinstance(obj, (list, tuple)):
        return tuple(s for item in obj for s in _shapes(item))
    if isinstance(obj, dict):
        return tuple(s for item in obj.values() for s in _shapes(item))
    return ()


def _param_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if not is_lazy(p))


def _as_tuple(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _make_inputs(model: nn.Module, x_or_shape: Any) -> tuple[torch.Tensor, ...]:
    """A tensor, a shape, or a list/tuple of tensors and shapes (one per model argument)."""
    def is_shape(value) -> bool:
        return isinstance(value, (tuple, list, torch.Size)) and len(value) > 0 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)

    reference = next(iter(model.parameters()), None)
    if reference is None or is_lazy(reference):
        reference = next((b for b in model.buffers()), None)
    device = reference.device if reference is not None else torch.device("cpu")
    generator = torch.Generator().manual_seed(0)  # leaves the global random state alone

    def tensor(value) -> torch.Tensor:
        if isinstance(value, torch.Tensor):
            return value
        if is_shape(value):
            return torch.randn(tuple(value), generator=generator).to(device)
        raise ValueError("x_or_shape must be a tensor, a shape such as (1, 3, 224, 224), or a list of "
                         f"tensors and shapes (one per model input); got {value!r}")

    if isinstance(x_or_shape, torch.Tensor) or is_shape(x_or_shape):
        return (tensor(x_or_shape),)
    if isinstance(x_or_shape, (list, tuple)) and len(x_or_shape) > 0:
        return tuple(tensor(v) for v in x_or_shape)
    return (tensor(x_or_shape),)


def trace_shapes(model: nn.Module, x_or_shape: Any, max_depth: int | None = None,
                 train: bool = False) -> ShapeTrace:
    """Run ``model`` once with a hook on every module; return the rows in execution order.

    ``x_or_shape``: an input tensor, a shape (filled with seeded random numbers), or a list of
    tensors/shapes for a model with several inputs. The pass runs without gradients and, unless
    ``train``, in eval mode (batch norm statistics are not updated); the modes are restored after.
    Lazy modules materialise during the pass (their own hook runs before ours). ``max_depth`` keeps
    the rows at most that deep (0: the model alone). If a module fails, raises
    :class:`ShapeTraceError` naming the innermost failing module and the shapes it was given.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_int("max_depth", max_depth, minimum=0, allow_none=True)
    inputs = _make_inputs(model, x_or_shape)

    names = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), name)
    rows: list[TraceRow] = []
    row_modules: list[nn.Module] = []
    parents: list[int | None] = []
    open_rows: list[int] = []        # the call stack: indices of rows whose forward has not returned
    last_output: dict[int, Any] = {}  # id(module) -> its latest output shape

    def pre_hook(module: nn.Module, args, kwargs) -> None:
        name = names.get(id(module), "?")
        parent = open_rows[-1] if open_rows else None
        in_shortcut = False
        if parent is not None:
            in_shortcut = rows[parent].in_shortcut
            is_block, _, shortcut_module = shortcut_of(row_modules[parent])
            in_shortcut = in_shortcut or (is_block and shortcut_module is module)
        rows.append(TraceRow(name=name, type=type(module).__name__, depth=0 if name == "" else name.count(".") + 1,
                             input_shapes=_shapes(args) + _shapes(kwargs), in_shortcut=in_shortcut))
        row_modules.append(module)
        parents.append(parent)
        open_rows.append(len(rows) - 1)

    def describe(index: int) -> None:
        """Fill in what is known once the module has run (lazy modules have materialised by now)."""
        row, module = rows[index], row_modules[index]
        row.type = type(module).__name__
        row.params = _param_count(module)
        if hasattr(module, "kernel_size"):
            row.kernel = _as_tuple(module.kernel_size)
            row.stride = _as_tuple(module.stride if module.stride is not None else module.kernel_size)
            row.padding = _as_tuple(getattr(module, "padding", 0))
            row.dilation = _as_tuple(getattr(module, "dilation", 1))

    def post_hook(module: nn.Module, args, kwargs, output) -> None:
        index = open_rows.pop()
        while row_modules[index] is not module and open_rows:  # a child failed and its error was caught
            index = open_rows.pop()
        row = rows[index]
        describe(index)
        shapes = _shapes(output)
        row.output_shape = shapes[0] if len(shapes) == 1 else shapes
        last_output[id(module)] = row.output_shape
        is_block, attr, shortcut_module = shortcut_of(module)
        if is_block:
            row.shortcut = "identity" if shortcut_module is None else f"via {attr}"
            row.shortcut_shape = (row.input_shapes[0] if shortcut_module is None
                                  else last_output.get(id(shortcut_module)))

    was_training = {id(m): m.training for m in model.modules()}
    handles = []
    try:
        for module in {id(m): m for m in model.modules()}.values():
            handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
            handles.append(module.register_forward_hook(post_hook, with_kwargs=True))
        model.train(train)
        with torch.no_grad():
            try:
                model(*inputs)
            except Exception as err:
                if not open_rows:
                    raise
                for index in open_rows:
                    rows[index].failed = True
                    describe(index)
                raise _failure(err, open_rows[-1], rows, row_modules, parents) from err
    finally:
        for handle in handles:
            handle.remove()
        for m in model.modules():
            m.training = was_training.get(id(m), m.training)
    return ShapeTrace(rows).filter(max_depth)


def _failure(err: Exception, index: int, rows: list[TraceRow], row_modules: list[nn.Module],
             parents: list[int | None]) -> ShapeTraceError:
    """The error to raise: the innermost module still running when ``err`` came up, and its inputs."""
    row, module = rows[index], row_modules[index]
    where = f"`{row.name}`" if row.name else "the model"
    message = f"error in {where} ({row.type}) given input {_fmt_shapes(row.input_shapes)}: {err}"
    is_block, attr, shortcut_module = shortcut_of(module)
    if is_block:
        children = [i for i in range(index + 1, len(rows)) if parents[i] == index and rows[i].output_shape is not None]
        main = [i for i in children if row_modules[i] is not shortcut_module]
        short = [i for i in children if row_modules[i] is shortcut_module]
        main_shape = rows[main[-1]].output_shape if main else None
        if shortcut_module is None:
            message += f"\n  main path gives {main_shape}; the shortcut is the identity: {row.input_shapes[0]}"
        else:
            short_shape = rows[short[-1]].output_shape if short else "not computed"
            message += f"\n  main path gives {main_shape}; the shortcut ({attr}) gives {short_shape}"
    return ShapeTraceError(message, row.name, row.type, row.input_shapes, ShapeTrace(rows))


@dataclass(frozen=True)
class ReceptiveFieldStep:
    """The receptive field after one convolution or pooling layer on the main path."""

    name: str
    type: str
    kernel: int
    stride: int
    dilation: int
    receptive_field: int  # pixels of the input that one output pixel can see (side of the square)
    jump: int             # input pixels between neighbouring output pixels (product of strides)
    output_side: int      # the layer's output height


def receptive_field(trace: ShapeTrace) -> list[ReceptiveFieldStep]:
    """Receptive field after each convolution and pooling layer outside the shortcuts, in order.

    r_out = r_in + (k - 1) * d * j_in and j_out = j_in * s, starting from r = j = 1 (the heights of
    kernel and stride are used). Shortcuts are skipped: they see less than the main path does.
    Pass an unfiltered trace (every depth).
    """
    if not isinstance(trace, ShapeTrace):
        raise ValueError(f"trace must be a ShapeTrace from trace_shapes, got {type(trace).__name__}")
    r, j, steps = 1, 1, []
    for row in trace.rows:
        if row.kernel is None or row.in_shortcut:
            continue
        k, s, d = row.kernel[0], row.stride[0], row.dilation[0]
        r, j = r + (k - 1) * d * j, j * s
        out = row.output_shape
        steps.append(ReceptiveFieldStep(row.name, row.type, k, s, d, r, j, out[2] if len(out) >= 3 else out[-1]))
    return steps
