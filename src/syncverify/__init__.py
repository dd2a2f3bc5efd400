"""syncverify: verify that invoice data carried between headquarters and the province stays
complete and identical, inside the databases."""

__version__ = "0.1.0"
