"""u2net_hf.server (and url_fetch, cli/serve): a real `u2net-hf serve` on 127.0.0.1, driven as rembg's users drive
`rembg s` (its curl lines, its parameter names), checked against `remove_background` for the same options;
hostile requests get their 4xx and the server keeps serving; a load of real photos from 8 clients."""

from __future__ import annotations

import http.client
import http.server
import io
import ipaddress
import json
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import PIL.Image
import psutil
import pytest
import torch
from conftest import TINY_STAGES
from serve_process import ServerProcess

from u2net_hf import U2NetConfig, U2NetForImageSegmentation, U2NetImageProcessor, remove_background
from u2net_hf.server import ModelNotServed, SessionRegistry
from u2net_hf.url_fetch import FetchError, fetch_url, is_public_address

GALLERY = Path(__file__).resolve().parents[1] / "docs" / "gallery"
PHOTOS = {path.name: path.read_bytes() for path in sorted(GALLERY.glob("*.jpg"))}
CHELSEA = GALLERY / "chelsea.jpg"
MAX_UPLOAD = 3 * 1024**2
MAX_PIXELS = 4_000_000


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    """A tiny random U2-Net at 64x64: milliseconds a photo, so that the load test measures the server."""
    folder = tmp_path_factory.mktemp("serve") / "tiny-u2net"
    torch.manual_seed(0)
    U2NetForImageSegmentation(U2NetConfig(**TINY_STAGES)).eval().save_pretrained(folder)
    U2NetImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def server(tiny_folder):
    limits = ["--max-upload-bytes", "3M", "--max-pixels", str(MAX_PIXELS), "--max-batch", "4"]
    with ServerProcess("--no-ui", "--model", "u2net-lite", str(tiny_folder), "--threads", "2", *limits) as running:
        yield running


def decoded(data: bytes) -> PIL.Image.Image:
    image = PIL.Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_same_image(answer: bytes, expected: bytes):
    got, want = decoded(answer), decoded(expected)
    assert (got.format, got.mode, got.size) == (want.format, want.mode, want.size)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_rembg_usage_curl_lines_work_unchanged(server, tmp_path):
    """rembg's USAGE: `curl -s -F file=@/path/to/input.jpg "http://localhost:7000/api/remove" -o output.png`, and
    the same with rembg's parameters (form fields, `bgc` in the query)."""
    out = tmp_path / "output.png"
    subprocess.run(["curl", "-s", "-F", f"file=@{CHELSEA}", f"{server.url}/api/remove", "-o", out], check=True)
    cutout = decoded(out.read_bytes())
    assert (cutout.format, cutout.mode) == ("PNG", "RGBA")
    expected = remove_background(CHELSEA.read_bytes())
    np.testing.assert_array_equal(np.asarray(cutout.getchannel("A")), np.asarray(decoded(expected).getchannel("A")))

    command = ["curl", "-s", "-F", f"file=@{CHELSEA}", "-F", "model=u2netp", "-F", "a=false", "-F", "af=240"]
    subprocess.run([*command, f"{server.url}/api/remove?bgc=255,255,255,255", "-o", out], check=True)
    assert_same_image(out.read_bytes(), remove_background(CHELSEA.read_bytes(), bg_color=(255, 255, 255, 255)))


@pytest.mark.parametrize(
    ("form", "query", "options"),
    [
        ({"model": "u2netp", "om": "true"}, {}, {"mask_only": True}),
        ({"a": "true", "af": "230", "ab": "20", "ae": "5"}, {}, {
            "alpha_matting": True, "alpha_matting_foreground_threshold": 230,
            "alpha_matting_background_threshold": 20, "alpha_matting_erode_size": 5,
        }),
        ({"ppm": "1"}, {}, {"post_process_mask": True}),
        ({"model": "u2net-lite"}, {"extras": '{"threshold": 0.4}'}, {"threshold": 0.4}),
        ({"bgc": "0,0,255,128"}, {}, {"bg_color": (0, 0, 255, 128)}),
        ({}, {"format": "webp", "model": "u2netp"}, {"output_format": "webp"}),
    ],
    ids=["om", "alpha-matting", "ppm", "extras-threshold", "bgc-form", "webp"],
)  # fmt: skip
def test_parameters_give_what_remove_background_gives(server, form, query, options):
    data = PHOTOS["motorcycle.jpg"]
    answer = httpx.post(f"{server.url}/api/remove", files={"file": data}, data=form, params=query, timeout=120)
    assert answer.status_code == 200, answer.text
    expected = remove_background(data, **options)
    assert answer.headers["content-type"] == ("image/webp" if "output_format" in options else "image/png")
    if "output_format" in options:
        assert answer.content == expected
    else:
        assert_same_image(answer.content, expected)


def chunked_upload(url: str, size: int) -> int:
    """A multipart body sent in chunks, without a Content-Length: the limit must hold as the bytes arrive."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    head = b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n\r\n'
    chunks = (head if index == 0 else b"\0" * 65536 for index in range(size // 65536 + 1))
    try:
        connection.request(
            "POST", "/api/remove", body=chunks, headers={"Content-Type": "multipart/form-data; boundary=x"},
            encode_chunked=True,
        )  # fmt: skip
        return connection.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        return 413  # the server answered and closed while the client was still sending
    finally:
        connection.close()


def png_of_size(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    PIL.Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


JPEG = PHOTOS["chelsea.jpg"]
HOSTILE = {
    "undecodable": ("POST", {"files": {"file": ("notes.txt", b"hello, not an image")}}, 400, "notes.txt: not an image"),
    "truncated-jpeg": ("POST", {"files": {"file": ("cut.jpg", JPEG[: len(JPEG) // 3])}}, 400, "cut.jpg: truncated"),
    "empty-file": ("POST", {"files": {"file": ("empty.jpg", b"")}}, 400, "empty"),
    "no-file-field": ("POST", {"data": {"model": "u2netp"}}, 422, "multipart field 'file'"),
    "bad-bgc": ("POST", {"files": {"file": JPEG}, "params": {"bgc": "255,0"}}, 422, "bgc:"),
    "bgc-out-of-range": ("POST", {"files": {"file": JPEG}, "params": {"bgc": "300,0,0,255"}}, 422, "bgc:"),
    "malformed-extras": ("POST", {"files": {"file": JPEG}, "params": {"extras": "{oops"}}, 422, "not valid JSON"),
    "extras-names-a-file": (
        "POST", {"files": {"file": JPEG}, "params": {"extras": '{"model_path": "/etc/passwd"}'}}, 422, "model_path",
    ),
    "extras-not-an-object": ("POST", {"files": {"file": JPEG}, "params": {"extras": "[1, 2]"}}, 422, "JSON object"),
    "af-out-of-range": ("POST", {"files": {"file": JPEG}, "data": {"af": "300"}}, 422, "af:"),
    "a-not-a-bool": ("POST", {"files": {"file": JPEG}, "data": {"a": "maybe"}}, 422, "a:"),
    "vitmatte": ("POST", {"files": {"file": JPEG}, "data": {"vm": "true"}}, 422, "ViTMatte"),
    "unknown-format": ("POST", {"files": {"file": JPEG}, "params": {"format": "gif"}}, 422, "format:"),
    "mask-and-colour": ("POST", {"files": {"file": JPEG}, "data": {"om": "1", "bgc": "1,2,3"}}, 400, "mask_only"),
    "unknown-model": ("POST", {"files": {"file": JPEG}, "data": {"model": "../../etc"}}, 400, "unknown model"),
    "rembg-only-model": (
        "POST",
        {"files": {"file": JPEG}, "data": {"model": "u2net_human_seg"}},
        400,
        "rembg's own models",
    ),
    "upload-too-large": ("POST", {"files": {"file": b"\xff" * (MAX_UPLOAD + 10)}}, 413, "limit of 3,145,728 bytes"),
    "too-many-pixels": ("POST", {"files": {"file": png_of_size(2100, 2000)}}, 413, "over this server's limit"),
    "not-multipart": ("POST", {"content": b"raw bytes", "headers": {"content-type": "image/jpeg"}}, 415, "multipart/form-data"),
    "url-file-scheme": ("GET", {"params": {"url": "file:///etc/passwd"}}, 400, "only http and https"),
    "url-loopback": ("GET", {"params": {"url": "http://127.0.0.1:1/photo.jpg"}}, 400, "not a public address"),
    "url-localhost-name": ("GET", {"params": {"url": "http://localhost/photo.jpg"}}, 400, "not a public address"),
    "url-metadata-service": ("GET", {"params": {"url": "http://169.254.169.254/latest"}}, 400, "not a public"),
    "url-mapped-ipv6": ("GET", {"params": {"url": "http://[::ffff:10.0.0.1]/a.jpg"}}, 400, "not a public address"),
    "url-missing": ("GET", {"params": {"model": "u2netp"}}, 422, "url: Field required"),
    "url-bad-model-first": ("GET", {"params": {"url": "http://127.0.0.1/", "model": "sam"}}, 400, "rembg's own"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_requests_get_a_4xx_and_the_next_request_succeeds(server, tiny_folder, case):
    method, request, status, detail = HOSTILE[case]
    answer = httpx.request(method, f"{server.url}/api/remove", timeout=60, **request)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    message = answer.json()["detail"]
    assert detail in message and "\n" not in message and "Traceback" not in message
    following = httpx.post(
        f"{server.url}/api/remove", files={"file": JPEG}, data={"model": str(tiny_folder)}, timeout=60
    )
    assert following.status_code == 200 and decoded(following.content).mode == "RGBA"


def test_chunked_upload_over_the_limit_is_refused_as_it_arrives(server, tiny_folder):
    assert chunked_upload(server.url, MAX_UPLOAD + 2 * 65536) == 413
    following = httpx.post(f"{server.url}/api/remove", files={"file": JPEG}, data={"model": str(tiny_folder)})
    assert following.status_code == 200


def test_other_paths_and_methods_answer_json_4xx(server):
    for method, path, status in [("GET", "/nothing", 404), ("PUT", "/api/remove", 405), ("POST", "/healthz", 405)]:
        answer = httpx.request(method, server.url + path)
        assert (answer.status_code, answer.headers["content-type"]) == (status, "application/json")
        assert "\n" not in answer.json()["detail"]


def test_batch_answers_a_zip_of_results_and_names_the_failures(server):
    files = [
        ("files", ("cat.jpg", PHOTOS["chelsea.jpg"])),
        ("files", ("../../etc/passwd", b"not an image")),
        ("files", ("rocket.jpg", PHOTOS["rocket.jpg"])),
    ]
    answer = httpx.post(f"{server.url}/api/remove/batch", files=files, data={"model": "u2netp"}, timeout=120)
    assert answer.status_code == 200, answer.text
    assert (answer.headers["x-images-done"], answer.headers["x-images-failed"]) == ("2", "1")
    bundle = zipfile.ZipFile(io.BytesIO(answer.content))
    assert bundle.namelist() == ["000-cat.png", "002-rocket.png", "errors.json"]
    assert_same_image(bundle.read("000-cat.png"), remove_background(PHOTOS["chelsea.jpg"]))
    assert_same_image(bundle.read("002-rocket.png"), remove_background(PHOTOS["rocket.jpg"]))
    assert "not an image" in json.loads(bundle.read("errors.json"))["001-passwd.png"]

    too_many = [("files", (f"{index}.jpg", PHOTOS["rocket.jpg"])) for index in range(5)]
    assert httpx.post(f"{server.url}/api/remove/batch", files=too_many).status_code == 400
    all_bad = [("files", ("a.jpg", b"x")), ("files", ("b.jpg", b"y"))]
    assert httpx.post(f"{server.url}/api/remove/batch", files=all_bad).status_code == 400
    raw = httpx.post(f"{server.url}/api/remove/batch", content=b"{}", headers={"content-type": "application/json"})
    assert raw.status_code == 415
    no_files = httpx.post(f"{server.url}/api/remove/batch", files={"other": b"x"}, data={"model": "u2netp"})
    assert no_files.status_code == 422


def test_health_openapi_and_cors(server, tiny_folder):
    health = httpx.get(f"{server.url}/healthz").json()
    assert health["status"] == "ok" and health["models"] == ["u2net-lite", str(tiny_folder)]
    assert "Swagger" in httpx.get(f"{server.url}/api").text
    spec = httpx.get(f"{server.url}/openapi.json").json()
    form = spec["paths"]["/api/remove"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "model", "a", "af", "ab", "ae", "om", "ppm", "bgc", "extras", "format"} <= set(form["properties"])
    assert {"url", "bgc", "extras"} <= {p["name"] for p in spec["paths"]["/api/remove"]["get"]["parameters"]}
    # Any origin may call the API, never with credentials.
    origin = {"Origin": "https://app.example"}
    preflight = httpx.options(f"{server.url}/api/remove", headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in preflight.headers
    answer = httpx.post(
        f"{server.url}/api/remove", files={"file": JPEG}, data={"model": str(tiny_folder)}, headers=origin
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers


def test_load_of_real_photos_from_8_clients(server, tiny_folder):
    """8 clients x 25 requests: no errors, every answer the right cut-out, memory flat after warm-up, and
    /healthz answering all along."""
    model = str(tiny_folder)
    expected = {name: np.asarray(decoded(remove_background(data, model=model))) for name, data in PHOTOS.items()}
    names = list(PHOTOS)
    failures, done = [], []

    def client(index: int, count: int):
        with httpx.Client(base_url=server.url, timeout=120) as session:
            for step in range(count):
                name = names[(index + step) % len(names)]
                answer = session.post("/api/remove", files={"file": (name, PHOTOS[name])}, data={"model": model})
                if answer.status_code != 200:
                    failures.append(f"{name}: {answer.status_code} {answer.text[:200]}")
                elif not np.array_equal(np.asarray(decoded(answer.content)), expected[name]):
                    failures.append(f"{name}: a different cut-out")
                done.append(name)

    def run_clients(clients: int, count: int):
        threads = [threading.Thread(target=client, args=(index, count)) for index in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    health_answers, stop = [], threading.Event()

    def watch_health():
        with httpx.Client(base_url=server.url, timeout=5) as session:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    status = session.get("/healthz").status_code
                except httpx.HTTPError as error:
                    status = repr(error)
                health_answers.append((status, time.perf_counter() - started))
                stop.wait(0.2)

    run_clients(4, 5)  # warm-up: the first 20 requests
    process = psutil.Process(server.pid)
    warm_rss = process.memory_info().rss
    watcher = threading.Thread(target=watch_health)
    watcher.start()
    try:
        run_clients(8, 25)
    finally:
        stop.set()
        watcher.join()
    final_rss = process.memory_info().rss
    assert not failures, failures[:5]
    assert len(done) == 20 + 200
    assert final_rss <= 1.10 * warm_rss, f"RSS grew from {warm_rss / 2**20:.0f} MiB to {final_rss / 2**20:.0f} MiB"
    assert len(health_answers) >= 5
    assert all(status == 200 for status, _ in health_answers), health_answers
    assert max(seconds for _, seconds in health_answers) < 3, health_answers


def test_registry_makes_one_session_per_model_under_concurrency():
    registry = SessionRegistry(["u2net-lite"])
    sessions, barrier = [], threading.Barrier(8)

    def get(name):
        barrier.wait()
        sessions.append(registry.get(name))

    threads = [threading.Thread(target=get, args=(name,)) for name in ["u2netp", "u2net-lite", None, ""] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sessions) == 8 and all(session is sessions[0] for session in sessions)
    assert registry.loaded == ["u2net-lite"]
    with pytest.raises(ModelNotServed, match="rembg's own models"):
        registry.resolve("isnet-general-use")
    with pytest.raises(ModelNotServed, match="unknown model '/etc/passwd'"):
        registry.resolve("/etc/passwd")


def test_serve_refuses_a_model_it_cannot_load_in_one_line(tmp_path):
    command = [sys.executable, "-m", "u2net_hf", "serve", "--no-ui", "--model", str(tmp_path / "missing")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("u2net-hf serve: error: ") and result.stderr.count("\n") == 1, result.stderr


def test_int8_serves_the_int8_models():
    with ServerProcess("--no-ui", "--int8", "--model", "u2net-lite") as running:
        answer = httpx.post(f"{running.url}/api/remove", files={"file": JPEG}, data={"model": "u2netp"}, timeout=120)
    assert answer.status_code == 200, answer.text

    def alpha(data: bytes) -> np.ndarray:
        return np.asarray(decoded(data))[..., 3].astype(int)

    served, int8 = alpha(answer.content), alpha(remove_background(JPEG, model="u2net-lite", int8=True))
    assert np.abs(served - int8).max() <= 1
    assert np.abs(served - alpha(remove_background(JPEG, model="u2net-lite"))).max() > 1  # not the float32 model


def test_workers_are_separate_processes_each_answering(tiny_folder):
    with ServerProcess("--no-ui", "--workers", "2", "--model", str(tiny_folder)) as running:
        pids = set()
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=running.url) as session:  # a new connection each time
                pids.add(session.get("/healthz").json()["pid"])
        assert len(pids) == 2
        answer = httpx.post(f"{running.url}/api/remove", files={"file": JPEG}, timeout=120)
        assert_same_image(answer.content, remove_background(JPEG, model=str(tiny_folder)))


# url_fetch: the checks of `GET /api/remove?url=`, against real HTTP servers on 127.0.0.1, with a policy that lets
# 127.0.0.1 pass (the default refuses it, as the hostile cases above show).


class _Photos(http.server.BaseHTTPRequestHandler):
    hosts: list[str] = []

    def do_GET(self):
        self.hosts.append(self.headers["Host"])
        routes = {
            "/photo.jpg": (200, {"Content-Type": "image/jpeg"}, JPEG),
            "/hop": (302, {"Location": "/photo.jpg"}, b""),
            "/elsewhere": (302, {"Location": f"http://127.0.0.2:{self.server.server_port}/photo.jpg"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
            "/missing": (404, {}, b"no"),
        }
        if self.path == "/unsized":  # no Content-Length: the limit holds while reading
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"\0" * 5000)
            self.close_connection = True
            return
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def photo_site():
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Photos)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_port}"
    site.shutdown()
    site.server_close()


def only_127_0_0_1(address) -> bool:
    return str(address) == "127.0.0.1"


def test_fetch_follows_redirects_and_checks_every_hop(photo_site):
    assert fetch_url(f"{photo_site}/hop", max_bytes=10**6, allow_address=only_127_0_0_1) == JPEG
    with pytest.raises(FetchError, match=r"127\.0\.0\.2 is not a public address"):
        fetch_url(f"{photo_site}/elsewhere", max_bytes=10**6, allow_address=only_127_0_0_1)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch_url(f"{photo_site}/loop", max_bytes=10**6, allow_address=only_127_0_0_1)
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_url(f"{photo_site}/missing", max_bytes=10**6, allow_address=only_127_0_0_1)


def test_fetch_stops_at_the_byte_limit(photo_site):
    with pytest.raises(FetchError, match="over the limit") as sized:
        fetch_url(f"{photo_site}/photo.jpg", max_bytes=1000, allow_address=only_127_0_0_1)
    with pytest.raises(FetchError, match="over the limit") as unsized:
        fetch_url(f"{photo_site}/unsized", max_bytes=1000, allow_address=only_127_0_0_1)
    assert sized.value.too_large and unsized.value.too_large


def test_fetch_connects_to_the_address_it_checked(photo_site):
    """The name is resolved once; the connection goes to that address and speaks the name (no second lookup
    that a rebinding DNS could answer differently)."""
    port = photo_site.rsplit(":", 1)[1]
    lookups = []

    def resolver(host, port):
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    url = f"http://photos.invalid:{port}/photo.jpg"
    assert fetch_url(url, max_bytes=10**6, allow_address=only_127_0_0_1, resolver=resolver) == JPEG
    assert lookups == ["photos.invalid"] and _Photos.hosts[-1] == f"photos.invalid:{port}"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("10.0.0.1", False), ("172.16.5.4", False),
        ("192.168.1.1", False), ("127.0.0.1", False), ("169.254.169.254", False), ("0.0.0.0", False),
        ("100.64.0.1", False), ("224.0.0.1", False), ("255.255.255.255", False), ("::1", False), ("fe80::1", False),
        ("fc00::1", False), ("::ffff:10.0.0.1", False), ("::ffff:8.8.8.8", False), ("2002:c0a8:0101::", False),
        ("64:ff9b::a00:1", False),
    ],
)  # fmt: skip
def test_only_public_addresses_pass(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public
