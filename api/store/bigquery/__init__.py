"""The BigQuery backend (``bigquery://PROJECT/DATASET``); see :mod:`api.store.bigquery.store`."""

from api.store.bigquery.store import BigQueryStore

__all__ = ["BigQueryStore"]
