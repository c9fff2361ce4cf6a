"""pynq_infer: the Python client of pynq-inferd, the FPGA image-classification daemon.

    import numpy as np
    import pynq_infer

    board = pynq_infer.Client("pynq-z2.local:50051")          # plaintext
    board = pynq_infer.Client("pynq-z2.local:50051",           # TLS with a private CA and a token
                              tls=pynq_infer.TLS(ca="ca.crt"), token_file="inference.token")
    board.models()                                 # [ModelInfo(name='mnist-bnn-tfc', ...), ...]
    board.predict(images)                          # numpy uint8 [N, 28, 28] -> int64 [N]
    board.classify(images[0], top_k=3)             # [Classification(class_index=7, label='7', ...)]
    board.classify_files(["seven.png", "t10k-images-idx3-ubyte.gz"])
    print(board.throughput_test(images, seconds=5))
    board.metrics()["models"]["mnist-bnn-tfc"]["latency"]

It speaks the daemon's native gRPC API (proto/pynq_infer/v1/inference.proto, whose generated
modules are ``pynq_infer.v1``). Bad input raises ValueError before anything is sent; a refusal
by the daemon raises InferenceError with the gRPC code and the daemon's message.
"""

from pynq_infer._version import __version__
from pynq_infer.client import DEFAULT_MODEL, TLS, Classification, Client, ModelInfo
from pynq_infer.errors import InferenceError
from pynq_infer.image_files import decode_image, read_idx, read_image_file
from pynq_infer.throughput import ThroughputReport

__all__ = ["Client", "TLS", "ModelInfo", "Classification", "ThroughputReport", "InferenceError",
           "read_image_file", "read_idx", "decode_image", "DEFAULT_MODEL", "__version__"]
