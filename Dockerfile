# One image with every kubetopo binary; the chart picks one per container with `command`.
#   docker build -t ghcr.io/kubetopo/kubetopo:$(git describe --tags --always) .
# Static binaries (CGO off) on distroless/static, running as its nonroot user (65532).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath -o /out/ \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      ./cmd/...

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /bin/
USER 65532:65532
EXPOSE 9847
ENTRYPOINT ["/bin/kubetopo-cluster-agent"]
