"""Ops whose sweep still finds mismatches: op -> the first finding (strict xfails: a fixed op fails
until it is removed here). Regenerate the findings with ``python -m tests.opinfo.report``."""

KNOWN = {
    'special.entr': 'sweep finding not fixed yet: function special.entr [float32-special]: grad of input 0 nan location mismatch: ACTUAL: array([ nan, nan, nan, nan, nan, 158.494263, nan, -37.52953 , nan, 0.921298, nan, -0.202586, nan, 3.097813, -1.8',
    'special.log_ndtr': 'sweep finding not fixed yet: function special.log_ndtr [float32-special]: output 0 nan location mismatch: ACTUAL: array([ nan, 0.000000e+00, nan, -6.931472e-01, -6.931472e-01, 0.000000e+00, nan, -6.931472e-01, -6.931472e-01, -1.7',
    'special.logit': 'sweep finding not fixed yet: function special.logit [float32-special]: grad of input 0 inf values mismatch: ACTUAL: array([ inf, -inf, -inf]) DESIRED: array([ inf, inf, -inf])',
    'special.ndtri': 'sweep finding not fixed yet: function special.ndtri [float32-special]: output 0 nan location mismatch: ACTUAL: array([ nan, nan, nan, -inf, -inf, nan, nan, -inf, -inf, inf, nan, 0., nan, nan, nan, nan]) DESIRED: array([ nan, nan,',
    'special.round': 'sweep finding not fixed yet: function special.round [int32-other]: torch raises NotImplementedError ("round_vml_cpu" not implemented for \'Int\'); dynagrad returns a result',
    'view_as_complex': "complex autograd: dynagrad's gradient convention for complex tensors is not PyTorch's conjugate Wirtinger one yet (issue 20 part 2)",
    'dist': "not implemented in dynagrad yet (issue 20 part 3): function dist [s0]: dynagrad raises AttributeError: module 'dynagrad' has no attribute 'dist'",
    'addr': "not implemented in dynagrad yet (issue 20 part 3): function addr [s0]: dynagrad raises AttributeError: module 'dynagrad' has no attribute 'addr'",
    'chain_matmul': "not implemented in dynagrad yet (issue 20 part 3): function chain_matmul [s0]: dynagrad raises AttributeError: module 'dynagrad' has no attribute 'chain_matmul'",
}
