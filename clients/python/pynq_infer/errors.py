"""The exception a refused or failed call raises."""

import grpc

__all__ = ["InferenceError"]


class InferenceError(Exception):
    """pynq-inferd refused or failed a call, or could not be reached.

    Attributes:
        code: the ``grpc.StatusCode`` (e.g. ``grpc.StatusCode.UNAUTHENTICATED``).
        code_name: its name, e.g. ``"UNAUTHENTICATED"``.
        details: the daemon's message, e.g. ``'model "x" is not loaded; loaded models: ...'``.
        rpc: the call that failed, e.g. ``"Classify"``.

    ``str(error)`` is ``"CODE: rpc: details"``. The codes the daemon answers with are listed in
    proto/pynq_infer/v1/inference.proto; UNAUTHENTICATED and PERMISSION_DENIED mean a missing or
    insufficient credential, UNAVAILABLE an unreachable daemon or a full queue (retry later).
    """

    def __init__(self, code, details, rpc):
        self.code = code
        self.code_name = code.name
        self.details = details
        self.rpc = rpc
        super().__init__(f"{self.code_name}: {rpc}: {details}")

    @classmethod
    def from_rpc_error(cls, error, rpc):
        """The InferenceError for a ``grpc.RpcError`` raised by call ``rpc``."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        details = error.details() if hasattr(error, "details") else str(error)
        return cls(code, details or "", rpc)
