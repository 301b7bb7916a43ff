"""发票平台 Fapiao: an open-source electronic-invoice platform."""

__version__ = "0.1.0"
