# conlab on Debian 12, built from Debian's packages like on a developer's machine.
FROM debian:12
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends build-essential cmake pkg-config \
      libcivetweb-dev libcjson-dev libcurl4-openssl-dev libsqlite3-dev zlib1g-dev ca-certificates \
      python3 nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/conlab
COPY . .
RUN rm -rf build web/node_modules \
 && cmake -S . -B build -DCONLAB_BROWSER_TESTS=OFF \
 && cmake --build build -j"$(nproc)"
EXPOSE 8080 8000
# Listening beyond loopback needs a token: set CONLAB_TOKEN (see docker-compose.yml).
CMD ["sh", "-c", "exec build/conlab serve --listen 0.0.0.0:8080 --db /data/conlab.db --token \"${CONLAB_TOKEN:?set CONLAB_TOKEN}\""]
