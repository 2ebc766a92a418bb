"""Names people write for layers, from PyTorch, Keras and papers, and what archcalc calls them.

A spec author who writes `conv2d`, `gelu` or `mul` means a definite function. The error for an
unknown kind must then either name archcalc's kind for that same function, or say plainly that
archcalc has none, and never offer a different function that happens to be spelled alike
(`gelu` is not `relu`; `elu` is not `relu`). Spelling similarity alone decides only for names
outside this vocabulary, and then only at a high cutoff (a typo such as `convv`).

Each entry maps a normalised name (lower case, without `_` and `-`) to the archcalc kinds that
compute that function, preferred first, and what the function is. When none of those kinds is
registered, the name is reported as not supported; when a kind is added later it is suggested
from then on, with no change here.
"""

from __future__ import annotations

#: normalised name -> (archcalc kinds computing it, preferred first; what it is)
FOREIGN: dict[str, tuple[tuple[str, ...], str]] = {
    # convolutions
    "conv2d": (("conv",), "a 2-D convolution (torch.nn.Conv2d, Keras Conv2D)"),
    "convolution": (("conv",), "a 2-D convolution"),
    "convolution2d": (("conv",), "a 2-D convolution"),
    "depthwiseconv2d": (("depthwise",), "a depthwise convolution (Keras DepthwiseConv2D)"),
    "dwconv": (("depthwise",), "a depthwise convolution"),
    "separableconv2d": (("depthwise",), "a depthwise-separable convolution: `depthwise`, then a 1x1 `conv`"),
    "convtranspose2d": (("convtranspose",), "a transposed convolution (torch.nn.ConvTranspose2d)"),
    "conv2dtranspose": (("convtranspose",), "a transposed convolution (Keras Conv2DTranspose)"),
    "deconv": (("convtranspose",), "a transposed convolution"),
    "deconvolution": (("convtranspose",), "a transposed convolution"),
    "transposedconv": (("convtranspose",), "a transposed convolution"),
    # fully connected
    "linear": (("linear", "dense"), "a fully connected layer (torch.nn.Linear)"),
    "fc": (("dense",), "a fully connected layer"),
    "fullyconnected": (("dense",), "a fully connected layer"),
    "innerproduct": (("dense",), "a fully connected layer (Caffe InnerProduct)"),
    # pooling
    "maxpool2d": (("maxpool",), "max pooling (torch.nn.MaxPool2d)"),
    "maxpooling2d": (("maxpool",), "max pooling (Keras MaxPooling2D)"),
    "avgpool2d": (("avgpool",), "average pooling (torch.nn.AvgPool2d)"),
    "averagepooling2d": (("avgpool",), "average pooling (Keras AveragePooling2D)"),
    "adaptiveavgpool2d": (("adaptiveavgpool", "globalavgpool"),
                          "adaptive average pooling (globalavgpool is its 1 x 1 case)"),
    "adaptivemaxpool2d": (("adaptivemaxpool", "globalmaxpool"),
                          "adaptive max pooling (globalmaxpool is its 1 x 1 case)"),
    "globalaveragepooling2d": (("globalavgpool",), "global average pooling"),
    "globalmaxpooling2d": (("globalmaxpool",), "global max pooling"),
    "gap": (("globalavgpool",), "global average pooling"),
    # normalisation
    "batchnorm2d": (("batchnorm",), "batch normalisation (torch.nn.BatchNorm2d)"),
    "batchnormalization": (("batchnorm",), "batch normalisation"),
    "bn": (("batchnorm",), "batch normalisation"),
    "localresponsenorm": (("lrn",), "local response normalisation"),
    "layernorm": (("layernorm",), "layer normalisation"),
    "layernormalization": (("layernorm",), "layer normalisation"),
    "layernorm2d": (("layernorm",), "layer normalisation over channels"),
    "groupnorm": (("groupnorm",), "group normalisation"),
    "groupnormalization": (("groupnorm",), "group normalisation"),
    "instancenorm": ((), "instance normalisation"),
    "instancenorm2d": ((), "instance normalisation"),
    # activations
    "gelu": (("gelu",), "GELU"),
    "silu": (("silu",), "SiLU (swish), x * sigmoid(x)"),
    "swish": (("silu",), "swish (SiLU), x * sigmoid(x)"),
    "hswish": (("hardswish",), "hard swish"),
    "hardsigmoid": (("hardsigmoid",), "hard sigmoid"),
    "hsigmoid": (("hardsigmoid",), "hard sigmoid"),
    "leakyrelu": (("leakyrelu",), "leaky ReLU"),
    "prelu": (("prelu",), "PReLU (learned slopes)"),
    "elu": ((), "ELU"),
    "selu": ((), "SELU"),
    "celu": ((), "CELU"),
    "mish": ((), "Mish"),
    "softplus": ((), "softplus"),
    "softsign": ((), "softsign"),
    "hardtanh": ((), "hard tanh"),
    "logsigmoid": ((), "log-sigmoid"),
    "logsoftmax": ((), "log-softmax"),
    "softmin": ((), "softmin"),
    "crelu": ((), "CReLU (concatenated ReLU)"),
    "rrelu": ((), "randomized leaky ReLU"),
    "glu": ((), "a gated linear unit"),
    "swiglu": ((), "a SwiGLU gated unit"),
    "tanhshrink": ((), "tanh-shrink"),
    "softshrink": ((), "soft shrinkage"),
    "hardshrink": ((), "hard shrinkage"),
    "relu6": (("relu6",), "ReLU6"),
    # element-wise and matrix products, attention
    "mul": (("multiply",), "an element-wise product"),
    "multiply": (("multiply",), "an element-wise product"),
    "product": (("multiply",), "an element-wise product"),
    "matmul": (("matmul",), "a matrix product of two activations"),
    "bmm": (("matmul",), "a batched matrix product"),
    "einsum": (("matmul",), "a tensor product"),
    "attention": (("attention",), "attention"),
    "multiheadattention": (("attention",), "multi-head attention"),
    "selfattention": (("attention",), "self-attention"),
    "mha": (("attention",), "multi-head attention"),
    # merging, reshaping, copying
    "cat": (("concat",), "concatenation along channels"),
    "concatenate": (("concat",), "concatenation along channels"),
    "sum": (("add",), "an element-wise sum"),
    "residual": (("add",), "a residual sum"),
    "zeropadding2d": (("zeropad",), "zero padding"),
    "zeropad2d": (("zeropad",), "zero padding"),
    "pad": (("zeropad",), "padding"),
    "upsampling2d": (("upsample",), "upsampling"),
    "interpolate": (("upsample",), "upsampling by interpolation"),
    "resize": (("upsample",), "resizing"),
    "dropout2d": (("dropout",), "dropout"),
    "spatialdropout2d": (("dropout",), "dropout"),
    "identity": (("identity",), "the identity"),
    "droppath": (("droppath",), "stochastic depth (drop path)"),
    "stochasticdepth": (("droppath",), "stochastic depth (drop path)"),
    "channelshuffle": (("shuffle",), "a channel shuffle"),
    "split": (("slice",), "a split along channels (one `slice` per part)"),
    "chunk": (("slice",), "a split along channels (torch.chunk: one `slice` per chunk)"),
    "reshape": ((), "a reshape (archcalc has flatten)"),
    "view": ((), "a reshape (archcalc has flatten)"),
    "permute": ((), "a permutation of axes"),
    "transpose": ((), "a permutation of axes"),
    "embedding": ((), "an embedding lookup"),
    "lstm": ((), "a recurrent layer (LSTM)"),
    "gru": ((), "a recurrent layer (GRU)"),
    "rnn": ((), "a recurrent layer"),
}


def normalise(name: str) -> str:
    """`Conv2D`, `max_pool2d`, `Layer-Norm` -> `conv2d`, `maxpool2d`, `layernorm`."""
    return name.lower().replace("_", "").replace("-", "")


def meaning(name: str) -> tuple[tuple[str, ...], str] | None:
    """(archcalc kinds computing it, what it is) for a name from the vocabulary, else None."""
    return FOREIGN.get(normalise(name))
