"""How the executor's GELU coefficients (archcalc/forward/activation.py) were made; not a test.

erfc(z) = t·exp(-z² + P(t)) for z >= 0, with t = 2/(2 + z) (the form of Numerical Recipes'
erfcc). P is interpolated at Chebyshev nodes on t in [2/11, 1] (z in [0, 9]) from values
computed with mpmath at 40 digits: 9 terms for float32 (as a polynomial in t), 25 for float64
(kept as Chebyshev coefficients in u = (2t - 1 - 2/11)/(1 - 2/11), summed by Clenshaw's
recurrence). tests/test_forward_modern.py checks the result against math.erfc. Run with mpmath:

    python tests/data/fit_erfc.py
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 40
Z_MAX = 9
T_MIN = mp.mpf(2) / (2 + Z_MAX)


def chebyshev(terms: int, nodes: int = 600) -> list[mp.mpf]:
    """Coefficients c_k of sum c_k T_k(u), u = (2t - 1 - T_MIN)/(1 - T_MIN)."""
    th = [mp.pi * (k + mp.mpf(1) / 2) / nodes for k in range(nodes)]
    ts = [(mp.cos(a) + 1) / 2 * (1 - T_MIN) + T_MIN for a in th]
    ys = [mp.log(mp.erfc(2 / t - 2) * mp.exp((2 / t - 2) ** 2) / t) for t in ts]
    c = [2 * mp.fsum(y * mp.cos(j * a) for y, a in zip(ys, th, strict=True)) / nodes for j in range(terms)]
    c[0] /= 2
    return c


if __name__ == "__main__":
    in_u = np.polynomial.Polynomial(np.polynomial.chebyshev.cheb2poly([float(x) for x in chebyshev(9)]))
    u_of_t = np.polynomial.Polynomial([-float((1 + T_MIN) / (1 - T_MIN)), float(2 / (1 - T_MIN))])
    print("float32, powers of t:", [float(x) for x in in_u(u_of_t).coef])
    print("float64, Chebyshev:", [float(x) for x in chebyshev(25)])
