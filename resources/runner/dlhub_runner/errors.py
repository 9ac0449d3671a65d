"""The one error type the runner reports to the host."""


class RunnerError(Exception):
    """An error reported to the host as {kind, type, message, traceback}; kind is one of
    input, model, method, load, protocol (the host maps each to its own error code)."""

    def __init__(self, kind, message, type_="RunnerError", tb=""):
        Exception.__init__(self, message)
        self.kind, self.message, self.type, self.tb = kind, message, type_, tb

    def to_wire(self):
        return {"kind": self.kind, "type": self.type, "message": self.message, "traceback": self.tb}
