"""The base exception every ledger engine error derives from."""


class LedgerError(ValueError):
    """Input the ledger engine refuses: a malformed format, a failed proof or a bad signature.

    Subclasses live beside the code that raises them; the API maps this family to 4xx responses.
    """
