"""``python -m tests.opinfo.report [names...]``: every entry's mismatches, one op per block (for fixing)."""
from __future__ import annotations

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dynagrad  # noqa: E402

from tests.opinfo import runner  # noqa: E402
from tests.opinfo.database import BY_NAME, OPS  # noqa: E402


def _alarm(*_):
    raise TimeoutError


def main(argv):
    signal.signal(signal.SIGALRM, _alarm)
    names = argv or [i.name for i in OPS]
    total_cases = total_bad = 0
    failing = 0
    t0 = time.time()
    for name in names:
        info = BY_NAME[name]
        bad, n = [], 0
        signal.alarm(60)
        try:
          for variant, sample, gg in info.cases():
            if any(k in sample.tag for k in info.skips):
                continue
            ref = runner.reference(info, variant, sample, "", gg)
            if ref is None:
                continue
            mine = runner.run(dynagrad, info, variant, sample, gg)
            bad += runner.compare(mine, ref, info, sample, f"{variant} {info.variant_name(variant)} [{sample.tag}]")
            n += 1
        except TimeoutError:
            bad.append("TIMEOUT (a case took over 60 s)")
        finally:
            signal.alarm(0)
        total_cases += n
        total_bad += len(bad)
        if bad:
            failing += 1
            print(f"== {name}: {len(bad)} of {n}" + (f" (xfail: {info.xfail})" if info.xfail else ""))
            for b in bad[:12]:
                print("   ", b[:400])
    print(f"{len(names)} ops, {total_cases} cases, {total_bad} mismatches in {failing} ops, {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
