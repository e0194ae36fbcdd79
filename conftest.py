"""Root conftest: makes the repository root importable in tests (`tools`, `helpers`)."""
