# Legate's container image: the `legate` proxy and `legate-control-plane`, on an image built
# from scratch that holds the two binaries, the C libraries they link, the users and the
# trusted roots, and nothing else (no shell, no package manager). charts/image/README.md says
# how to build and run it.
#
# The `build` stage compiles from source. To pack binaries built elsewhere, replace that stage
# with a folder whose rootfs/ was laid out by charts/image/rootfs.sh:
#   podman build --build-context build=FOLDER .     (charts/image/build.sh does this)

ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# The caches keep downloaded crates and compiled dependencies between builds; rootfs.sh runs
# in the same step because the binaries live in the cached target folder, not in the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    bash tests/prereqs.sh build \
    && cargo build --release --locked -p legate -p legate-control-plane \
    && bash charts/image/rootfs.sh target/release/legate target/release/legate-control-plane /rootfs

FROM scratch

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="legate" \
      org.opencontainers.image.description="Legate: a federation gateway for instant messaging and presence (the legate proxy and legate-control-plane)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"

COPY --from=build /rootfs/ /
# The state folder belongs to Legate's user whoever laid out the files. var/lib's entries are
# copied, not the folder's contents: --chown sets the owner of what is copied, and only then is
# the folder itself among it.
COPY --from=build --chown=65532:65532 /rootfs/var/lib/ /var/lib/

USER 65532:65532
WORKDIR /var/lib/legate
# The last good snapshot, the audit spool and an SQLite audit file: the one place Legate
# writes, so the root filesystem can be mounted read-only.
VOLUME ["/var/lib/legate"]

# SIP over UDP and TCP, SIP over TLS, the admin API (/healthz, /readyz, /metrics), and the
# control plane's API when the image runs legate-control-plane.
EXPOSE 5060/udp 5060/tcp 5061/tcp 9901/tcp 9902/tcp

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/legate"]
CMD ["run", "--config", "/etc/legate/legate.yaml", "--state-dir", "/var/lib/legate"]
