# syntax=docker/dockerfile:1
# Apiary's server image: `docker build -f deploy/docker/apiary.Dockerfile -t apiary .` from the
# repository root. It also runs the steps Apiary puts in Kubernetes pods (the training job's
# `apiary k8s-stage …` and an endpoint's model fetch), so keep `node` and `tar` in it.

# ---- build: compile TypeScript and the console ---------------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /src
# Native modules (better-sqlite3, sharp, onnxruntime-node) build or fetch their binaries here.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# onnxruntime-node's postinstall would download its CUDA 12 libraries on linux/x64 (hundreds of MB
# the server never loads: it runs on the CPU binaries in the package). The checkout's .npmrc says
# the same, but it is not copied here, and npm stops reading unknown .npmrc keys in its next major.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build

# ---- deps: production dependencies only ------------------------------------------------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------------
FROM node:24-bookworm-slim
LABEL org.opencontainers.image.title="apiary" \
      org.opencontainers.image.description="Self-hosted ML platform that speaks Amazon SageMaker's API"
WORKDIR /app
ENV NODE_ENV=production \
    APIARY_HOST=0.0.0.0 \
    APIARY_PORT=8800 \
    APIARY_DATA_DIR=/var/lib/apiary
# glibc malloc as bin/apiary sets it for `apiary serve` (the image runs node directly): two arenas
# and 128 KiB trim/mmap thresholds keep serving workers' RSS down (bench/serving/memory.ts)
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    MALLOC_MMAP_THRESHOLD_=131072
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/web/dist ./web/dist
COPY package.json ./
COPY bin ./bin
COPY vendor ./vendor
COPY algorithms ./algorithms
# The PyTorch inference contract's server is read from the source tree's path at run time.
COPY src/hosting/runtime/pytorch_serve.py ./src/hosting/runtime/pytorch_serve.py
# The image's `node` user (uid 1000, numeric so Kubernetes' runAsNonRoot can check it) owns only the data dir.
RUN mkdir -p /var/lib/apiary && chown 1000:1000 /var/lib/apiary
USER 1000:1000
VOLUME ["/var/lib/apiary"]
EXPOSE 8800
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8800/_apiary/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/apiary"]
CMD ["serve"]
