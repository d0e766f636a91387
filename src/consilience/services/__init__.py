"""The two servers, ``escrow`` and ``keyserver``, and what they share so that they behave alike:
error answers and the body limit (``http_errors``), bearer parsing (``http_auth``), request
budgets (``limits``), and configuration files re-read while serving (``config``).
"""
