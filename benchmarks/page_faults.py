"""What a batch decode into a fresh array pays in page faults, with and without huge pages.

numpy asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every
allocation of 4 MiB or more, so an image's ``(n, h, w)`` output (about 300 MB) is backed by
2 MiB pages where the kernel allows it (``/sys/kernel/mm/transparent_hugepage/enabled``:
``always`` or ``madvise``), and a single 3 MB mask by 4 KiB pages. For each image of the
benchmark corpus this prints:

* how many 4 KiB pages and 2 MiB regions of the output hold foreground (the rest are never
  written by a decode into ``np.zeros``, so never faulted in);
* the time to write one byte into each page that holds foreground, on a fresh ``np.zeros``
  array and nothing else (the fault floor of the decode), and sarle's whole decode into
  fresh memory (its output pool turned off for the run), with numpy's huge pages on and off;
* the time to read every byte of a fresh, never-written array (what a consumer pays for the
  pages a decode left untouched) with huge pages on and off.

Run: ``python benchmarks/page_faults.py [--images 3] [--repeat 7]``. Linux only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import corpus  # noqa: E402
import sarle  # noqa: E402

try:
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy < 2
    from numpy.core import multiarray as _multiarray

HUGE = 2 << 20
SMALL = 4096


def _median_ms(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            print("transparent huge pages:", f.read().strip())
    except OSError:
        print("transparent huge pages: unknown")
    was = _multiarray._get_madvise_hugepage()
    pool_limit = sarle.set_output_pool_limit(0)   # every decode into fresh memory
    try:
        for img in corpus.make_corpus(args.images, 0):
            rles = [a["segmentation"] for a in img["annotations"]]
            n = len(rles)
            h, w = rles[0]["size"]
            flat = sarle.decode(rles, threads=1).reshape(-1)
            padded = np.zeros(-(-flat.size // HUGE) * HUGE, np.uint8)
            padded[:flat.size] = flat
            del flat
            pages = np.flatnonzero(padded.reshape(-1, SMALL).any(1))
            regions = np.unique(pages // (HUGE // SMALL))
            del padded
            print(f"image {img['image']['image_id']}: {n} masks of {h}x{w}; foreground in "
                  f"{pages.size} of {n * h * w // SMALL} 4 KiB pages, "
                  f"{regions.size} of {-(-n * h * w // HUGE)} 2 MiB regions")
            offsets = pages * SMALL
            offsets = offsets[offsets < n * h * w]
            for huge in (True, False):
                _multiarray._set_madvise_hugepage(huge)

                def touch():
                    a = np.zeros(n * h * w, np.uint8)
                    a[offsets] = 1

                def decode():
                    sarle.decode(rles, threads=1)

                def read_untouched():
                    np.count_nonzero(np.zeros(n * h * w, np.uint8))

                print(f"  {'huge pages' if huge else '4 KiB pages'}: one byte into each page "
                      f"with foreground {_median_ms(touch, args.repeat):.1f} ms, decode "
                      f"{_median_ms(decode, args.repeat):.1f} ms, reading an untouched array "
                      f"{_median_ms(read_untouched, args.repeat):.1f} ms")
    finally:
        _multiarray._set_madvise_hugepage(was)
        sarle.set_output_pool_limit(pool_limit)


if __name__ == "__main__":
    main()
