# syntax=docker/dockerfile:1
#
# imgproxy_py production image.
#
#   docker build -t imgproxy-py .
#   docker build -t imgproxy-py:gpu --build-arg EXTRAS=gpu,raw .
#   docker run --rm -p 8080:8080 -e IMGPROXY_KEY=... -e IMGPROXY_SALT=... imgproxy-py
#
# EXTRAS picks the optional dependency groups of pyproject.toml: "cpu" (onnxruntime) or "gpu"
# (onnxruntime-gpu with CUDA and cuDNN as pip packages: run with `--gpus all` on a host with the
# NVIDIA container toolkit, which provides the driver), plus "raw" (camera RAW through Wand/ImageMagick).
# libvips comes with the pyvips[binary] wheel; Debian bookworm is pinned because the raw
# extra needs ImageMagick 6's libmagickwand-6.q16-6.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# --- build: a virtualenv with the project and its extras ------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=cpu,raw,formats
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY imgproxy_py ./imgproxy_py
COPY models ./models
COPY presets ./presets
RUN pip install --upgrade pip \
 && pip install ".[${EXTRAS}]" \
 && python -c "import imgproxy_py, pyvips; print('libvips', pyvips.version(0), pyvips.version(1), pyvips.version(2))"

# --- runtime --------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ARG EXTRAS=cpu,raw,formats
LABEL org.opencontainers.image.title="imgproxy_py" \
      org.opencontainers.image.description="imgproxy-compatible image server on libvips" \
      org.opencontainers.image.licenses="MIT"

# ImageMagick's MagickWand and dcraw (its DNG/RAW converter) only when the raw extra is in;
# no compilers, no caches left behind.
RUN set -eux; \
    case ",${EXTRAS}," in \
      *,raw,*) apt-get update; \
               apt-get install -y --no-install-recommends libmagickwand-6.q16-6 dcraw; \
               rm -rf /var/lib/apt/lists/* ;; \
    esac; \
    groupadd --system --gid 10001 imgproxy; \
    useradd --system --uid 10001 --gid imgproxy --home-dir /opt/imgproxy_py --no-create-home \
            --shell /usr/sbin/nologin imgproxy

# The wheel carries the models, presets, media routes and demo images.
COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    IMGPROXY_BIND=":8080" \
    IMGPROXY_LOG_FORMAT=json

WORKDIR /opt/imgproxy_py
USER imgproxy:imgproxy
EXPOSE 8080

# imgproxy's `health` command: reads IMGPROXY_NETWORK and IMGPROXY_BIND as the server does (a
# wildcard address is checked on loopback) and asks /health.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["imgproxy-py", "health", "--timeout", "4"]

STOPSIGNAL SIGTERM
CMD ["imgproxy-py", "serve"]
