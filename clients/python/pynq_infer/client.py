"""The pynq-inferd client: classify numpy images over the native API (pynq_infer.v1).

    >>> import pynq_infer
    >>> board = pynq_infer.Client("pynq-z2.local:50051")
    >>> board.predict(digits)                      # numpy uint8 [N, 28, 28] -> [N] class indices
    array([7, 2, 1, 0, 4])
    >>> board.classify(digits[0], top_k=2)[0].label
    '7'
    >>> print(board.throughput_test(digits, seconds=2))

A Client holds one gRPC channel; it is thread-safe and cheap to keep for the life of a notebook.
Every call blocks until the daemon answers or ``timeout`` seconds pass.
"""

import dataclasses
import ipaddress
import json
import threading
import time

import grpc
import numpy as np
from google.protobuf.descriptor import FieldDescriptor

from pynq_infer import image_files, png_writer
from pynq_infer.errors import InferenceError
from pynq_infer.throughput import run_closed_loop
from pynq_infer.v1 import inference_pb2, inference_pb2_grpc

__all__ = ["Client", "TLS", "ModelInfo", "Classification", "DEFAULT_MODEL"]

# The model used when neither the call nor the Client names one (as in the C++ client).
DEFAULT_MODEL = "mnist-bnn-tfc"
# Images per Classify request when a call is split; well inside the daemon's default limits
# (--max_images_per_request 1024, --max_message_bytes 4 MiB).
_IMAGES_PER_REQUEST = 256
# Classify requests of one call in flight at once.
_WINDOW = 4
# Picture bytes per Classify request when a call is split (pictures vary in size; the daemon's
# --max_message_bytes is 4 MiB by default).
_PICTURE_BYTES_PER_REQUEST = 3 << 20


@dataclasses.dataclass(frozen=True)
class TLS:
    """How to reach a daemon serving TLS (``pynq-inferd --tls_cert``).

    Attributes:
        ca: PEM file of the CA certificates the daemon's certificate must chain to; None: the
            system's CAs.
        cert, key: PEM files of a client certificate and its key, for a daemon that requires one
            (``--tls_client_ca``, mTLS).
        server_name: the name to check the daemon's certificate for, instead of the address's
            host (needed when the certificate does not name the address you connect to).
    """

    ca: str = None
    cert: str = None
    key: str = None
    server_name: str = None


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """A model the daemon serves (ListModels)."""

    name: str
    version: str
    description: str
    # (channels, height, width) of its uint8 input.
    shape: tuple
    labels: tuple
    layers: tuple
    backend: str
    max_batch_size: int
    file: str


@dataclasses.dataclass(frozen=True)
class Classification:
    """One image's result.

    Attributes:
        class_index, label: the best class (ties: the lowest index) and its label.
        scores: numpy int32 [classes], the model's exact integer scores (not probabilities).
        top: the ``top_k`` best as (class_index, label, score), best first.
        queue_us, accelerator_us, batch_size: the daemon's timing: the image's wait in the queue,
            the run time of the batch it rode in, and that batch's size.
        latency_ms: client-side round trip of the request that carried the image.
        model, model_version, backend: what served it.
        source: for classify_files(), the file (``path`` or ``path#index`` for IDX); else None.
    """

    class_index: int
    label: str
    scores: np.ndarray
    top: tuple
    queue_us: int
    accelerator_us: int
    batch_size: int
    latency_ms: float
    model: str
    model_version: str
    backend: str
    source: str = None


def _as_dict(message):
    """A message as a dict of every field (defaults included), numbers kept as numbers."""
    out = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.label == FieldDescriptor.LABEL_REPEATED:
                value = [_as_dict(v) for v in value]
            else:
                value = _as_dict(value)
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            value = list(value)
        out[field.name] = value
    return out


def _parse_address(address):
    """(host, port, ip_version or None) of "host:port", "1.2.3.4:5" or "[::1]:5"."""
    if address.startswith("["):
        host, sep, port = address[1:].partition("]:")
    else:
        host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f'address "{address}" is not host:port (IPv6: [address]:port)')
    try:
        version = ipaddress.ip_address(host).version
    except ValueError:
        version = None
    return host, port, version


# The service config of a channel to several boards, the same as the C++ client's
# (clients/channel_security.h): round_robin over the boards whose grpc.health.v1 status is
# SERVING (a draining daemon turns NOT_SERVING before it refuses anything), and up to 4 attempts
# of a call that a board answers with UNAVAILABLE.
FLEET_SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": "pynq_infer.v1.Inference"},
    "methodConfig": [{
        "name": [{"service": "pynq_infer.v1.Inference"},
                 {"service": "inference.GRPCInferenceService"}],
        "retryPolicy": {
            "maxAttempts": 4,
            "initialBackoff": "0.05s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
})


def _target(addresses):
    """The gRPC target for one address or a list, and the host a TLS certificate should name.

    A list (or one string "a:1,b:2") becomes one ``ipv4:a:1,b:2`` (or ``ipv6:``) target, so its
    addresses must be IP literals of one family; ``dns:///name:port`` is passed on as is.
    """
    if isinstance(addresses, str) and "," in addresses:
        addresses = [a.strip() for a in addresses.split(",") if a.strip()]
    if isinstance(addresses, str):
        return addresses, None
    addresses = list(addresses)
    if not addresses:
        raise ValueError("no address given")
    if len(addresses) == 1:
        return addresses[0], None
    parsed = [_parse_address(a) for a in addresses]
    versions = {version for _, _, version in parsed}
    if versions == {4}:
        return "ipv4:" + ",".join(f"{h}:{p}" for h, p, _ in parsed), parsed[0][0]
    if versions == {6}:
        return "ipv6:" + ",".join(f"[{h}]:{p}" for h, p, _ in parsed), parsed[0][0]
    raise ValueError(
        "a list of addresses must be IP addresses of one family (e.g. "
        '["10.0.0.5:50051", "10.0.0.6:50051"]), got ' + repr(addresses) + "; for boards known by "
        "name, give one DNS name that resolves to all of them")


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Client:
    """A connection to pynq-inferd (one address) or to several boards (a list of addresses).

    Args:
        address: ``"host:port"``; or several boards: a list of ``"ip:port"`` (or one string
            ``"ip1:port1,ip2:port2"``; one gRPC target ``ipv4:ip1:port1,...``; host names in a
            list are refused, see README), or ``"dns:///name:port"`` for a name with several
            records. Calls to several boards go round-robin to those whose health is SERVING
            and a call refused with UNAVAILABLE is retried (``FLEET_SERVICE_CONFIG``).
        tls: None for plaintext; True for TLS verified against the system's CAs; a ``TLS`` for a
            private CA, a client certificate (mTLS) or a server name.
        token: a bearer token sent with every call (``authorization: Bearer ...``), for a daemon
            started with ``--admin_token_file`` / ``--inference_token_file``. Needs TLS.
        token_file: a file holding the token instead (one line).
        model: the model calls use when they name none (default ``DEFAULT_MODEL``).
        timeout: seconds each call may take.

    Raises ValueError for settings that do not fit together and OSError for unreadable files.
    """

    def __init__(self, address="127.0.0.1:50051", *, tls=None, token=None, token_file=None,
                 model=None, timeout=10.0):
        if token is not None and token_file is not None:
            raise ValueError("give token or token_file, not both")
        if token_file is not None:
            token = _read_bytes(token_file).decode().strip()
        if token is not None and (not token or any(c.isspace() for c in token)):
            raise ValueError("the token must be one word (no spaces or line breaks)")
        if tls is True:
            tls = TLS()
        if tls not in (None, False) and not isinstance(tls, TLS):
            raise ValueError("tls must be None, True or a pynq_infer.TLS")
        if not tls and token is not None:
            raise ValueError("a token needs TLS (tls=True or tls=pynq_infer.TLS(ca=...)): a "
                             "bearer token must not travel in clear text, and pynq-inferd accepts "
                             "tokens only over TLS")
        target, first_host = _target(address)
        options = [("grpc.max_receive_message_length", 64 << 20)]
        if target.startswith(("ipv4:", "ipv6:", "dns:")):
            options.append(("grpc.service_config", FLEET_SERVICE_CONFIG))
        if tls:
            if (tls.cert is None) != (tls.key is None):
                raise ValueError("TLS cert and key go together (a client certificate and its key)")
            credentials = grpc.ssl_channel_credentials(
                root_certificates=_read_bytes(tls.ca) if tls.ca else None,
                private_key=_read_bytes(tls.key) if tls.key else None,
                certificate_chain=_read_bytes(tls.cert) if tls.cert else None)
            if token is not None:
                credentials = grpc.composite_channel_credentials(
                    credentials, grpc.access_token_call_credentials(token))
            server_name = tls.server_name or first_host
            if server_name:
                options.append(("grpc.ssl_target_name_override", server_name))
            self._channel = grpc.secure_channel(target, credentials, options)
        else:
            self._channel = grpc.insecure_channel(target, options)
        self.address = address
        self.target = target
        self.model = model or DEFAULT_MODEL
        self.timeout = timeout
        self._stub = inference_pb2_grpc.InferenceStub(self._channel)
        self._models_lock = threading.Lock()
        self._models = {}

    def close(self):
        """Closes the channel; calls after this fail."""
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"pynq_infer.Client({self.address!r}, model={self.model!r})"

    # --- Calls -------------------------------------------------------------------------------

    def _call(self, rpc, request, timeout=None):
        try:
            return getattr(self._stub, rpc)(request, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            raise InferenceError.from_rpc_error(e, rpc) from None

    def models(self):
        """The served models, as a list of ModelInfo (also refreshes the client's copy)."""
        response = self._call("ListModels", inference_pb2.ListModelsRequest())
        infos = [ModelInfo(name=m.name, version=m.version, description=m.description,
                           shape=(m.channels, m.height, m.width), labels=tuple(m.labels),
                           layers=tuple(m.layers), backend=m.backend,
                           max_batch_size=m.max_batch_size, file=m.file)
                 for m in response.models]
        with self._models_lock:
            self._models = {m.name: m for m in infos}
        return infos

    def _info(self, model):
        with self._models_lock:
            info = self._models.get(model)
        if info is None:
            info = next((m for m in self.models() if m.name == model), None)
        return info

    def _inputs(self, images, model):
        """What to send for `images`: ("raw", uint8 [N, pixels]) when they have the model's input
        shape, ("pictures", [PNG bytes]) when they are gray images [N, H, W] of another size for
        a one-channel model (the daemon prepares them as the model file declares)."""
        if isinstance(images, (str, bytes)):
            raise ValueError("images must be a numpy uint8 array; for files use classify_files()")
        array = np.asarray(images)
        if array.dtype != np.uint8:
            raise ValueError(
                f"images must be numpy uint8 (pixels 0..255, 0 = black), not {array.dtype}; for "
                "floats in [0, 1] use (x * 255).round().astype(np.uint8)")
        info = self._info(model)
        if info is None:
            # Not served: the daemon answers NOT_FOUND with the models it has.
            c, h, w = (1, array.shape[-2], array.shape[-1]) if array.ndim >= 2 else (1, 1, 1)
        else:
            c, h, w = info.shape
        single = (c, h, w) if c > 1 else (h, w)
        if array.shape == single or array.shape == (c, h, w):
            array = array[np.newaxis]
        elif c == 1 and array.ndim == 3 and array.shape[1:] != (h, w):
            if 0 in array.shape:
                raise ValueError(f"images of shape {list(array.shape)} hold no pixels")
            return "pictures", [png_writer.encode_gray_png(p) for p in array]
        elif array.shape[1:] not in (single, (c, h, w)) or array.ndim not in (3, 4):
            raise ValueError(
                f"images of shape {list(array.shape)} do not fit model {model}, which takes "
                f"{c}x{h}x{w} uint8 images: give one image {list(single)} or a batch "
                f"[N, {', '.join(map(str, single))}]"
                + (", or gray pictures [N, H, W] of any size (sent as PNGs)" if c == 1 else ""))
        if array.shape[0] == 0:
            raise ValueError("no images given")
        return "raw", np.ascontiguousarray(array.reshape(array.shape[0], -1))

    @staticmethod
    def _requests(kind, items, model, top_k):
        """ClassifyRequests carrying `items`: raw rows, or pictures (encoded_images)."""
        if kind == "raw":
            for begin in range(0, len(items), _IMAGES_PER_REQUEST):
                yield inference_pb2.ClassifyRequest(
                    model=model, top_k=top_k,
                    images=[row.tobytes() for row in items[begin:begin + _IMAGES_PER_REQUEST]])
            return
        chunk, size = [], 0
        for picture in items:
            if chunk and (len(chunk) == _IMAGES_PER_REQUEST or
                          size + len(picture) > _PICTURE_BYTES_PER_REQUEST):
                yield inference_pb2.ClassifyRequest(model=model, top_k=top_k,
                                                    encoded_images=chunk)
                chunk, size = [], 0
            chunk.append(picture)
            size += len(picture)
        if chunk:
            yield inference_pb2.ClassifyRequest(model=model, top_k=top_k, encoded_images=chunk)

    def _classify_batch(self, kind, items, model, top_k):
        """(ClassifyResponse, latency ms) per request, in order, sending up to _WINDOW at once."""
        starts = {}
        done_at = {}
        futures = []
        results = []

        def finished(index):
            return lambda _: done_at.__setitem__(index, time.monotonic())

        for index, request in enumerate(self._requests(kind, items, model, top_k)):
            if len(futures) - len(results) >= _WINDOW:
                results.append(self._result(futures[len(results)]))
            starts[index] = time.monotonic()
            future = self._stub.Classify.future(request, timeout=self.timeout)
            future.add_done_callback(finished(index))
            futures.append(future)
        while len(results) < len(futures):
            results.append(self._result(futures[len(results)]))
        # A future's callback may still be running when result() returns; then the time now
        # stands in for it.
        return [(r, (done_at.get(i, time.monotonic()) - starts[i]) * 1e3)
                for i, r in enumerate(results)]

    @staticmethod
    def _result(future):
        try:
            return future.result()
        except grpc.RpcError as e:
            raise InferenceError.from_rpc_error(e, "Classify") from None

    def classify(self, images, model=None, top_k=3):
        """Classifies images: a list of Classification, one per image, in order.

        Args:
            images: numpy uint8, one image [28, 28] or a batch [N, 28, 28] (generally [H, W] /
                [N, H, W] for one-channel models, [N, C, H, W] otherwise). Gray images of another
                size, [N, H, W] (N = 1 for one), are pictures: each is sent as a PNG and the
                daemon prepares it as the model file declares (for MNIST models: any digit,
                dark on light or light on dark, cropped, scaled and centred as MNIST's were).
            model: the model's name; default the Client's.
            top_k: how many best classes each result's ``top`` lists.
        Raises ValueError for images of the wrong dtype or shape (nothing is sent), and
        InferenceError when the daemon refuses (e.g. NOT_FOUND for an unknown model).
        """
        model = model or self.model
        return self._classify(*self._inputs(images, model), model, top_k)

    def _classify(self, kind, items, model, top_k):
        results = []
        for response, latency_ms in self._classify_batch(kind, items, model, top_k):
            for r in response.results:
                results.append(Classification(
                    class_index=r.class_index, label=r.label,
                    scores=np.array(r.scores, dtype=np.int32),
                    top=tuple((t.class_index, t.label, t.score) for t in r.top),
                    queue_us=r.queue_us, accelerator_us=r.accelerator_us,
                    batch_size=r.batch_size, latency_ms=latency_ms, model=response.model,
                    model_version=response.model_version, backend=response.backend))
        return results

    def predict(self, images, model=None):
        """The best class of each image: numpy int64 [N] (N = 1 for a single image); images as
        for classify()."""
        model = model or self.model
        kind, items = self._inputs(images, model)
        classes = [r.class_index for response, _ in self._classify_batch(kind, items, model, 0)
                   for r in response.results]
        return np.array(classes, dtype=np.int64)

    def classify_files(self, paths, model=None, top_k=3):
        """Classifies the images in files: pictures (PNG, JPEG, PGM of any size) and IDX files
        of images (gzipped or not).

        An IDX file, and a PNG or binary PGM of exactly the model's input size (an MNIST digit
        saved as a file), are sent as raw images, pixel for pixel, as the C++ client does; any
        other file is sent as it is, a picture the daemon prepares as the model file declares
        (a picture it cannot decode fails the call with INVALID_ARGUMENT naming it). The results
        carry ``source`` (the path, or ``path#i`` for the i-th image of an IDX file). Raises
        ValueError naming the file for a broken IDX file, OSError for a missing file; nothing is
        sent then.
        """
        model = model or self.model
        if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
            paths = [paths]
        info = self._info(model)
        raw, raw_at, pictures, picture_at, sources = [], [], [], [], []
        for path in paths:
            data = image_files.read_file(path)
            images = None
            if image_files.is_idx(data):
                images = image_files.decode_image(data, str(path))
            elif info is not None and info.shape[0] == 1:
                try:
                    images = image_files.decode_image(data, str(path))
                except ValueError:
                    images = None  # a picture this client does not decode: the daemon does
                if images is not None and images.shape[1:] != info.shape[1:]:
                    images = None
            if images is None:
                picture_at.append(len(sources))
                pictures.append(data)
                sources.append(str(path))
                continue
            raw_at += range(len(sources), len(sources) + len(images))
            raw.append(images)
            sources += ([str(path)] if len(images) == 1
                        else [f"{path}#{i}" for i in range(len(images))])
        if not sources:
            raise ValueError("no files given")
        results = [None] * len(sources)
        if raw:
            batch = self._inputs(np.concatenate(raw), model)
            for at, r in zip(raw_at, self._classify(*batch, model, top_k)):
                results[at] = r
        if pictures:
            for at, r in zip(picture_at, self._classify("pictures", pictures, model, top_k)):
                results[at] = r
        return [dataclasses.replace(r, source=s) for r, s in zip(results, sources)]

    def metrics(self):
        """The daemon's metrics (GetMetrics) as a dict: ``uptime_s`` and ``models``, a dict by
        model name of its counters, images/s and latency percentiles (see the proto's
        ModelMetrics for every field and its unit)."""
        response = self._call("GetMetrics", inference_pb2.GetMetricsRequest())
        return {"uptime_s": response.uptime_s,
                "models": {m.model: _as_dict(m) for m in response.models}}

    def throughput_test(self, images, model=None, seconds=5.0, *, concurrency=8,
                        images_per_request=1, warmup=0.5):
        """Measures images/s and latency: ``concurrency`` requests of ``images_per_request``
        images kept in flight (closed loop, cycling through ``images``) for ``warmup`` then
        ``seconds`` seconds. Returns a ThroughputReport (``str()`` gives one line; ``as_dict()``).

        Client-side figures include this Python process's own cost per call (about 0.1-0.3 ms),
        which bounds what it can measure; ``pynq-infer bench`` (C++) measures the daemon itself.
        Raises InferenceError when no request succeeded.
        """
        model = model or self.model
        if seconds <= 0 or concurrency < 1 or images_per_request < 1 or warmup < 0:
            raise ValueError("seconds must be > 0, concurrency and images_per_request >= 1, "
                             "warmup >= 0")
        kind, batch = self._inputs(images, model)
        if kind != "raw":
            raise ValueError(f"throughput_test takes images of model {model}'s input shape; "
                             f"pictures of shape {list(np.shape(images))} would measure their "
                             "preparation too")
        requests = []
        for begin in range(0, len(batch), images_per_request):
            chunk = batch[begin:begin + images_per_request]
            if len(chunk) < images_per_request:
                chunk = np.concatenate([chunk, batch[:images_per_request - len(chunk)]])
            requests.append(inference_pb2.ClassifyRequest(
                model=model, images=[row.tobytes() for row in chunk]))

        def send(request):
            return self._stub.Classify(request, timeout=self.timeout)

        report = run_closed_loop(send, requests, model=model, seconds=seconds, warmup=warmup,
                                 concurrency=concurrency, images_per_request=images_per_request)
        if report.requests == 0:
            # Ask once more to raise the daemon's own answer.
            self._call("Classify", requests[0])
            raise InferenceError(grpc.StatusCode.UNAVAILABLE,
                                 f"no request finished within the {seconds} s window; "
                                 f"{report.first_error}", "Classify")
        return report

    def load_model(self, file):
        """Loads ``file`` (a *.pim name in the daemon's --model_dir) and returns its ModelInfo.
        Needs a daemon with --allow_model_management and, if it requires one, the admin token
        or an admin client certificate (else InferenceError UNAUTHENTICATED/PERMISSION_DENIED)."""
        response = self._call("LoadModel", inference_pb2.LoadModelRequest(file=file))
        with self._models_lock:
            self._models.pop(response.model.name, None)
        return next(m for m in self.models() if m.name == response.model.name)

    def unload_model(self, model):
        """Stops serving ``model``; returns the version unloaded. The same rights as load_model()."""
        response = self._call("UnloadModel", inference_pb2.UnloadModelRequest(model=model))
        with self._models_lock:
            self._models.pop(model, None)
        return response.version
