# Builds expiry-sync's binaries (worker, starter, codec-server, hwsim) into
# one small image; docker-compose.yml picks the command per service.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t expiry-sync .
FROM golang:1.27.3 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags="-s -w -X expiry-sync/internal/version.Version=${VERSION}" \
      -o /out/ ./worker ./starter ./cmd/codec-server ./cmd/hwsim

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/ /usr/local/bin/
USER nonroot
ENTRYPOINT []
CMD ["worker"]
