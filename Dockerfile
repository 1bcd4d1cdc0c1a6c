# conlab in two stages: built from Debian 12's packages, then run from a runtime image that
# holds only the binary, the page's files and the shared libraries they need, as a non-root
# user. Build and run with docker-compose.yml (it refuses to start without CONLAB_TOKEN).

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends build-essential cmake pkg-config \
      libcivetweb-dev libcjson-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev libssl-dev \
      libnghttp2-dev ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rm -rf build build-* web/node_modules \
 && cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONLAB_BROWSER_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target conlab web_assets \
 && strip /build/conlab

FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
# The runtime libraries of build/conlab (ldd): civetweb, cJSON, libcurl (and its TLS stack),
# SQLite, zlib, OpenSSL and nghttp2 (the demo target's TLS and HTTP/2); CA certificates for
# https targets. No compiler, no npm, no sources.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libcivetweb1 libcjson1 libcurl4 \
      libsqlite3-0 zlib1g libssl3 libnghttp2-14 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin conlab \
 && mkdir -p /data && chown conlab:conlab /data
COPY --from=build /build/conlab /opt/conlab/conlab
COPY --from=build /build/web /opt/conlab/web
USER conlab
WORKDIR /data
VOLUME /data
EXPOSE 8080 8000
# The health check is conlab itself: one GET of /api/health that must succeed (exit 3 when it
# fails: the error-rate threshold of 0 is crossed).
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/opt/conlab/conlab", "run", "--url", "http://127.0.0.1:8080/api/health", "--requests", "1", \
       "--modes", "sync", "--timeout-ms", "2000", "--threshold", "error_rate=0", "--no-progress"]
# Listening beyond loopback needs a token: conlab serve reads it from CONLAB_TOKEN and refuses
# to start without one.
CMD ["/opt/conlab/conlab", "serve", "--listen", "0.0.0.0:8080", "--db", "/data/conlab.db", \
     "--demo-target", "127.0.0.1:8000"]
