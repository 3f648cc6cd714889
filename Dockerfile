# syntax=docker/dockerfile:1
# Build a static binary (pure Go: the SQLite driver needs no cgo), then ship it alone.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/haven ./cmd/haven && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/haven /haven
# The embedded store lives here; owned by the unprivileged user the image runs as.
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV HAVEN_ADDR=:8080 HAVEN_DATA_DIR=/data HAVEN_LOG_FORMAT=json
VOLUME /data
EXPOSE 8080
USER nonroot
ENTRYPOINT ["/haven"]
