"""The operator table, one module per family of kinds (mirroring archcalc/kinds/).

Each module registers, for its kinds, the ONNX operators that import into them
(`@imports("Conv")`) and how each kind exports to ONNX and PyTorch (`exports("conv", ...)`).
"""
