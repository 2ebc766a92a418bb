from conftest import SPECS, analyze_text

import archcalc


def test_lenet5_params() -> None:
    # 6·(5·5·1+1) + 16·(5·5·6+1) + (400·120+120) + (120·84+84) + (84·10+10) = 61,706
    assert archcalc.analyze(SPECS / "lenet5.yaml").totals.params == 61_706


def test_text_spec() -> None:
    an = analyze_text("input: 6x6x3\nlayers:\n  - {kind: conv, filters: 5, kernel: 3, bias: false}\n")
    assert an.totals.macs == (3 * 3 * 3) * (4 * 4) * 5  # notes: 2160
