"""Root conftest: makes the repository root importable in tests (`tools`, `helpers`)."""

# After nbval runs an exercise's solution cell, its recorded wrong answers must fail its checks.
pytest_plugins = ["tools.exercise_check"]
