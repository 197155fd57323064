"""Run several smoke scripts in one process (each as ``__main__``, its stdout captured) and print a JSON object
{script: stdout or None if it failed}: the torch side of the comparison pays for ``import torch`` once."""
import contextlib
import io
import json
import runpy
import sys
import traceback

results = {}
for path in sys.argv[1:]:
    buf = io.StringIO()
    sys.argv = [path]
    try:
        with contextlib.redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
        results[path] = buf.getvalue()
    except BaseException:  # noqa: BLE001 - reported to the test, which fails with it
        results[path] = None
        traceback.print_exc()
sys.stdout.write(json.dumps(results))
