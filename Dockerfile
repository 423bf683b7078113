# avesd and avesctl on Debian bookworm, built from the same Debian packages as
# scripts/run uses. Build stage compiles; the runtime stage carries only the
# shared libraries.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ccache \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libpqxx-dev libpq-dev libabsl-dev libspdlog-dev libfmt-dev libssl-dev \
      libgtest-dev libgmock-dev libbenchmark-dev libjwt-dev libjansson-dev \
      libcpp-httplib-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
    && cmake --build build -j "$(nproc)" --target avesd avesctl

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libgrpc++1.51 libprotobuf32 libpqxx-6.4 libpq5 libspdlog1.10 libfmt9 \
      libabsl20220623 libssl3 libjwt0 libjansson4 libcpp-httplib0.11 \
      ca-certificates openssl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home avesd
COPY --from=build /src/build/avesd /src/build/avesctl /usr/local/bin/
USER avesd
# Reachable from outside the container: avesd then needs TLS or
# authentication configured (docker-compose.yml shows both), or
# AVES_INSECURE=1.
ENV AVES_LISTEN=0.0.0.0:50051
EXPOSE 50051
ENTRYPOINT ["avesd"]
CMD ["serve"]
