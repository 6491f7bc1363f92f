"""Root pytest configuration: under pytest-xdist, one compute thread per worker (and per notebook kernel).

Two workers on a 2-core machine, each with torch's default of 2 threads, oversubscribe the cores and run many
times slower; the kernels that nbval starts inherit OMP_NUM_THREADS from here.
"""
import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
