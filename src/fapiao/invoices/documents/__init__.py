"""Invoice documents: the PDF in the national 数电 layout and the 数电 EInvoice XML."""

from fapiao.invoices.documents.pdf import invoice_pdf
from fapiao.invoices.documents.xml import InvoiceXmlError, invoice_xml, parse_invoice_xml

__all__ = ["InvoiceXmlError", "invoice_pdf", "invoice_xml", "parse_invoice_xml"]
