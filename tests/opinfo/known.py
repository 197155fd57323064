"""Ops whose sweep still finds mismatches: op -> the first finding (strict xfails: a fixed op fails
until it is removed here). Regenerate the findings with ``python -m tests.opinfo.report``."""

KNOWN = {
    'view_as_complex': "complex autograd: dynagrad's gradient convention for complex tensors is not PyTorch's conjugate Wirtinger one yet (issue 20 part 2)",
    'dist': "not implemented in dynagrad yet (issue 20 part 3): function dist [s0]: dynagrad raises AttributeError: module 'dynagrad' has no attribute 'dist'",
    'addr': "not implemented in dynagrad yet (issue 20 part 3): function addr [s0]: dynagrad raises AttributeError: module 'dynagrad' has no attribute 'addr'",
    'chain_matmul': "not implemented in dynagrad yet (issue 20 part 3): function chain_matmul [s0]: dynagrad raises AttributeError: module 'dynagrad' has no attribute 'chain_matmul'",
}
