"""A stock Python client of the Open Inference Protocol against the real pynq-inferd.

The stubs are generated at build time from proto/inference/*.proto by Debian's protoc and
grpc_python_plugin (tests/CMakeLists.txt puts them on PYTHONPATH) and run on Debian's
python3-grpcio and python3-protobuf, as a client generated from the official Triton/KServe file
would: ServerLive, ModelMetadata and ModelInfer classify held-out digits with the golden scores.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import grpc
import numpy as np

from inference import grpc_service_pb2
from inference import grpc_service_pb2_grpc

SOURCE_DIR = os.environ["PYNQ_SOURCE_DIR"]
sys.path.insert(0, os.path.join(SOURCE_DIR, "models"))
import idx  # noqa: E402  (the project's IDX reader, models/idx.py)

MODEL = "mnist-bnn-tfc"


class OipPythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.TemporaryDirectory()
        port_file = os.path.join(cls.work.name, "port")
        cls.daemon = subprocess.Popen(
            [os.environ["PYNQ_INFERD"], "--listen=127.0.0.1:0", f"--port_file={port_file}",
             f"--pl_lock_file={cls.work.name}/pl.lock",
             f"--model_dir={SOURCE_DIR}/models/zoo", "--metrics_log_interval_s=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not os.path.exists(port_file):
            if cls.daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pynq-inferd did not start (exit {cls.daemon.poll()})")
            time.sleep(0.05)
        with open(port_file) as f:
            port = int(f.read())
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        cls.stub = grpc_service_pb2_grpc.GRPCInferenceServiceStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.daemon.send_signal(signal.SIGTERM)
        exit_code = cls.daemon.wait(timeout=60)
        cls.work.cleanup()
        if exit_code != 0:
            raise AssertionError(f"pynq-inferd exited with {exit_code}")

    def test_server_live(self):
        response = self.stub.ServerLive(grpc_service_pb2.ServerLiveRequest(), timeout=30)
        self.assertTrue(response.live)

    def test_model_metadata(self):
        metadata = self.stub.ModelMetadata(grpc_service_pb2.ModelMetadataRequest(name=MODEL),
                                           timeout=30)
        self.assertEqual(metadata.name, MODEL)
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in metadata.inputs],
                         [("images", "UINT8", [-1, 1, 28, 28])])
        self.assertEqual([(t.name, t.datatype, list(t.shape)) for t in metadata.outputs],
                         [("scores", "INT32", [-1, 10])])

    def test_model_infer_gives_the_golden_scores(self):
        images = idx.read(os.path.join(SOURCE_DIR, "models/data/mnist-heldout-images.idx3-ubyte"))
        golden = idx.read(
            os.path.join(SOURCE_DIR, "models/golden/mnist-bnn-tfc.heldout-scores.idx2-int"))
        batch = np.ascontiguousarray(images[:100], dtype=np.uint8).reshape(100, 1, 28, 28)
        request = grpc_service_pb2.ModelInferRequest(model_name=MODEL, id="py")
        tensor = request.inputs.add(name="images", datatype="UINT8", shape=list(batch.shape))
        self.assertEqual(tensor.name, "images")
        request.raw_input_contents.append(batch.tobytes())
        response = self.stub.ModelInfer(request, timeout=60)
        self.assertEqual(response.model_name, MODEL)
        self.assertEqual(response.id, "py")
        (scores,) = response.outputs
        self.assertEqual((scores.name, scores.datatype, list(scores.shape)),
                         ("scores", "INT32", [100, 10]))
        got = np.array(scores.contents.int_contents, dtype=np.int32).reshape(100, 10)
        np.testing.assert_array_equal(got, golden[:100])

    def test_bytes_inputs_are_pictures(self):
        # Held-out digits as a user would have them: three times larger, dark on light, as
        # binary PGM pictures (P5) of 100x90 pixels.
        images = idx.read(os.path.join(SOURCE_DIR, "models/data/mnist-heldout-images.idx3-ubyte"))
        labels = idx.read(os.path.join(SOURCE_DIR, "models/data/mnist-heldout-labels.idx1-ubyte"))
        model = "mnist-lenet5-int8"
        pictures = []
        for image in images[:8]:
            paper = np.full((90, 100), 255, dtype=np.uint8)
            paper[3:87, 10:94] = 255 - np.kron(image, np.ones((3, 3), dtype=np.uint8))
            pictures.append(b"P5 100 90 255\n" + paper.tobytes())
        request = grpc_service_pb2.ModelInferRequest(model_name=model)
        request.parameters["return_model_input"].bool_param = True
        request.inputs.add(name="images", datatype="BYTES", shape=[len(pictures)])
        request.inputs[0].contents.bytes_contents.extend(pictures)
        response = self.stub.ModelInfer(request, timeout=60)
        self.assertEqual(response.parameters["backend"].string_param, "cpu")
        scores, seen = response.outputs
        got = np.array(scores.contents.int_contents, dtype=np.int32).reshape(8, 10)
        self.assertGreaterEqual(int(np.sum(np.argmax(got, axis=1) == labels[:8])), 7)
        self.assertEqual((seen.name, seen.datatype, list(seen.shape)),
                         ("model_input", "UINT8", [8, 1, 28, 28]))
        # The inputs the model saw, sent back as raw tensors, give the same scores.
        raw = grpc_service_pb2.ModelInferRequest(model_name=model)
        raw.inputs.add(name="images", datatype="UINT8", shape=[8, 1, 28, 28])
        raw.raw_input_contents.append(bytes(seen.contents.uint_contents))
        again = self.stub.ModelInfer(raw, timeout=60)
        np.testing.assert_array_equal(
            np.array(again.outputs[0].contents.int_contents, dtype=np.int32).reshape(8, 10), got)

        # raw_input_contents carries the same pictures, each as a 4-byte little-endian length
        # and its bytes.
        framed = grpc_service_pb2.ModelInferRequest(model_name=model)
        framed.inputs.add(name="images", datatype="BYTES", shape=[len(pictures)])
        framed.raw_input_contents.append(
            b"".join(len(p).to_bytes(4, "little") + p for p in pictures))
        np.testing.assert_array_equal(
            np.array(self.stub.ModelInfer(framed, timeout=60).outputs[0].contents.int_contents,
                     dtype=np.int32).reshape(8, 10), got)

        # A bad picture is INVALID_ARGUMENT naming it.
        request.inputs[0].contents.bytes_contents[5] = pictures[5][:200]
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelInfer(request, timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn('input "images" picture 5: ', caught.exception.details())

    def test_unknown_model_is_not_found(self):
        request = grpc_service_pb2.ModelInferRequest(model_name="no-such-model")
        request.inputs.add(name="images", datatype="UINT8", shape=[1, 784])
        request.raw_input_contents.append(bytes(784))
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.ModelInfer(request, timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("no-such-model", caught.exception.details())


if __name__ == "__main__":
    unittest.main()
