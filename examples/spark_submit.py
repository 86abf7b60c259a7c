"""The driver file ``spark-submit`` runs: ``yibao`` with the arguments after it, as ``python -m yibao`` would.

    .venv/bin/spark-submit --master 'local[2]' --conf spark.pyspark.python=.venv/bin/python \
        examples/spark_submit.py batch data/county -p anhui-huaibei-2022 --engine spark -o out/spark/submitted.parquet

Under ``spark-submit`` the session's master and settings are ``spark-submit``'s (``--master yarn``,
``--archives``, ``--conf`` …): ``yibao batch --engine spark`` takes the session it finds.
"""

from yibao.entrypoints.cli.main import app

if __name__ == "__main__":
    app()
