"""The file to give ``spark-submit``, which takes a Python file rather than a console command: the ``idiograph``
command line.

    spark-submit --master spark://head:7077 "$(python -m idiograph.cli.spark_submit)" \\
        baselines compute --engine spark --observations /shared/obs.parquet --out intervals.parquet

Run as a module (``python -m``) it prints its own path, for the line above.
"""

import os
import sys

if __name__ == "__main__":
    if __spec__ is not None:  # python -m: say where this file is
        print(__file__)
    else:  # spark-submit runs the file by its path: its folder first on sys.path would shadow modules (db, common)
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        from idiograph.cli import app

        app()
