"""pynq_infer.Client with TLS, client certificates and bearer tokens, against the real daemon
(certificates made at test time by tests/make_test_pki.sh)."""

import shutil
import tempfile
import unittest

import grpc

import pynq_infer
from daemon import Daemon, heldout, make_pki

MODEL = "mnist-bnn-tfc"


class TokenTest(unittest.TestCase):
    """TLS, an admin token and an inference token."""

    @classmethod
    def setUpClass(cls):
        cls.pki = make_pki(tempfile.mkdtemp(prefix="pynq-py-pki-"))
        cls.daemon = Daemon(f"--tls_cert={cls.pki}/server.crt", f"--tls_key={cls.pki}/server.key",
                            f"--admin_token_file={cls.pki}/admin.token",
                            f"--inference_token_file={cls.pki}/inference.token",
                            "--allow_model_management", models=[MODEL])
        cls.tls = pynq_infer.TLS(ca=f"{cls.pki}/ca.crt")
        cls.images, _ = heldout(8)

    @classmethod
    def tearDownClass(cls):
        assert cls.daemon.stop() == 0
        shutil.rmtree(cls.pki)

    def client(self, **kwargs):
        return pynq_infer.Client(self.daemon.address, timeout=5, **kwargs)

    def assert_refused(self, code, call):
        with self.assertRaises(pynq_infer.InferenceError) as caught:
            call()
        self.assertEqual(caught.exception.code, code, str(caught.exception))
        return caught.exception

    def test_inference_with_the_inference_token(self):
        with self.client(tls=self.tls, token_file=f"{self.pki}/inference.token") as c:
            self.assertEqual(len(c.predict(self.images)), 8)
        with open(f"{self.pki}/admin.token") as f:
            admin_token = f.read().strip()
        with self.client(tls=self.tls, token=admin_token) as c:
            self.assertEqual(len(c.predict(self.images)), 8)

    def test_inference_without_a_token_is_unauthenticated(self):
        with self.client(tls=self.tls) as c:
            error = self.assert_refused(grpc.StatusCode.UNAUTHENTICATED,
                                        lambda: c.predict(self.images))
            self.assertIn("needs a bearer token", error.details)
            # Listing and metrics need no token.
            self.assertEqual([m.name for m in c.models()], [MODEL])
            self.assertIn(MODEL, c.metrics()["models"])
        with self.client(tls=self.tls, token="not-the-token-0123456789") as c:
            self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, lambda: c.predict(self.images))

    def test_management_needs_the_admin_token(self):
        with self.client(tls=self.tls) as c:
            self.assert_refused(grpc.StatusCode.UNAUTHENTICATED, lambda: c.unload_model(MODEL))
        with self.client(tls=self.tls, token_file=f"{self.pki}/inference.token") as c:
            error = self.assert_refused(grpc.StatusCode.PERMISSION_DENIED,
                                        lambda: c.load_model(MODEL + ".pim"))
            self.assertIn("allows inference only", error.details)
        with self.client(tls=self.tls, token_file=f"{self.pki}/admin.token") as c:
            self.assertEqual(c.load_model(MODEL + ".pim").name, MODEL)

    def test_an_address_list_over_tls_checks_the_first_host(self):
        # The certificate names 127.0.0.1; the list's target "ipv4:..." is no host name.
        with pynq_infer.Client([self.daemon.address, self.daemon.address], tls=self.tls,
                               token_file=f"{self.pki}/inference.token", timeout=5) as c:
            self.assertEqual(len(c.predict(self.images)), 8)

    def test_plaintext_to_a_tls_port_fails(self):
        with self.client() as c:
            self.assert_refused(grpc.StatusCode.UNAVAILABLE, c.models)

    def test_an_untrusted_server_certificate_fails(self):
        # The system's CAs do not know the test CA.
        with self.client(tls=True) as c:
            self.assert_refused(grpc.StatusCode.UNAVAILABLE, c.models)

    def test_settings_that_do_not_fit_are_value_errors(self):
        with self.assertRaisesRegex(ValueError, "needs TLS"):
            self.client(token="0123456789abcdef0123")
        with self.assertRaisesRegex(ValueError, "go together"):
            self.client(tls=pynq_infer.TLS(ca=f"{self.pki}/ca.crt", cert=f"{self.pki}/reader.crt"))
        with self.assertRaisesRegex(ValueError, "one word"):
            self.client(tls=self.tls, token="two words")
        with self.assertRaises(OSError):
            self.client(tls=pynq_infer.TLS(ca=f"{self.pki}/missing.crt"))


class ClientCertificateTest(unittest.TestCase):
    """mTLS: client certificates from the test CA, the admin named by its certificate."""

    @classmethod
    def setUpClass(cls):
        cls.pki = make_pki(tempfile.mkdtemp(prefix="pynq-py-pki-"))
        cls.daemon = Daemon(f"--tls_cert={cls.pki}/server.crt", f"--tls_key={cls.pki}/server.key",
                            f"--tls_client_ca={cls.pki}/ca.crt",
                            "--admin_client_identities=ops-admin", "--allow_model_management",
                            models=[MODEL])
        cls.images, _ = heldout(4)

    @classmethod
    def tearDownClass(cls):
        assert cls.daemon.stop() == 0
        shutil.rmtree(cls.pki)

    def client(self, name=None):
        pki = self.pki
        tls = pynq_infer.TLS(ca=f"{pki}/ca.crt", cert=name and f"{pki}/{name}.crt",
                             key=name and f"{pki}/{name}.key", server_name="localhost")
        return pynq_infer.Client(self.daemon.address, tls=tls, timeout=5)

    def test_without_a_client_certificate_the_handshake_fails(self):
        with self.client() as c:
            with self.assertRaises(pynq_infer.InferenceError) as caught:
                c.models()
        self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)

    def test_a_certificate_of_another_ca_is_refused(self):
        with self.client("rogue") as c:
            with self.assertRaises(pynq_infer.InferenceError) as caught:
                c.models()
        self.assertEqual(caught.exception.code, grpc.StatusCode.UNAVAILABLE)

    def test_a_reader_classifies_but_may_not_manage(self):
        with self.client("reader") as c:
            self.assertEqual(len(c.predict(self.images)), 4)
            with self.assertRaises(pynq_infer.InferenceError) as caught:
                c.load_model(MODEL + ".pim")
        self.assertEqual(caught.exception.code, grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("client certificate (reader) is not an admin's", caught.exception.details)

    def test_the_admin_certificate_manages(self):
        with self.client("admin") as c:
            self.assertEqual(c.load_model(MODEL + ".pim").name, MODEL)


if __name__ == "__main__":
    unittest.main()
