"""The native API's generated modules (inference_pb2, inference_pb2_grpc), made at build time
from proto/pynq_infer/v1/inference.proto by protoc and grpc_python_plugin."""
