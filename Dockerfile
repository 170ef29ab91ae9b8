# syntax=docker/dockerfile:1
#
# kartustok_exporter container image.
#
#   docker build -t kartustok_exporter \
#     --build-arg VERSION=$(cat VERSION) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg BRANCH=$(git rev-parse --abbrev-ref HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y%m%d-%H:%M:%S) .
#
#   docker run -d -p 9472:9472 \
#     -v /etc/kartustok_exporter:/etc/kartustok_exporter:ro \
#     -v kartustok_exporter_state:/var/lib/kartustok_exporter \
#     kartustok_exporter \
#     --kartustok.url=https://example.kartustok.com/public/v1 \
#     --kartustok.token-file=/etc/kartustok_exporter/token \
#     --storage.path=/var/lib/kartustok_exporter
#
# The token is a mounted file (a Docker or Kubernetes secret), never an
# argument or an environment variable, so it shows in no `ps`, `docker
# inspect` or process listing. The mounted file must be readable by uid
# 65532. The exporter re-reads it when it changes, but a single-file bind
# mount keeps showing the old file once the host replaces it: to rotate
# without a restart, mount the directory (or a Kubernetes Secret volume
# without subPath).
#
# /var/lib/kartustok_exporter is an empty directory owned by 65532, for
# --storage.path: a named volume mounted there starts with that owner, so
# the exporter can keep its state in it across container restarts and
# upgrades.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS builder
WORKDIR /src

# Dependencies first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .

ARG TARGETOS
ARG TARGETARCH
# Empty VERSION: the binary reports the release in the VERSION file.
ARG VERSION=
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_USER=docker
ARG BUILD_DATE=unknown

# A static binary (no cgo) so it runs on distroless/static; -trimpath keeps
# build paths out of it. The version package feeds --version and
# kartustok_exporter_build_info.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false \
      -ldflags "-s -w \
        -X github.com/prometheus/common/version.Version=${VERSION} \
        -X github.com/prometheus/common/version.Revision=${REVISION} \
        -X github.com/prometheus/common/version.Branch=${BRANCH} \
        -X github.com/prometheus/common/version.BuildUser=${BUILD_USER} \
        -X github.com/prometheus/common/version.BuildDate=${BUILD_DATE}" \
      -o /out/kartustok_exporter .

# Smoke test when the binary can run here (not when cross-compiling).
RUN if [ "${TARGETOS}/${TARGETARCH}" = "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" ]; then \
      /out/kartustok_exporter --version; \
    fi

# The empty state directory the runtime stage copies.
RUN mkdir /out/state

# distroless/static carries CA certificates (the API is HTTPS) and tzdata
# (the company's time zone decides the stock date), and runs as nonroot.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=unknown
ARG REVISION=unknown
LABEL org.opencontainers.image.title="kartustok_exporter" \
      org.opencontainers.image.description="Prometheus exporter for KartuStok inventory" \
      org.opencontainers.image.source="https://github.com/kartustok/kartustok_exporter" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=builder /out/kartustok_exporter /bin/kartustok_exporter
# The directory for --storage.path, created by the copy with the owner
# given: the image has no shell to make it.
COPY --from=builder --chown=65532:65532 /out/state/ /var/lib/kartustok_exporter/

# No HEALTHCHECK: it would run a command inside the container, and this
# image has no shell and no HTTP client. Probe over HTTP from outside
# instead: GET /-/healthy for liveness, GET /-/ready for readiness (200 once
# the first complete stock refresh is done); docs/installation.md, "Probes",
# has a Kubernetes example.
EXPOSE 9472
USER 65532:65532
ENTRYPOINT ["/bin/kartustok_exporter"]
