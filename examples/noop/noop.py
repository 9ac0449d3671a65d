"""DLHub's benchmark no-op servable: it ignores its input, so a run measures only the serving overhead."""


def hello_world(data: object) -> str:
    """Return "hello world" whatever the input."""
    return 'hello world'
