# Ouroboros container image: the proxy alone, meant to run as a sidecar next to an application.
#
#   make image        (deploy/docker/image.sh: no registry needed; docker build --network host)
#   docker build -t ouroboros:0.1.0 .      (where debian:bookworm(-slim) and a network exist)
#   docker run --rm -p 127.0.0.1:6432:6432 -p 127.0.0.1:9930:9930 \
#     -e OUROBOROS_PG_HOST=db.example.internal -e APP_PASSWORD=... -e DB_PASSWORD=... ouroboros:0.1.0
#
# Guide: docs/deployment.md. Every file this Dockerfile uses is checked to exist by the
# packaging tests (tests/packaging/check_dockerfile.py).

# ---- build: the same script CI runs outside Docker ------------------------------------------
FROM debian:bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: source changes do not reinstall them.
COPY deploy/install-deps.sh deploy/install-deps.sh
RUN deploy/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN deploy/docker/build.sh /src/build-release

# ---- runtime: shared libraries, the binary, a default configuration -------------------------
FROM debian:bookworm-slim AS runtime
COPY deploy/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify the user without a name lookup.
RUN groupadd --system --gid 10001 ouroboros \
 && useradd --system --uid 10001 --gid ouroboros --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin ouroboros
COPY --from=build /src/build-release/src/app/ouroboros /usr/local/bin/ouroboros
COPY deploy/docker/healthcheck.sh /usr/local/bin/ouroboros-healthcheck
# Container defaults: listens on 0.0.0.0, everything site-specific from ${ENV} (see the file).
COPY deploy/docker/ouroboros.yaml /etc/ouroboros/ouroboros.yaml
USER 10001:10001
# 6432: PostgreSQL clients. 9930: /metrics, /healthz, /readyz.
EXPOSE 6432 9930
# SIGTERM drains: no new clients, running transactions get timeouts.shutdown_timeout (30s by
# default), so give `docker stop` more than that: docker stop -t 40 (compose: stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/ouroboros-healthcheck"]
ENTRYPOINT ["ouroboros", "--config", "/etc/ouroboros/ouroboros.yaml"]
