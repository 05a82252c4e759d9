"""The shared pieces every app uses: roles, navigation, the list-page pattern, keyset paging, CSV
streaming, public codes, forms and `DomainError`. Imports no other app of ours (see README)."""

__version__ = "0.1.0"
