"""Running yibao's engines on a cluster: the batch engine on Apache Spark (optional: ``pip install yibao[spark]``)."""
