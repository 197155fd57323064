"""The machinery behind ``dynagrad.random``: PyTorch's CPU sampling kernels written in NumPy, bit for bit.

- ``exact``: the floating-point arithmetic those kernels compile to (fused multiply-adds, glibc's double
  functions, the AVX2 polynomial ``log``/``sincos`` of PyTorch's vectorised normal kernel);
- ``kernels``: uniform, normal, bernoulli, exponential, geometric, Cauchy, log-normal, integer draws and
  multinomial, on a ``Generator``'s MT19937 stream;
- ``rejection``: the samplers whose number of draws per element varies (gamma, Poisson, binomial).
"""
