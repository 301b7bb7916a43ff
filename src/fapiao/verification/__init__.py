"""Verification (查验/认证): extraction of invoice data from the files users upload.

`fapiao.verification.extraction` reads PDF, OFD, 数电 XML, images and ZIP archives of these into
one shape (`Extraction`); comparison with the platform's records builds on it.
"""
