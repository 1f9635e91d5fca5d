# u2net-hf serve on CPU: rembg's HTTP API (POST /api/remove) and the web page, on port 7000.
#   docker build -t u2net-hf . && docker run --rm -p 7000:7000 u2net-hf
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HOME=/home/app/.cache/huggingface

RUN useradd --create-home --uid 1000 app
WORKDIR /app

# CPU wheels of torch only (no CUDA libraries in the image).
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md LICENSE ./
COPY u2net_hf ./u2net_hf
# The package itself, from this folder (its dependencies are pinned by pyproject.toml's ranges).
# hadolint ignore=DL3013
RUN pip install ".[serve,onnx]"

USER 1000
EXPOSE 7000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7000/healthz', timeout=4)"]
CMD ["u2net-hf", "serve", "--host", "0.0.0.0", "--port", "7000"]
