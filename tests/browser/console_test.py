"""The web console (GET / on the HTTP listener) in a real browser: Debian's headless Chromium,
driven by Selenium through chromium-driver, against the real pynq-inferd on a loopback port.

The daemon serves HTTPS with a throw-away PKI (tests/make_test_pki.sh; the browser is told to
accept its test CA's certificate) and requires an inference token, so the test also walks the
console's token path: a classification without it shows the 401 message; with the token pasted
in it succeeds. It draws
a "1" with pointer (mouse) strokes on the canvas, classifies it, checks the predicted class (and
that it is the daemon's answer for the same PNG sent over REST), checks that the model's 28x28
input is shown, classifies a picture file chosen with the file input, and checks that the live
chart plots traffic. The screenshot goes to
$PYNQ_BROWSER_OUTPUT_DIR/console.png, and its path is printed.

Run by CTest as console_browser_test (label "browser"; leave it out of sanitizer stages).
"""

import base64
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.environ["PYNQ_SOURCE_DIR"], "clients", "python", "tests"))
from daemon import Daemon, heldout, make_pki  # noqa: E402  (the Python client tests' helpers)
import numpy as np  # noqa: E402
from pynq_infer.png_writer import encode_gray_png  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

MODEL = "mnist-lenet5-int8"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class ConsoleBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for program in (CHROMIUM, CHROMEDRIVER):
            if not os.access(program, os.X_OK):
                raise RuntimeError(f"{program} is missing: run deploy/install-deps.sh (chromium, "
                                   "chromium-driver, python3-selenium)")
        cls.work = tempfile.mkdtemp(prefix="pynq-console-test-")
        pki = make_pki(os.path.join(cls.work, "pki"))
        with open(f"{pki}/inference.token") as f:
            cls.token = f.read().strip()
        cls.tls = ssl.create_default_context(cafile=f"{pki}/ca.crt")
        http_port_file = os.path.join(cls.work, "http-port")
        cls.daemon = Daemon("--http_listen=127.0.0.1:0", f"--http_port_file={http_port_file}",
                            f"--tls_cert={pki}/server.crt", f"--tls_key={pki}/server.key",
                            f"--inference_token_file={pki}/inference.token",
                            models=[MODEL, "mnist-bnn-tfc"])
        try:
            cls.base = f"https://127.0.0.1:{cls.http_port(http_port_file)}/"
            cls.browser = cls.start_browser()
        except BaseException:
            cls.daemon.stop()
            shutil.rmtree(cls.work, ignore_errors=True)
            raise

    @staticmethod
    def http_port(path):
        """The port the daemon writes to `path` once it listens for HTTP (the constructor of
        Daemon returns when the gRPC port is up, which may be a moment earlier)."""
        give_up = time.monotonic() + 30
        while time.monotonic() < give_up:
            try:
                with open(path) as f:
                    port = int(f.read().strip() or 0)
                if port > 0:
                    return port
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"pynq-inferd wrote no HTTP port to {path} within 30 s")

    @classmethod
    def start_browser(cls):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        # The daemon's certificate is from the test's own CA, which Chromium does not know.
        options.accept_insecure_certs = True
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900", f"--user-data-dir={cls.work}/profile"):
            options.add_argument(flag)
        browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        browser.set_script_timeout(20)
        return browser

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        code = cls.daemon.stop()
        shutil.rmtree(cls.work, ignore_errors=True)
        assert code == 0, f"pynq-inferd exited with {code}"

    def wait(self, condition, what, timeout=15):
        return WebDriverWait(self.browser, timeout, poll_frequency=0.05).until(
            lambda _: condition(), message=f"timed out waiting for {what}")

    def element(self, id_):
        return self.browser.find_element(By.ID, id_)

    def draw_a_one(self):
        pad = self.element("pad")
        # Offsets are from the canvas' centre (280x280): a vertical stroke from y=50 to y=230.
        actions = ActionChains(self.browser, duration=10)
        actions.move_to_element_with_offset(pad, 4, -90).click_and_hold()
        for _ in range(9):
            actions.move_by_offset(-1, 20)
        actions.release().perform()

    def rest_infer(self, picture, token=None):
        body = json.dumps({
            "parameters": {"return_model_input": True},
            "inputs": [{"name": "images", "datatype": "BYTES", "shape": [1],
                        "data": [base64.b64encode(picture).decode()]}]}).encode()
        request = urllib.request.Request(
            f"{self.base}v2/models/{MODEL}/infer", data=body, method="POST",
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {token or self.token}"})
        with urllib.request.urlopen(request, timeout=10, context=self.tls) as answer:
            return json.load(answer)

    def metrics(self):
        """The daemon's /metrics.json, by model."""
        with urllib.request.urlopen(f"{self.base}metrics.json", timeout=10,
                                    context=self.tls) as answer:
            return {m["model"]: m for m in json.load(answer)["models"]}

    def test_draw_classify_and_watch(self):
        started = time.monotonic()
        # Other tests of this class share the daemon: count from here.
        expected_ok = self.metrics()[MODEL]["requests_ok"] + 23
        self.browser.get(self.base)
        self.wait(lambda: len(Select(self.element("model")).options) == 2, "the model list")
        Select(self.element("model")).select_by_value(MODEL)

        self.draw_a_one()
        # Without the token the daemon answers 401, and the console says what to do.
        self.element("classify").click()
        self.wait(lambda: "401" in self.element("message").text, "the 401 message")
        self.assertIn("requires a token", self.element("message").text)
        self.assertIn("error", self.element("message").get_attribute("class"))
        self.assertEqual(self.element("result").get_attribute("data-class"), "")

        self.element("token").send_keys(self.token)
        self.element("save-token").click()
        self.element("classify").click()
        self.wait(lambda: self.element("result").get_attribute("data-class") != "",
                  "a classification")
        predicted = self.element("result").get_attribute("data-class")
        self.assertEqual(predicted, "1", self.element("facts").text)
        facts = self.element("facts").text
        self.assertIn("backend cpu", facts)
        self.assertRegex(facts, r"\d+\.\d ms round trip")

        # The daemon's answer for the same picture, sent over REST by this test, agrees, and the
        # console shows the same 28x28 input the daemon reports.
        picture = base64.b64decode(self.browser.execute_script(
            "return document.getElementById('pad').toDataURL('image/png').split(',')[1];"))
        answer = self.rest_infer(picture)
        scores = answer["outputs"][0]["data"]
        self.assertEqual(str(max(range(len(scores)), key=lambda c: (scores[c], -c))), predicted)
        shown = self.browser.execute_script("""
            const c = document.getElementById('seen');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const gray = [];
            for (let i = 0; i < d.length; i += 4) gray.push(d[i]);
            return [c.width, c.height, gray];""")
        self.assertEqual(shown[:2], [28, 28])
        self.assertEqual(shown[2], answer["outputs"][1]["data"])
        self.assertGreater(max(shown[2]), 200)

        # A wrong token is refused with a clear message too.
        self.element("token").clear()
        self.element("token").send_keys("not-the-token-0123456789abcdef")
        self.element("save-token").click()
        self.element("classify").click()
        self.wait(lambda: "refused the token" in self.element("message").text,
                  "the refused-token message")

        # A picture file chosen with the file input: a held-out digit, three times larger, dark
        # on light paper, off centre.
        self.element("token").clear()
        self.element("token").send_keys(self.token)
        self.element("save-token").click()
        images, labels = heldout(1)
        paper = np.full((120, 110), 255, dtype=np.uint8)
        paper[20:104, 4:88] = 255 - np.kron(images[0], np.ones((3, 3), dtype=np.uint8))
        digit_file = os.path.join(self.work, "digit.png")
        with open(digit_file, "wb") as f:
            f.write(encode_gray_png(paper))
        self.browser.execute_script("document.getElementById('result').dataset.class = '';")
        self.element("file").send_keys(digit_file)
        self.wait(lambda: self.element("result").get_attribute("data-class") != "",
                  "the chosen file's classification")
        self.assertEqual(self.element("result").get_attribute("data-class"), str(labels[0]),
                         self.element("facts").text)
        self.assertEqual(self.element("message").text, "")

        # Traffic for the chart: a burst of classifications over REST.
        for _ in range(20):
            self.rest_infer(picture)
        self.wait(lambda: float(self.element("throughput").get_attribute("data-max-rate")) > 0,
                  "the chart to plot images/s above zero")
        self.wait(lambda: int(self.element("latency").get_attribute("data-points")) > 0,
                  "the latency chart to plot a point")
        self.assertGreater(int(self.element("throughput").get_attribute("data-points")), 1)
        self.assertGreater(int(self.element("queue").get_attribute("data-points")), 1)
        self.assertEqual(self.metrics()[MODEL]["requests_ok"], expected_ok)
        rows = self.element("models").find_elements(By.CSS_SELECTOR, "tbody tr")
        self.assertEqual(len(rows), 2)
        # The table of the live figures catches up with the burst too.
        self.wait(lambda: self.browser.execute_script(
                      "return [...document.querySelectorAll('#models tbody tr')]"
                      ".some((r) => r.cells[0].textContent === arguments[0] &&"
                      "             r.cells[5].textContent.startsWith(arguments[1]));",
                      MODEL, f"{expected_ok} / "),
                  "the model table to count the burst")

        output_dir = os.environ.get("PYNQ_BROWSER_OUTPUT_DIR", self.work)
        os.makedirs(output_dir, exist_ok=True)
        screenshot = os.path.join(output_dir, "console.png")
        self.assertTrue(self.browser.save_screenshot(screenshot))
        print(f"\nconsole screenshot: {screenshot} ({time.monotonic() - started:.1f} s in the "
              "browser)", flush=True)

    def test_the_page_is_open_but_inference_is_not(self):
        with urllib.request.urlopen(self.base, timeout=10, context=self.tls) as page:
            self.assertTrue(page.headers["Content-Type"].startswith("text/html"))
            self.assertIn("default-src 'none'", page.headers["Content-Security-Policy"])
        with self.assertRaises(urllib.error.HTTPError) as refused:
            self.rest_infer(b"\x89PNG", token="wrong-token-0123456789abcdef")
        self.assertEqual(refused.exception.code, 401)

    def test_a_picture_file_as_the_request_body(self):
        images, labels = heldout(3)
        for image, label in zip(images, labels):
            picture = encode_gray_png(255 - np.kron(image, np.ones((2, 2), dtype=np.uint8)))
            answer = json.load(self.post_picture(picture, "image/png"))
            self.assertEqual(answer["parameters"]["backend"], "cpu")
            (scores,) = answer["outputs"]
            self.assertEqual(scores["shape"], [1, 10])
            self.assertEqual(int(np.argmax(scores["data"])), int(label))
        with self.assertRaises(urllib.error.HTTPError) as bad:
            self.post_picture(picture[:100], "image/png")
        self.assertEqual(bad.exception.code, 400)
        self.assertIn('input "images" picture 0: truncated PNG', json.load(bad.exception)["error"])
        with self.assertRaises(urllib.error.HTTPError) as gif:
            self.post_picture(b"GIF89a", "image/gif")
        self.assertEqual(gif.exception.code, 415)

    def post_picture(self, picture, content_type):
        request = urllib.request.Request(
            f"{self.base}v2/models/{MODEL}/infer", data=picture, method="POST",
            headers={"Content-Type": content_type, "Authorization": f"Bearer {self.token}"})
        return urllib.request.urlopen(request, timeout=10, context=self.tls)


if __name__ == "__main__":
    unittest.main()
